// Analytics: call volume per day and per hour of the day, a per-agent summary, and voice sessions
// (LiveKit) per day and per user, over a date range in the browser's time zone (the server
// buckets them in that zone).
import { type ChangeEvent, type FormEvent, useCallback, useMemo } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { Table, td } from '../../components/Table.tsx';
import { ApiError, api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import { type DayRangeRule, submitFilters, useDraftFilters } from '../../lib/filters.ts';
import { formatDuration } from '../../lib/format.ts';
import { allPages, useLoad } from '../../lib/load.ts';
import { type BarDatum, type BarSeries, ChartFigure } from './BarChart.tsx';
import {
  analyticsWindow,
  browserTimeZone,
  hourText,
  longDay,
  rangeText,
  shortDay,
} from './dates.ts';
import { VoiceSessionStats } from './VoiceSessionStats.tsx';

type ByDate = ResponseOf<'/api/analytics/calls-by-date', 'get'>;
type ByHour = ResponseOf<'/api/analytics/calls-by-hour', 'get'>;
type Summary = ResponseOf<'/api/analytics/agent-summary', 'get'>;

/** `from` and `to` empty: the default window (analyticsWindow), as of when it is used. */
interface Filters {
  from: string;
  to: string;
  agentId: string;
}

const NO_FILTERS: Filters = { from: '', to: '', agentId: '' };

interface Data {
  byDate: ByDate;
  byHour: ByHour;
  summary: Summary;
}

/** The window's first and last day: a To before the From is refused, as in every log. */
const DAY_RANGE: DayRangeRule<Filters> = {
  field: 'from',
  days: (f) => {
    const w = analyticsWindow(f);
    return [w.from, w.to];
  },
};

const SERIES: BarSeries[] = [
  { name: 'Answered', fillClass: 'fill-indigo-500', swatchClass: 'bg-indigo-500' },
  { name: 'Not answered', fillClass: 'fill-indigo-200', swatchClass: 'bg-indigo-200' },
];

const FIELD_LABELS: Record<string, string> = { from: 'From', to: 'To', tz: 'Time zone' };

/** What "average duration" means, wherever it is shown (the server computes it this way). */
const AVERAGE_HINT = 'Of completed calls (answered and ended); calls in progress are left out';

const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });
const count = new Intl.NumberFormat();

function answerRate(answered: number, calls: number): string {
  return calls > 0 ? percent.format(answered / calls) : '—';
}

function plural(n: number, word: string): string {
  return `${count.format(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** The server's verdict on the query, with the offending fields named. */
function loadErrorText(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = Object.entries(err.fields);
    if (fields.length > 0) {
      return fields
        .map(([f, m]) => {
          const name = f.replace(/^querystring\./, '');
          return `${FIELD_LABELS[name] ?? name}: ${m}`;
        })
        .join('. ');
    }
  }
  return errorMessage(err);
}

function StatCard({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="rounded-xl bg-white px-4 py-4 shadow-sm ring-1 ring-slate-200 sm:px-5">
      <dt className="text-sm text-slate-500">{label}</dt>
      <dd className="mt-1 text-2xl font-semibold tracking-tight text-slate-900 tabular-nums">
        {value}
      </dd>
      {hint && <dd className="mt-0.5 text-xs text-slate-500">{hint}</dd>}
    </div>
  );
}

/**
 * The agent filter's choices: the agents page after page (not only the API's largest page), up to
 * 2,000: a bound on the requests one page load makes.
 */
const everyAgent = () =>
  allPages((cursor) => api.get('/api/agents', { query: { limit: 100, cursor } }), 20);

export function AnalyticsPage() {
  const tz = useMemo(browserTimeZone, []);
  const filters = useDraftFilters<Filters>(NO_FILTERS, DAY_RANGE);
  const { draft, applied, set, field, errors } = filters;
  // The days of the applied filters, computed as they are applied (every Apply, even unchanged):
  // the default window is the last 30 days as of then, not as of when the page opened.
  const days = useMemo(() => analyticsWindow(applied), [applied]);
  // The form shows the days the draft stands for, today's default included. Choosing one day
  // keeps the other as shown.
  const shown = analyticsWindow(draft);
  const dayField = (key: 'from' | 'to') => ({
    value: shown[key],
    onChange: (e: ChangeEvent<HTMLInputElement>) => {
      const now = analyticsWindow(draft);
      set('from', now.from);
      set('to', now.to);
      set(key, e.target.value);
    },
  });
  // Without the list the filter is just not offered.
  const agents = useLoad(everyAgent).data ?? [];
  // The three figures of the applied range, as one load: a changed filter supersedes the last.
  const fetchFigures = useCallback(
    async (signal: AbortSignal): Promise<Data> => {
      const query = {
        from: days.from,
        to: days.to,
        tz,
        agent_id: applied.agentId || undefined,
      };
      const [byDate, byHour, summary] = await Promise.all([
        api.get('/api/analytics/calls-by-date', { query, signal }),
        api.get('/api/analytics/calls-by-hour', { query, signal }),
        api.get('/api/analytics/agent-summary', { query, signal }),
      ]);
      return { byDate, byHour, summary };
    },
    [applied, days, tz],
  );
  const figures = useLoad(fetchFigures);
  const data = figures.failure ? null : figures.data;
  const loading = figures.data === null && figures.failure === null;
  const loadError = figures.failure ? loadErrorText(figures.failure) : null;

  // A new object even when nothing changed: Apply always loads the figures again.
  const apply = (e: FormEvent<HTMLFormElement>) => submitFilters(e, filters, (d) => ({ ...d }));

  // Computed by the server, like the agents table's figures (one definition of the average).
  const totals = data?.byDate.totals ?? {
    calls: 0,
    answered: 0,
    completed: 0,
    average_duration_seconds: 0,
    total_duration_seconds: 0,
  };

  const dayBars: BarDatum[] = useMemo(
    () =>
      (data?.byDate.days ?? []).map((d) => ({
        key: d.date,
        label: longDay(d.date),
        tick: shortDay(d.date),
        values: [d.answered, Math.max(0, d.calls - d.answered)],
        title: `${longDay(d.date)}: ${plural(d.calls, 'call')}, ${count.format(d.answered)} answered`,
      })),
    [data],
  );

  const hourBars: BarDatum[] = useMemo(
    () =>
      (data?.byHour.hours ?? []).map((h) => ({
        key: String(h.hour),
        label: `${hourText(h.hour)}–${String(h.hour).padStart(2, '0')}:59`,
        tick: hourText(h.hour),
        values: [h.answered, Math.max(0, h.calls - h.answered)],
        title: `${hourText(h.hour)}–${String(h.hour).padStart(2, '0')}:59: ${plural(h.calls, 'call')}, ${count.format(h.answered)} answered`,
      })),
    [data],
  );

  const range = data ? rangeText(data.byDate.from, data.byDate.to) : '';
  const summaryText = `${plural(totals.calls, 'call')}, ${count.format(totals.answered)} answered`;
  const agentName = agents.find((a) => a.id === applied.agentId)?.name;

  return (
    <div className="space-y-6">
      <PageHeader
        title="Analytics"
        description={`Call volume, answer rates and durations, and voice-session minutes. Days and hours are in your time zone (${tz}).`}
      />
      <Card>
        <search className="block">
          <form
            noValidate
            onSubmit={apply}
            className="grid grid-cols-2 items-start gap-3 sm:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_minmax(0,1.5fr)_auto]"
          >
            <TextField
              label="From"
              type="date"
              name="from"
              {...dayField('from')}
              max={shown.to}
              error={errors.from}
            />
            <TextField label="To" type="date" name="to" {...dayField('to')} min={shown.from} />
            <SelectField
              label="Agent"
              name="agent_id"
              {...field('agentId')}
              className="col-span-2 sm:col-span-1"
            >
              <option value="">All agents</option>
              {agents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </SelectField>
            <Button type="submit" loading={loading} className="col-span-2 sm:col-span-1 sm:mt-6.5">
              Apply
            </Button>
          </form>
        </search>
      </Card>

      {loadError ? (
        <Alert tone="error" title="Could not load analytics">
          {loadError}
        </Alert>
      ) : !data ? (
        <Loading label="Loading analytics…" />
      ) : (
        <>
          <section aria-label="Totals">
            <dl className="grid grid-cols-2 gap-3 lg:grid-cols-4">
              <StatCard label="Total calls" value={count.format(totals.calls)} hint={range} />
              <StatCard label="Answered" value={count.format(totals.answered)} />
              <StatCard label="Answer rate" value={answerRate(totals.answered, totals.calls)} />
              <StatCard
                label="Average duration"
                value={totals.completed > 0 ? formatDuration(totals.average_duration_seconds) : '—'}
                hint={AVERAGE_HINT}
              />
            </dl>
          </section>

          {totals.calls === 0 ? (
            <EmptyState title="No calls in this range">
              {agentName
                ? `${agentName} had no calls in this period. Try a longer range or all agents.`
                : 'No calls were made or received in this period. Try a longer range.'}
            </EmptyState>
          ) : (
            <>
              <Card
                title="Calls by day"
                id="calls-by-day"
                description={`${range}${agentName ? ` · ${agentName}` : ''}`}
              >
                <ChartFigure
                  label={`Calls by day, ${range}: ${summaryText}`}
                  data={dayBars}
                  series={SERIES}
                  categoryHeader="Date"
                  totalHeader="Calls"
                  emptyText="No calls in this range."
                />
              </Card>
              <Card
                title="Calls by hour of day"
                id="calls-by-hour"
                description={`When calls started, ${range}${agentName ? ` · ${agentName}` : ''}`}
              >
                <ChartFigure
                  label={`Calls by hour of day, ${range}: ${summaryText}`}
                  data={hourBars}
                  series={SERIES}
                  categoryHeader="Hour"
                  totalHeader="Calls"
                  emptyText="No calls in this range."
                />
              </Card>
              <Card
                title="Agents"
                id="agent-summary"
                description={`Calls handled by each agent. Average duration: ${AVERAGE_HINT.toLowerCase()}.`}
              >
                {data.summary.agents.length === 0 ? (
                  <p className="text-sm text-slate-500">No calls reached an agent in this range.</p>
                ) : (
                  <Table
                    caption={`Calls per agent, ${range}`}
                    columns={[
                      'Agent',
                      { label: 'Calls', className: 'text-right' },
                      { label: 'Answered', className: 'text-right' },
                      { label: 'Answer rate', className: 'text-right' },
                      { label: 'Average duration', className: 'text-right' },
                      { label: 'Total duration', className: 'text-right' },
                    ]}
                  >
                    {data.summary.agents.map((a) => (
                      <tr key={a.agent_id}>
                        <th
                          scope="row"
                          className={`${td} font-medium ${a.agent_name ? 'text-slate-900' : 'text-slate-500 italic'}`}
                        >
                          {a.agent_name ?? 'No agent'}
                        </th>
                        <td className={`${td} text-right tabular-nums`}>{count.format(a.calls)}</td>
                        <td className={`${td} text-right tabular-nums`}>
                          {count.format(a.answered)}
                        </td>
                        <td className={`${td} text-right tabular-nums`}>
                          {answerRate(a.answered, a.calls)}
                        </td>
                        <td className={`${td} whitespace-nowrap text-right tabular-nums`}>
                          {a.completed > 0 ? formatDuration(a.average_duration_seconds) : '—'}
                        </td>
                        <td className={`${td} whitespace-nowrap text-right tabular-nums`}>
                          {formatDuration(a.total_duration_seconds)}
                        </td>
                      </tr>
                    ))}
                  </Table>
                )}
              </Card>
            </>
          )}
        </>
      )}
      <VoiceSessionStats from={days.from} to={days.to} tz={tz} />
    </div>
  );
}
