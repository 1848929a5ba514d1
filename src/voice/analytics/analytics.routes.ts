// /api/analytics/* (and the source documents' /analytics/*): call statistics for the dashboard's
// charts, computed in SQL over the caller's visible calls.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePrincipal } from '../../access/principal.ts';
import { responses } from '../../http/schemas.ts';
import { SECURITY as security, Uuid } from '../shared.ts';
import type { AnalyticsService } from './analytics.service.ts';

const DateParam = Type.String({ format: 'date', description: 'YYYY-MM-DD in tz' });
const Query = Type.Object(
  {
    from: Type.Optional(DateParam),
    to: Type.Optional(DateParam),
    tz: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'IANA time zone (default UTC)',
        examples: ['Europe/Paris'],
      }),
    ),
    agent_id: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
const Window = {
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  tz: Type.String({
    description: 'The IANA zone the figures were computed in: the one given, by its canonical name',
  }),
};
const Count = Type.Integer({ minimum: 0 });
const COMPLETED_TEXT =
  'Completed calls: answered and ended (status completed), so their duration is known. Calls in progress are not completed.';
const Completed = Type.Integer({ minimum: 0, description: COMPLETED_TEXT });
const AverageDuration = Type.Integer({
  minimum: 0,
  description:
    'Mean duration in whole seconds of the completed calls (0 when none): calls in progress, unanswered, busy and failed calls are left out. The same definition everywhere.',
});
const TotalDuration = Type.Integer({
  minimum: 0,
  description: 'Sum of the known durations, in seconds',
});

const ByDate = Type.Object(
  {
    ...Window,
    days: Type.Array(
      Type.Object({
        date: Type.String({ format: 'date' }),
        calls: Count,
        answered: Count,
        total_duration_seconds: TotalDuration,
      }),
    ),
    totals: Type.Object(
      {
        calls: Count,
        answered: Count,
        completed: Completed,
        average_duration_seconds: AverageDuration,
        total_duration_seconds: TotalDuration,
      },
      { description: 'The whole range (and agent, when filtered) at once' },
    ),
  },
  { title: 'CallsByDate' },
);
const ByHour = Type.Object(
  {
    ...Window,
    hours: Type.Array(
      Type.Object({
        hour: Type.Integer({ minimum: 0, maximum: 23 }),
        calls: Count,
        answered: Count,
      }),
    ),
  },
  { title: 'CallsByHour' },
);
const AgentSummary = Type.Object(
  {
    ...Window,
    agents: Type.Array(
      Type.Object({
        agent_id: Uuid,
        agent_name: Type.Union([Type.String(), Type.Null()]),
        calls: Count,
        answered: Count,
        completed: Completed,
        average_duration_seconds: AverageDuration,
        total_duration_seconds: TotalDuration,
      }),
    ),
  },
  { title: 'AgentSummary' },
);

const VoiceQuery = Type.Object(
  {
    from: Type.Optional(DateParam),
    to: Type.Optional(DateParam),
    tz: Query.properties.tz,
    user_id: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'Only this user’s sessions (members: their own only, another is a 403)',
      }),
    ),
  },
  { additionalProperties: false },
);
const Seconds = Type.Integer({ minimum: 0, description: 'Total duration of the sessions' });
const Minutes = Type.Number({
  minimum: 0,
  description: 'The same total in minutes, to one decimal',
});
const VoiceSessionStats = Type.Object(
  {
    ...Window,
    days: Type.Array(
      Type.Object({
        date: Type.String({ format: 'date' }),
        sessions: Count,
        total_duration_seconds: Seconds,
        minutes: Minutes,
      }),
    ),
    users: Type.Array(
      Type.Object({
        user_id: Uuid,
        full_name: Type.Union([Type.String(), Type.Null()]),
        sessions: Count,
        total_duration_seconds: Seconds,
        minutes: Minutes,
      }),
      { description: 'Per user, most sessions first' },
    ),
  },
  { title: 'VoiceSessionAnalytics' },
);

const withMinutes = <T extends { total_duration_seconds: number }>(row: T) => ({
  ...row,
  minutes: Math.round(row.total_duration_seconds / 6) / 10,
});

export const analyticsRoutes: FastifyPluginAsyncTypebox<{
  analytics: AnalyticsService;
  base?: '/api/analytics' | '/analytics';
}> = async (app, { analytics, base = '/api/analytics' }) => {
  const tags = ['analytics'];
  const description =
    'From/to are calendar dates in tz (default: the last 30 days up to today; at most 366 days). Members count the calls of their own phones and agents; managers, admins and owners the whole org.';
  // Documented once, under /api/analytics; src/routes.ts mounts the source documents' /analytics too.
  const hide = base !== '/api/analytics';

  app.get(
    `${base}/calls-by-date`,
    {
      schema: {
        operationId: 'getCallsByDate',
        hide,
        tags,
        security,
        summary: 'Calls per day (every day of the range, zeros included) and the totals',
        description,
        querystring: Query,
        response: responses({ 200: ByDate }, [401, 403]),
      },
    },
    async (request) => {
      const { result, ...window } = await analytics.callsByDate(
        requirePrincipal(request),
        request.query,
      );
      return { ...window, ...result };
    },
  );

  app.get(
    `${base}/calls-by-hour`,
    {
      schema: {
        operationId: 'getCallsByHour',
        hide,
        tags,
        security,
        summary: 'Calls per hour of the day (0–23 in tz)',
        description,
        querystring: Query,
        response: responses({ 200: ByHour }, [401, 403]),
      },
    },
    async (request) => {
      const { result, ...window } = await analytics.callsByHour(
        requirePrincipal(request),
        request.query,
      );
      return { ...window, hours: result };
    },
  );

  app.get(
    `${base}/agent-summary`,
    {
      schema: {
        operationId: 'getAgentSummary',
        hide,
        tags,
        security,
        summary: 'Per agent: calls, answered, completed, average and total duration',
        description,
        querystring: Query,
        response: responses({ 200: AgentSummary }, [401, 403]),
      },
    },
    async (request) => {
      const { result, ...window } = await analytics.agentSummary(
        requirePrincipal(request),
        request.query,
      );
      return { ...window, agents: result };
    },
  );

  app.get(
    `${base}/voice-sessions`,
    {
      schema: {
        hide,
        operationId: 'getVoiceSessionAnalytics',
        tags,
        security,
        summary: 'Voice sessions (LiveKit): count and minutes per day and per user',
        description:
          'Sessions whose participant joined within the range, by the day they started in tz (every day of the range, zeros included), and per user. Minutes count ended sessions (a session still in progress has no duration yet). From/to are calendar dates in tz (default: the last 30 days up to today; at most 366 days). Members count their own sessions; managers, admins and owners the whole org.',
        querystring: VoiceQuery,
        response: responses({ 200: VoiceSessionStats }, [401, 403]),
      },
    },
    async (request) => {
      const { result, ...window } = await analytics.voiceSessions(
        requirePrincipal(request),
        request.query,
      );
      return {
        ...window,
        days: result.days.map(withMinutes),
        users: result.users.map(withMinutes),
      };
    },
  );
};
