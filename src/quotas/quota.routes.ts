// /api/orgs/current/quotas (the org's limits: everyone reads, owners and admins lower them) and
// /api/orgs/current/usage (live counts against those limits, for the dashboard's usage card).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { requestMeta } from '../http/request-meta.ts';
import { Timestamp } from '../http/schemas.ts';
import { getSettingRoute, putSettingRoute } from '../http/setting-routes.ts';
import type { Quotas } from './quotas.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The concurrency quotas (tests and the bench read and drive them). */
    quotas: Quotas;
  }
}

const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
const Count = Type.Integer({ minimum: 0 });

const FIELDS = {
  max_live_calls: 'Concurrent live calls, inbound and outbound together',
  inbound_reserved_calls:
    'Of those, slots only incoming calls may take (outbound dispatch stops at max_live_calls minus this)',
  max_voice_sessions: 'Concurrent LiveKit voice sessions (room tokens issued and not ended)',
  max_device_sockets: 'Concurrent device sockets (GET /ws, /ws_pcm) across every instance',
  max_scheduled_calls_per_day: 'Scheduled calls placed per UTC day (counted at dispatch)',
} as const;

const limit = (f: keyof typeof FIELDS) => Type.Integer({ minimum: 0, description: FIELDS[f] });
const Limits = (title: string) =>
  Type.Object(
    {
      max_live_calls: limit('max_live_calls'),
      inbound_reserved_calls: limit('inbound_reserved_calls'),
      max_voice_sessions: limit('max_voice_sessions'),
      max_device_sockets: limit('max_device_sockets'),
      max_scheduled_calls_per_day: limit('max_scheduled_calls_per_day'),
    },
    { title },
  );
const setting = (f: keyof typeof FIELDS) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: 10_000_000 }), Type.Null()], {
    description: `${FIELDS[f]}; null = the platform's limit`,
  });
const Settings = Type.Object(
  {
    max_live_calls: setting('max_live_calls'),
    inbound_reserved_calls: setting('inbound_reserved_calls'),
    max_voice_sessions: setting('max_voice_sessions'),
    max_device_sockets: setting('max_device_sockets'),
    max_scheduled_calls_per_day: setting('max_scheduled_calls_per_day'),
  },
  { additionalProperties: false, title: 'QuotaSettings' },
);

const QuotasOut = Type.Object(
  {
    limits: Limits('QuotaLimits'),
    org: Settings,
    platform: Limits('PlatformQuotaLimits'),
    updated_at: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'Quotas' },
);

const Item = (extra: Record<string, ReturnType<typeof Type.Integer | typeof Type.String>> = {}) =>
  Type.Object({ live: Count, limit: Count, ...extra });
const UsageOut = Type.Object(
  {
    counter: Type.Union(
      [Type.Literal('redis'), Type.Literal('database'), Type.Literal('embedded')],
      {
        description:
          'Where the live counts are kept: Redis (REDIS_URL), the database (PostgreSQL without Redis), or the memory of the one process that owns the embedded database (kept in its leases table behind)',
      },
    ),
    live_calls: Item({ inbound_reserved: Count }),
    voice_sessions: Item(),
    device_sockets: Item(),
    scheduled_calls_per_day: Item({ resets_at: Timestamp }),
  },
  { title: 'Usage' },
);

export const quotaRoutes: FastifyPluginAsyncTypebox<{ quotas: Quotas }> = async (
  app,
  { quotas },
) => {
  const tags = ['orgs'];

  getSettingRoute(
    app,
    '/api/orgs/current/usage',
    {
      operationId: 'getOrgUsage',
      tags,
      security,
      summary: "The org's live usage against its concurrency quotas",
      description:
        'Live calls, voice sessions and device sockets held right now, and scheduled calls placed today (UTC), each with the limit in effect. Everyone in the org; API keys with `quotas:read`.',
    },
    UsageOut,
    (request) => quotas.usage(requirePrincipal(request)),
  );

  getSettingRoute(
    app,
    '/api/orgs/current/quotas',
    {
      operationId: 'getOrgQuotas',
      tags,
      security,
      summary: "The org's concurrency quotas: in effect, its own settings and the platform's",
    },
    QuotasOut,
    (request) => quotas.get(requirePrincipal(request)),
  );

  putSettingRoute(
    app,
    '/api/orgs/current/quotas',
    {
      operationId: 'setOrgQuotas',
      tags,
      security,
      summary: "Set the org's concurrency quotas (owners and admins)",
      description:
        "Every field, each a number or null (the platform's limit). A limit may lower the platform's, never raise it: above it → 422 `quota_above_platform_limit`; so is an `inbound_reserved_calls` above `max_live_calls`, and, when it is null, a `max_live_calls` at or below the platform's reserve it would inherit (no outbound calls left: set the reserve). Applies to credentials issued from then on (other instances within 5 s); nothing live is cut. Audited as `org.quotas_updated`.",
      alsoAnswers: [422],
    },
    Settings,
    QuotasOut,
    (request, body) => quotas.set(requirePrincipal(request), body, requestMeta(request)),
  );
};
