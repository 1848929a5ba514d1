// /api/twilio/credentials: the org's own Twilio account (owners and admins). The auth token goes
// in, never out.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { requestMeta } from '../http/request-meta.ts';
import { Timestamp } from '../http/schemas.ts';
import { deleteSettingRoute, getSettingRoute, putSettingRoute } from '../http/setting-routes.ts';
import type { TwilioCredentialsService } from './twilio-credentials.service.ts';

const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
const AccountSid = Type.String({ pattern: '^AC[0-9a-fA-F]{32}$' });

const CredentialsOut = Type.Object(
  {
    source: Type.Union([Type.Literal('org'), Type.Literal('platform'), Type.Literal('none')], {
      description: "org: the org's own account; platform: the server's; none: Twilio is not set up",
    }),
    account_sid: Type.Union([AccountSid, Type.Null()]),
    updated_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'TwilioCredentials' },
);
const SetBody = Type.Object(
  {
    account_sid: AccountSid,
    auth_token: Type.String({ pattern: '^[A-Za-z0-9]{16,128}$', writeOnly: true }),
  },
  { additionalProperties: false },
);

export const twilioCredentialsRoutes: FastifyPluginAsyncTypebox<{
  credentials: TwilioCredentialsService;
}> = async (app, { credentials }) => {
  const tags = ['twilio'];
  const path = '/api/twilio/credentials';

  getSettingRoute(
    app,
    path,
    {
      operationId: 'getTwilioCredentials',
      tags,
      security,
      summary: 'Which Twilio account the org uses (never the auth token)',
    },
    CredentialsOut,
    (request) => credentials.get(requirePrincipal(request)),
  );

  putSettingRoute(
    app,
    path,
    {
      operationId: 'setTwilioCredentials',
      tags,
      security,
      summary: "Set the org's own Twilio account",
      description:
        'The auth token is encrypted at rest and never returned. Webhooks for the org are then verified with it, and its calls placed with it.',
    },
    SetBody,
    CredentialsOut,
    (request, body) => credentials.set(requirePrincipal(request), body, requestMeta(request)),
  );

  deleteSettingRoute(
    app,
    path,
    {
      operationId: 'deleteTwilioCredentials',
      tags,
      security,
      summary: "Remove the org's own Twilio account (back to the platform account)",
    },
    (request) => credentials.remove(requirePrincipal(request), requestMeta(request)),
  );
};
