// The overview's usage card: the org's live calls, voice sessions and device sockets right now,
// and the scheduled calls placed today, each against the org's concurrency quota. Refreshed every
// 15 seconds. Owners and admins lower the limits with PUT /api/orgs/current/quotas.
import { useCallback, useId } from 'react';
import { Card } from '../../components/Card.tsx';
import { RefreshedBody } from '../../components/RefreshedBody.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useLoad } from '../../lib/load.ts';

type Usage = ResponseOf<'/api/orgs/current/usage', 'get'>;

const REFRESH_MS = 15_000;

function Meter({
  label,
  live,
  limit,
  note,
}: {
  label: string;
  live: number;
  limit: number;
  note?: string;
}) {
  const share = limit > 0 ? Math.min(1, live / limit) : 1;
  const tone = share >= 1 ? 'bg-red-500' : share >= 0.8 ? 'bg-amber-500' : 'bg-indigo-500';
  const labelId = useId();
  return (
    <li>
      <p className="flex items-baseline justify-between gap-2 text-sm">
        <span id={labelId} className="text-slate-500">
          {label}
        </span>
        <span className="font-medium text-slate-900 tabular-nums">
          {live} <span className="text-slate-500">/ {limit}</span>
        </span>
      </p>
      {/* The native meter for assistive technology, named by the label; the bar below is what the
          eye reads. */}
      <meter className="sr-only" aria-labelledby={labelId} min={0} max={limit} value={live}>
        {live} of {limit}
      </meter>
      <div aria-hidden="true" className="mt-2 h-2 overflow-hidden rounded-full bg-slate-100">
        <div className={`h-full ${tone}`} style={{ width: `${Math.round(share * 100)}%` }} />
      </div>
      {note && <p className="mt-1 text-xs text-slate-500">{note}</p>}
    </li>
  );
}

export function UsageCard() {
  const usage = useLoad<Usage>(
    useCallback((signal) => api.get('/api/orgs/current/usage', { signal }), []),
    { everyMs: REFRESH_MS },
  );
  return (
    <Card
      id="usage"
      title="Usage"
      description="What your organization holds right now, against its limits."
    >
      <RefreshedBody loaded={usage} loading="Loading usage…">
        {(data) => (
          <ul className="grid gap-5 sm:grid-cols-2 lg:grid-cols-4">
            <Meter
              label="Live calls"
              live={data.live_calls.live}
              limit={data.live_calls.limit}
              note={
                data.live_calls.inbound_reserved > 0
                  ? `${data.live_calls.inbound_reserved} kept for incoming calls`
                  : undefined
              }
            />
            <Meter
              label="Voice sessions"
              live={data.voice_sessions.live}
              limit={data.voice_sessions.limit}
            />
            <Meter
              label="Device streams"
              live={data.device_sockets.live}
              limit={data.device_sockets.limit}
            />
            <Meter
              label="Scheduled calls today"
              live={data.scheduled_calls_per_day.live}
              limit={data.scheduled_calls_per_day.limit}
              note={`Starts again ${formatDateTime(data.scheduled_calls_per_day.resets_at)}`}
            />
          </ul>
        )}
      </RefreshedBody>
    </Card>
  );
}
