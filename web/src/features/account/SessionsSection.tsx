// Where you are logged in: every live session with its device, "this device" marked; revoke
// any other one, log out here, or log out everywhere.
import { useEffect, useRef, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Badge, Card } from '../../components/Card.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { api, errorMessage, type ResponseOf } from '../../lib/api.ts';
import { deviceName, formatDateTime, timeAgo } from '../../lib/format.ts';
import { useLoad } from '../../lib/load.ts';
import { useNavigate } from '../../lib/router.tsx';
import { useSession } from '../../lib/session.tsx';
import { useToast } from '../../lib/toast.tsx';

type Session = ResponseOf<'/api/auth/sessions', 'get'>['items'][number];

/** This device first, then the most recently used. */
async function loadSessions(): Promise<Session[]> {
  const r = await api.get('/api/auth/sessions');
  return [...r.items].sort(
    (a, b) => Number(b.current) - Number(a.current) || b.last_used_at.localeCompare(a.last_used_at),
  );
}

export function SessionsSection({ version }: { version: number }) {
  const session = useSession();
  const toast = useToast();
  const navigate = useNavigate();
  const { data: items, error, reload } = useLoad(loadSessions);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);
  const [leaving, setLeaving] = useState<'here' | 'everywhere' | null>(null);

  // A change elsewhere on the page (password, two-factor) may have ended sessions: load them again.
  const shownFor = useRef(version);
  useEffect(() => {
    if (shownFor.current === version) return;
    shownFor.current = version;
    void reload();
  }, [version, reload]);

  async function revoke(s: Session) {
    setRevoking(s.id);
    try {
      await api.delete('/api/auth/sessions/{id}', { params: { id: s.id } });
      toast.success(`Logged out ${deviceName(s.user_agent)}.`);
      await reload();
    } catch (err) {
      toast.error(errorMessage(err));
    } finally {
      setRevoking(null);
    }
  }

  async function leave(everywhere: boolean) {
    setLeaving(everywhere ? 'everywhere' : 'here');
    await session.logout({ everywhere });
    toast.success(everywhere ? 'You are logged out on every device.' : 'You are logged out.');
    navigate('/login', { replace: true });
  }

  return (
    <Card
      id="sessions"
      title="Sessions and devices"
      description="Where your account is logged in right now."
      footer={
        <>
          <Button
            variant="secondary"
            loading={leaving === 'here'}
            onClick={() => void leave(false)}
          >
            Log out
          </Button>
          <Button variant="danger" onClick={() => setConfirmAll(true)}>
            Log out everywhere
          </Button>
        </>
      }
    >
      {error ? (
        <Alert tone="error">{error}</Alert>
      ) : !items ? (
        <Loading label="Loading sessions…" />
      ) : (
        <ul aria-label="Sessions" className="-my-3 divide-y divide-slate-100">
          {items.map((s) => {
            const name = deviceName(s.user_agent);
            return (
              <li key={s.id} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center">
                <div className="min-w-0 flex-1">
                  <p
                    className="flex flex-wrap items-center gap-2 font-medium text-slate-900"
                    title={s.user_agent ?? undefined}
                  >
                    {name}
                    {s.current && <Badge tone="indigo">This device</Badge>}
                  </p>
                  <p className="text-xs text-slate-500">
                    {s.ip ?? 'Unknown IP'} · signed in {formatDateTime(s.created_at)} · active{' '}
                    {timeAgo(s.last_used_at)}
                  </p>
                </div>
                {!s.current && (
                  <Button
                    variant="secondary"
                    size="sm"
                    loading={revoking === s.id}
                    onClick={() => void revoke(s)}
                    aria-label={`Revoke session on ${name}, signed in ${formatDateTime(s.created_at)}`}
                  >
                    Revoke
                  </Button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <ConfirmDialog
        open={confirmAll}
        title="Log out everywhere?"
        confirmLabel="Log out everywhere"
        busy={leaving === 'everywhere'}
        onConfirm={() => void leave(true)}
        onClose={() => setConfirmAll(false)}
      >
        Every session of your account ends, including this one. You will need to log in again.
      </ConfirmDialog>
    </Card>
  );
}
