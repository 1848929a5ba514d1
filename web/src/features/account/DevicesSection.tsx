// Audio devices: every device that streamed as you in this org (GET /api/devices) with its
// client id, codec and when it was first and last seen; revoke one to close its live sockets and
// refuse it from then on (a revoked device stays revoked).
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState } from '../../components/Card.tsx';
import { useConfirmedAction } from '../../components/Dialog.tsx';
import { ListBody, LoadMore } from '../../components/ListActions.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { formatDateTime, timeAgo } from '../../lib/format.ts';
import { usePagedList } from '../../lib/paged-list.ts';
import { useToast } from '../../lib/toast.tsx';

type Device = ResponseOf<'/api/devices', 'get'>['items'][number];

const CODEC_LABEL: Record<Device['codec'], string> = { opus: 'Opus', pcm: 'PCM' };

const listDevices = (cursor: string | undefined) => api.get('/api/devices', { query: { cursor } });

export function DevicesSection() {
  const toast = useToast();
  const devices = usePagedList(listDevices, toast.error);
  const revoke = useConfirmedAction<Device>({
    act: async (d) => {
      await api.delete('/api/devices/{client_id}', { params: { client_id: d.client_id } });
      toast.success(`Revoked ${d.name}. Its connections were closed.`);
    },
    afterwards: async () => devices.reload(),
    title: (d) => `Revoke ${d.name}?`,
    confirmLabel: 'Revoke device',
    warning:
      'Its open connections close now and it cannot connect again. A revoked device stays revoked.',
  });

  return (
    <Card
      id="devices"
      title="Audio devices"
      description="Devices that streamed audio as you in this organization."
    >
      <ListBody
        list={devices}
        loading="Loading devices…"
        empty={
          <EmptyState title="No audio devices yet">
            A device appears here once it connects to <code>/ws</code> or <code>/ws_pcm</code>.
          </EmptyState>
        }
      >
        {(items) => (
          <ul aria-label="Audio devices" className="-my-3 divide-y divide-slate-100">
            {items.map((d) => (
              <li
                key={d.client_id}
                className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center"
              >
                <div className="min-w-0 flex-1">
                  <p className="flex flex-wrap items-center gap-2 font-medium text-slate-900">
                    {d.name}
                    <Badge>{CODEC_LABEL[d.codec]}</Badge>
                    {d.revoked_at && <Badge tone="red">Revoked</Badge>}
                  </p>
                  <p className="text-xs text-slate-500">
                    <span className="font-mono">{d.client_id}</span> · first seen{' '}
                    {formatDateTime(d.first_seen_at)} · last seen {timeAgo(d.last_seen_at)}
                    {d.revoked_at && <> · revoked {formatDateTime(d.revoked_at)}</>}
                  </p>
                </div>
                {!d.revoked_at && (
                  <Button
                    variant="secondary"
                    size="sm"
                    onClick={() => revoke.ask(d)}
                    aria-label={`Revoke device ${d.client_id}`}
                  >
                    Revoke
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </ListBody>
      <LoadMore list={devices} />
      {revoke.dialog}
    </Card>
  );
}
