// Voice sessions (LiveKit) on the Analytics page: sessions and minutes per day as a bar chart
// (with its data table), and per user, over the page's date range in the browser's time zone.
// Loaded on its own: a failure here leaves the call analytics on the page.
import { useCallback } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Card } from '../../components/Card.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { Table, td } from '../../components/Table.tsx';
import { api } from '../../lib/api.ts';
import { formatDuration } from '../../lib/format.ts';
import { useLoad } from '../../lib/load.ts';
import { type BarDatum, type BarSeries, ChartFigure } from './BarChart.tsx';
import { longDay, rangeText, shortDay } from './dates.ts';

const SERIES: BarSeries[] = [
  { name: 'Minutes', fillClass: 'fill-emerald-500', swatchClass: 'bg-emerald-500' },
];
const count = new Intl.NumberFormat();
const minutes = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const sessionsText = (n: number) => `${count.format(n)} session${n === 1 ? '' : 's'}`;

export function VoiceSessionStats({ from, to, tz }: { from: string; to: string; tz: string }) {
  const { data, error } = useLoad(
    useCallback(
      (signal: AbortSignal) =>
        api.get('/api/analytics/voice-sessions', {
          query: { from: from || undefined, to: to || undefined, tz },
          signal,
        }),
      [from, to, tz],
    ),
  );

  if (error) {
    return (
      <Alert tone="error" title="Could not load voice sessions">
        {error}
      </Alert>
    );
  }
  if (!data) return <Loading label="Loading voice sessions…" />;

  const range = rangeText(data.from, data.to);
  const sessions = data.days.reduce((n, d) => n + d.sessions, 0);
  const total = data.days.reduce((n, d) => n + d.total_duration_seconds, 0);
  const bars: BarDatum[] = data.days.map((d) => ({
    key: d.date,
    label: longDay(d.date),
    tick: shortDay(d.date),
    values: [d.minutes],
    title: `${longDay(d.date)}: ${sessionsText(d.sessions)}, ${minutes.format(d.minutes)} minutes`,
    extra: [count.format(d.sessions)],
  }));

  return (
    <Card
      title="Voice sessions"
      id="voice-sessions"
      description={`LiveKit sessions that started in the range: ${sessionsText(sessions)}, ${minutes.format(total / 60)} minutes · ${range}`}
    >
      {sessions === 0 ? (
        <p className="text-sm text-slate-500">No voice sessions in this range.</p>
      ) : (
        <div className="space-y-6">
          <ChartFigure
            label={`Voice-session minutes by day, ${range}: ${sessionsText(sessions)}`}
            data={bars}
            series={SERIES}
            categoryHeader="Date"
            extraColumns={['Sessions']}
            emptyText="No minutes in this range (sessions still in progress have none yet)."
          />
          <Table
            caption={`Voice sessions per user, ${range}`}
            columns={[
              'User',
              { label: 'Sessions', className: 'text-right' },
              { label: 'Minutes', className: 'text-right' },
              { label: 'Total duration', className: 'text-right' },
            ]}
          >
            {data.users.map((u) => (
              <tr key={u.user_id}>
                <th
                  scope="row"
                  className={`${td} font-medium ${u.full_name ? 'text-slate-900' : 'font-mono text-xs text-slate-500'}`}
                >
                  {u.full_name ?? u.user_id}
                </th>
                <td className={`${td} text-right tabular-nums`}>{count.format(u.sessions)}</td>
                <td className={`${td} text-right tabular-nums`}>{minutes.format(u.minutes)}</td>
                <td className={`${td} whitespace-nowrap text-right tabular-nums`}>
                  {formatDuration(u.total_duration_seconds)}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      )}
    </Card>
  );
}
