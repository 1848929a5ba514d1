// POST /webhooks/livekit: LiveKit's webhook deliveries. Public (LiveKit has no user session) and
// trusted only once the SDK's WebhookReceiver has checked the JWT in the Authorization header
// (signed with LIVEKIT_API_SECRET, unexpired, carrying the sha256 of the body) against the body
// exactly as received: this plugin keeps the body as raw text for that, so it is never re-encoded
// before the check. Answers 200 for every verified delivery, applied or not (LiveKit retries
// anything else), 401 for the rest.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { assertPlainBody, refused } from '../http/request-body.ts';
import { responses } from '../http/schemas.ts';
import type { LiveKit } from './livekit.service.ts';

/** LiveKit sends application/webhook+json; a proxy replaying it may say application/json. */
const WEBHOOK_TYPES = ['application/webhook+json', 'application/json'];

export const livekitWebhookRoutes: FastifyPluginAsyncTypebox<{ livekit: LiveKit }> = async (
  app,
  { livekit },
) => {
  // Encapsulated: only this plugin's route reads JSON bodies as text.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    WEBHOOK_TYPES,
    { parseAs: 'string' },
    (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => {
      try {
        // Read as sent, like every body (a compressed one is a 415, not a signature mismatch).
        assertPlainBody(request);
        done(null, body);
      } catch (err) {
        done(refused(request, err));
      }
    },
  );

  app.post(
    '/webhooks/livekit',
    {
      schema: {
        operationId: 'receiveLivekitWebhook',
        tags: ['livekit'],
        security: [],
        summary: 'LiveKit webhook (participant joined / left, room finished)',
        description:
          'Called by LiveKit. Verified with the SDK’s WebhookReceiver (Authorization: the JWT LiveKit signs with the API secret, holding the sha256 of the body); forged, expired or body-changed → 401 and nothing stored. Each event id is applied once; events for rooms of no organization are acknowledged and ignored.',
        consumes: WEBHOOK_TYPES,
        response: responses(
          {
            200: Type.Object({
              result: Type.Enum(['applied', 'duplicate', 'ignored'], {
                description:
                  '`duplicate`: this event id was applied before (a retry); `ignored`: nothing to record',
              }),
            }),
          },
          [401, 413, 415],
        ),
      },
    },
    async (request) => {
      const body = typeof request.body === 'string' ? request.body : '';
      const header = request.headers.authorization;
      return { result: await livekit.receiveWebhook(body, header) };
    },
  );
};
