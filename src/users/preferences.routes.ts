// /api/users/me/preferences: the caller's remembered preferences in their current org (what
// their voice agents were told to remember), read and replaced as one flat map.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import type { Database } from '../db/database.ts';
import { requestMeta } from '../http/request-meta.ts';
import { responses, Timestamp } from '../http/schemas.ts';
import { PREFERENCE_RULES, PreferenceMapSchema } from './preference.json.ts';
import { getMyPreferences, type PreferencesView, replaceMyPreferences } from './preferences.ts';

export const PreferencesOut = Type.Object(
  {
    preferences: PreferenceMapSchema,
    updated_at: Type.Union([Timestamp, Type.Null()], {
      description: 'When the map last changed; null when nothing was ever stored',
    }),
  },
  { title: 'Preferences' },
);

export function preferencesJson(v: PreferencesView) {
  return { preferences: v.preferences, updated_at: v.updated_at?.toISOString() ?? null };
}

export const preferencesRoutes: FastifyPluginAsyncTypebox<{ database: Database }> = async (
  app,
  { database },
) => {
  const tags = ['auth'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const path = '/api/users/me/preferences';

  app.get(
    path,
    {
      schema: {
        operationId: 'getMyPreferences',
        tags,
        security,
        summary: 'Your remembered preferences in the current org',
        description:
          'What your voice agents remember about you in this organization (another organization never sees them). People only: an API key gets 403 and uses the agent API instead.',
        response: responses({ 200: PreferencesOut }, [401, 403]),
      },
    },
    async (request) => preferencesJson(await getMyPreferences(database, requirePrincipal(request))),
  );

  app.put(
    path,
    {
      schema: {
        operationId: 'replaceMyPreferences',
        tags,
        security,
        summary: 'Replace your remembered preferences',
        description: `The body is the whole new map: keys left out are removed, \`{}\` forgets everything. ${PREFERENCE_RULES} Audited with the key names (never the values).`,
        body: PreferenceMapSchema,
        response: responses({ 200: PreferencesOut }, [401, 403, 413, 415, 422]),
      },
    },
    async (request) =>
      preferencesJson(
        await replaceMyPreferences(
          database,
          requirePrincipal(request),
          request.body,
          requestMeta(request),
        ),
      ),
  );
};
