// Analytics in SQL over the calls the caller may see: the tenant context's row-level security
// applies, and the org (and, for members, owner) filter is repeated here as defence in depth.
// Dates are bucketed in the caller's time zone.
//
// One definition of a call's average duration, used by every figure that shows one: the mean
// over *completed* calls — answered and ended, so their duration is known. A call still in
// progress is answered but has no duration yet; counting it (as answered with no seconds) would
// drag the average down, so it is left out until it ends. Unanswered, busy and failed calls have
// no talk time and are left out too.
import { type RawBuilder, sql } from 'kysely';
import type { Tx } from '../../db/tenant.ts';
import type { DateRange } from './time-range.ts';

export interface AnalyticsScope {
  orgId: string;
  /** Set for members: only calls of their own phones or agents. */
  ownerId?: string;
  agentId?: string;
}

/** Every day of the range, `from` to `to` inclusive: the rows (`day`) a per-day count joins. */
function daysOf(range: DateRange): RawBuilder<unknown> {
  return sql`SELECT d::date AS day
    FROM generate_series(${range.from}::date, ${range.to}::date, interval '1 day') AS d`;
}

function callFilter(scope: AnalyticsScope, range: DateRange): RawBuilder<unknown> {
  const owner = scope.ownerId
    ? sql`AND (c.phone_owner_id = ${scope.ownerId} OR c.agent_owner_id = ${scope.ownerId})`
    : sql``;
  const agent = scope.agentId ? sql`AND c.agent_id = ${scope.agentId}` : sql``;
  return sql`c.org_id = ${scope.orgId} ${owner} ${agent}
    AND c.started_at >= (${range.from}::date)::timestamp AT TIME ZONE ${range.zone}
    AND c.started_at < ((${range.to}::date + 1)::timestamp AT TIME ZONE ${range.zone})`;
}

/** A completed call: answered and ended (Twilio's `completed`), so its duration is known. */
const COMPLETED = sql`c.status = 'completed' AND c.duration_seconds IS NOT NULL`;
const completedCount = sql`count(*) FILTER (WHERE ${COMPLETED})::int8`;
/** Whole seconds; 0 when no call in the selection has completed. */
const averageDuration = sql`coalesce(round(avg(c.duration_seconds) FILTER (WHERE ${COMPLETED})), 0)::int8`;

interface Totals {
  calls: string | number;
  answered: string | number;
  completed: string | number;
  average_duration_seconds: string | number;
  total_duration_seconds: string | number;
}

function totalsRow(r: Totals) {
  return {
    calls: Number(r.calls),
    answered: Number(r.answered),
    completed: Number(r.completed),
    average_duration_seconds: Number(r.average_duration_seconds),
    total_duration_seconds: Number(r.total_duration_seconds),
  };
}

/** The whole range at once: calls, answered, completed, average and total duration. */
export async function callTotals(tx: Tx, scope: AnalyticsScope, range: DateRange) {
  const { rows } = await sql<Totals>`
    SELECT count(*)::int8 AS calls,
           count(c.answered_at)::int8 AS answered,
           ${completedCount} AS completed,
           ${averageDuration} AS average_duration_seconds,
           coalesce(sum(c.duration_seconds), 0)::int8 AS total_duration_seconds
    FROM calls c WHERE ${callFilter(scope, range)}
  `.execute(tx);
  return totalsRow(rows[0]!);
}

export async function callsByDate(tx: Tx, scope: AnalyticsScope, range: DateRange) {
  const { rows } = await sql<{
    date: string;
    calls: string | number;
    answered: string | number;
    total_duration_seconds: string | number;
  }>`
    WITH days AS (${daysOf(range)}), c AS (
      SELECT (c.started_at AT TIME ZONE ${range.zone})::date AS day, c.answered_at, c.duration_seconds
      FROM calls c WHERE ${callFilter(scope, range)}
    )
    SELECT to_char(days.day, 'YYYY-MM-DD') AS date,
           count(c.day)::int8 AS calls,
           count(c.answered_at)::int8 AS answered,
           coalesce(sum(c.duration_seconds), 0)::int8 AS total_duration_seconds
    FROM days LEFT JOIN c ON c.day = days.day
    GROUP BY days.day ORDER BY days.day
  `.execute(tx);
  return rows.map((r) => ({
    date: r.date,
    calls: Number(r.calls),
    answered: Number(r.answered),
    total_duration_seconds: Number(r.total_duration_seconds),
  }));
}

export async function callsByHour(tx: Tx, scope: AnalyticsScope, range: DateRange) {
  const { rows } = await sql<{ hour: number; calls: string | number; answered: string | number }>`
    WITH hours AS (SELECT generate_series(0, 23) AS hour), c AS (
      SELECT extract(hour FROM c.started_at AT TIME ZONE ${range.zone})::int AS hour, c.answered_at
      FROM calls c WHERE ${callFilter(scope, range)}
    )
    SELECT hours.hour, count(c.hour)::int8 AS calls, count(c.answered_at)::int8 AS answered
    FROM hours LEFT JOIN c ON c.hour = hours.hour
    GROUP BY hours.hour ORDER BY hours.hour
  `.execute(tx);
  return rows.map((r) => ({
    hour: Number(r.hour),
    calls: Number(r.calls),
    answered: Number(r.answered),
  }));
}

/** Per agent: calls, answered, completed, average duration (of completed calls), total duration. */
export async function agentSummary(tx: Tx, scope: AnalyticsScope, range: DateRange) {
  const { rows } = await sql<Totals & { agent_id: string; agent_name: string | null }>`
    SELECT c.agent_id, a.name AS agent_name,
           count(*)::int8 AS calls,
           count(c.answered_at)::int8 AS answered,
           ${completedCount} AS completed,
           ${averageDuration} AS average_duration_seconds,
           coalesce(sum(c.duration_seconds), 0)::int8 AS total_duration_seconds
    FROM calls c LEFT JOIN agents a ON a.id = c.agent_id AND a.org_id = c.org_id
    WHERE c.agent_id IS NOT NULL AND ${callFilter(scope, range)}
    GROUP BY c.agent_id, a.name
    ORDER BY count(*) DESC, c.agent_id
  `.execute(tx);
  return rows.map((r) => ({ agent_id: r.agent_id, agent_name: r.agent_name, ...totalsRow(r) }));
}

/** Voice sessions (LiveKit): the org's, or one user's (members: always their own). */
export interface VoiceSessionScope {
  orgId: string;
  userId?: string;
}

/** Sessions that started (participant joined) within the range, by their start in tz. */
function voiceSessionFilter(scope: VoiceSessionScope, range: DateRange): RawBuilder<unknown> {
  const user = scope.userId ? sql`AND v.user_id = ${scope.userId}` : sql``;
  return sql`v.org_id = ${scope.orgId} ${user} AND v.started_at IS NOT NULL
    AND v.started_at >= (${range.from}::date)::timestamp AT TIME ZONE ${range.zone}
    AND v.started_at < ((${range.to}::date + 1)::timestamp AT TIME ZONE ${range.zone})`;
}

/** Per day of the range (zeros included): sessions started and their total duration. */
export async function voiceSessionsByDate(tx: Tx, scope: VoiceSessionScope, range: DateRange) {
  const { rows } = await sql<{
    date: string;
    sessions: string | number;
    total_duration_seconds: string | number;
  }>`
    WITH days AS (${daysOf(range)}), v AS (
      SELECT (v.started_at AT TIME ZONE ${range.zone})::date AS day, v.duration_seconds
      FROM voice_sessions v WHERE ${voiceSessionFilter(scope, range)}
    )
    SELECT to_char(days.day, 'YYYY-MM-DD') AS date,
           count(v.day)::int8 AS sessions,
           coalesce(sum(v.duration_seconds), 0)::int8 AS total_duration_seconds
    FROM days LEFT JOIN v ON v.day = days.day
    GROUP BY days.day ORDER BY days.day
  `.execute(tx);
  return rows.map((r) => ({
    date: r.date,
    sessions: Number(r.sessions),
    total_duration_seconds: Number(r.total_duration_seconds),
  }));
}

/** Per user, most sessions first: sessions started in the range and their total duration. */
export async function voiceSessionsByUser(tx: Tx, scope: VoiceSessionScope, range: DateRange) {
  const { rows } = await sql<{
    user_id: string;
    full_name: string | null;
    sessions: string | number;
    total_duration_seconds: string | number;
  }>`
    SELECT v.user_id, u.full_name,
           count(*)::int8 AS sessions,
           coalesce(sum(v.duration_seconds), 0)::int8 AS total_duration_seconds
    FROM voice_sessions v LEFT JOIN users u ON u.id = v.user_id
    WHERE ${voiceSessionFilter(scope, range)}
    GROUP BY v.user_id, u.full_name
    ORDER BY count(*) DESC, v.user_id
  `.execute(tx);
  return rows.map((r) => ({
    user_id: r.user_id,
    full_name: r.full_name,
    sessions: Number(r.sessions),
    total_duration_seconds: Number(r.total_duration_seconds),
  }));
}
