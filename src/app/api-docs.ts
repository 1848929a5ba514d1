// The API's own description: the OpenAPI document generated from the routes' schemas
// (/openapi.json), its browsable UI (/docs) and the meaning of every problem `code`
// (/problems/:code). Registered before the routes: @fastify/swagger collects them as they are added.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { apiKeyRefusedOn } from '../api-keys/authenticate-api-key.ts';
import { ERRORS, type ErrorCode } from '../http/errors.ts';
import { sendProblem } from '../http/problem.ts';
import { allowWhileMfaPending, MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { declareProblemsOfKind, OPTIONAL_BODY } from '../http/schemas.ts';

/**
 * Every tag an operation may carry, with what it groups, in the order the docs UI lists them. A
 * route's `tags` must name one of these (src/app/api-docs.test.ts checks every route).
 */
// biome-ignore format: the tags read as a table, one tag a line
export const API_TAGS = [
  { name: 'auth', description: 'Sign-up, login, tokens and cookies, sessions, the JWKS, your account' },
  { name: 'mfa', description: 'Two-factor authentication: TOTP setup, the login challenge, backup codes' },
  { name: 'orgs', description: 'Organizations, switching between them, members and their roles' },
  { name: 'invitations', description: 'Inviting people into an organization and accepting invitations' },
  { name: 'api-keys', description: 'Long-lived, scoped keys for servers (`Authorization: Bearer sb_…`)' },
  { name: 'audit', description: "The organization's append-only audit trail" },
  { name: 'prompts', description: 'Reusable prompts for agents' },
  { name: 'phones', description: "The organization's phone numbers and proof that it owns them" },
  { name: 'agents', description: 'Voice agents: who answers or places calls on a number, and how' },
  { name: 'message-agents', description: 'Messaging agents: who answers text messages on a number' },
  { name: 'scheduled-calls', description: 'Outgoing calls placed at a set time' },
  {
    name: 'calling-rules',
    description: 'When outgoing calls may be placed (calling window) and numbers never called',
  },
  { name: 'calls', description: 'The call log (read-only)' },
  { name: 'messages', description: 'The message log and conversations (read-only)' },
  { name: 'conversations', description: 'Recorded device conversations: their metadata and audio (WAV, Ogg Opus)' },
  { name: 'realtime', description: 'Device audio: single-use tickets for the /ws and /ws_pcm sockets, and the devices that stream' },
  { name: 'analytics', description: 'Call volume by date and hour, and per-agent summaries' },
  { name: 'twilio', description: "The organization's Twilio account and media-stream tokens" },
  { name: 'livekit', description: 'LiveKit rooms: join tokens for users and agent workers, voice sessions, its webhook' },
  { name: 'agent', description: "For agent workers' API keys: a participant's context and the preferences they asked to keep" },
  { name: 'webhooks', description: 'What Twilio calls (signed requests; not for API clients)' },
  { name: 'admin', description: 'The platform superuser: every org and user, signing keys, numbers' },
  { name: 'health', description: 'Liveness and readiness probes for load balancers and orchestrators' },
  { name: 'meta', description: 'The API describing itself: what each problem `code` means' },
] as const;

/**
 * The document's `servers`: PUBLIC_URL, where clients reach this instance. A loopback PUBLIC_URL
 * (development) would only work on the machine that serves it, so it becomes the relative URL
 * of its path: clients resolve it against wherever they fetched the document from.
 */
export function serverUrl(publicUrl: string): string {
  const url = new URL(publicUrl);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return loopback ? url.pathname.replace(/(.)\/+$/, '$1') : publicUrl;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Content = Record<string, { schema?: { $ref?: string; [OPTIONAL_BODY]?: boolean } }>;
type Operations = Record<
  string,
  {
    requestBody?: { required?: boolean; content?: Content };
    responses?: Record<string, { content?: Content }>;
  }
>;

/**
 * A body marked optionalBody() is documented as optional (@fastify/swagger says required for
 * every body schema), and the mark leaves the document. Changes the document in place.
 */
export function optionalBodies<D extends { paths?: unknown }>(doc: D): D {
  const paths = (doc.paths ?? {}) as Record<string, Operations>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      const body = op?.requestBody;
      let optional = false;
      for (const media of Object.values(body?.content ?? {})) {
        if (media.schema?.[OPTIONAL_BODY]) {
          optional = true;
          delete media.schema[OPTIONAL_BODY];
        }
      }
      if (body && optional) body.required = false;
    }
  }
  return doc;
}

/**
 * Problem answers under the media type they are sent with. @fastify/swagger writes every response
 * schema under application/json, but the one error handler answers application/problem+json (RFC
 * 9457): a client or contract test that picks its parser (or checks the answer) by the documented
 * media type found none for any error. Changes the document in place.
 */
export function problemsAsProblemJson<D extends { paths?: unknown }>(doc: D): D {
  const paths = (doc.paths ?? {}) as Record<string, Operations>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      for (const [status, response] of Object.entries(op?.responses ?? {})) {
        const json = response.content?.['application/json'];
        if (Number(status) >= 400 && json?.schema?.$ref === '#/components/schemas/Problem') {
          response.content = { 'application/problem+json': json };
        }
      }
    }
  }
  return doc;
}

/**
 * The Retry-After a client should honour, on every 429 and 503 the document lists: the limiters
 * (rate_limited), the concurrency quota (quota_exceeded) and a database that is down or busy send
 * it, and a client written from the document alone would otherwise retry at once (or never).
 * Documented once under components.headers. Changes the document in place.
 */
export function retryAfterHeaders<D extends { paths?: unknown; components?: unknown }>(doc: D): D {
  const paths = (doc.paths ?? {}) as Record<string, Operations>;
  let used = false;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      for (const [status, response] of Object.entries(op?.responses ?? {})) {
        if (status !== '429' && status !== '503') continue;
        const r = response as { headers?: Record<string, unknown> };
        r.headers = { ...r.headers, 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
        used = true;
      }
    }
  }
  if (used) {
    const d = doc as { components?: Record<string, unknown> };
    d.components ??= {};
    const components = d.components;
    components.headers = {
      ...(components.headers as object | undefined),
      RetryAfter: {
        description:
          'Seconds to wait before trying again. Sent with `rate_limited` and `quota_exceeded` (429) and with `database_unavailable` and `database_busy` (503); absent from a 503 that waiting does not cure (`livekit_not_configured`).',
        schema: { type: 'integer', minimum: 0 },
      },
    };
  }
  return doc;
}

const plugin: FastifyPluginAsyncTypebox<{ publicUrl: string }> = async (app, { publicUrl }) => {
  // Every route declares the problem answers of its kind (credential, body) without copying them.
  app.addHook('onRoute', (route) => {
    const takesApiKeys = [route.method]
      .flat()
      .some((method) => !apiKeyRefusedOn(method, route.url));
    declareProblemsOfKind(route.schema as never, {
      takesApiKeys,
      hasParams: route.url.includes(':'),
      readsBody: [route.method].flat().some((m) => BODY_METHODS.has(m)),
    });
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '0.1.0',
        description:
          'Identity and control plane for voice-AI agent platforms. Errors are RFC 9457 problem documents (application/problem+json) with a stable `code`; `GET /problems/{code}` says what each means.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [
        { url: serverUrl(publicUrl), description: 'This Switchboard instance (PUBLIC_URL)' },
      ],
      tags: API_TAGS.map((t) => ({ ...t })),
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'An access token (JWT) from login or refresh, or an API key (`sb_…`), in `Authorization: Bearer …`',
          },
          cookieAuth: {
            type: 'apiKey',
            in: 'cookie',
            name: 'sb_access',
            description:
              'The session cookies set by login (browsers); unsafe methods also send the `sb_csrf` cookie value in `X-CSRF-Token`',
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}`,
    },
    transformObject: (d) =>
      retryAfterHeaders(
        optionalBodies(problemsAsProblemJson('openapiObject' in d ? d.openapiObject : {})),
      ),
  });
  // The docs carry no tenant data: open to an enrolment-only session like the other public pages.
  await app.register(async (docs) => {
    allowWhileMfaPending(docs);
    await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  });

  app.get('/openapi.json', { schema: { hide: true }, config: MFA_PENDING_ALLOWED }, async () =>
    app.swagger(),
  );

  app.get(
    '/problems/:code',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'getProblemType',
        security: [],
        tags: ['meta'],
        summary: 'What an error code means',
        params: Type.Object({ code: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ code: Type.String(), status: Type.Integer(), title: Type.String() }),
          404: Type.Ref('Problem'),
        },
      },
    },
    async (request, reply) => {
      const code = request.params.code as ErrorCode;
      if (!Object.hasOwn(ERRORS, code)) {
        return sendProblem(request, reply, 'not_found', 'No such error code');
      }
      return { code, ...ERRORS[code] };
    },
  );
};

// Not encapsulated: swagger must see every route of the app, and app.swagger() is the app's.
export const apiDocs = fp(plugin, { name: 'api-docs' });
