// The org's audit log: who did what, when, from where — filtered and paged (newest first).
import { type FormEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Alert } from '../../components/Alert.tsx';
import { Button } from '../../components/Button.tsx';
import { Badge, Card, EmptyState, PageHeader } from '../../components/Card.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { Loading } from '../../components/Spinner.tsx';
import { Table, td } from '../../components/Table.tsx';
import { api, type ResponseOf } from '../../lib/api.ts';
import { useDraftFilters } from '../../lib/filters.ts';
import { deviceName, formatDateTime } from '../../lib/format.ts';
import { allPages, useLoad } from '../../lib/load.ts';

type Entry = ResponseOf<'/api/audit-logs', 'get'>['items'][number];
type Filters = {
  action: string;
  actor: string;
  outcome: '' | 'success' | 'failure';
  from: string;
  to: string;
};

const EMPTY: Filters = { action: '', actor: '', outcome: '', from: '', to: '' };
const PAGE = 25;

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/**
 * The members (page after page, not only the API's largest page, up to 2,000: a bound on the
 * requests one page load makes): names for the actor column.
 */
const everyMember = () =>
  allPages((cursor) => api.get('/api/orgs/current/members', { query: { limit: 100, cursor } }), 20);

export function AuditPage() {
  const {
    draft,
    applied: filters,
    field,
    apply: setFilters,
    clear,
  } = useDraftFilters<Filters>(EMPTY);
  // cursors[i] is the cursor that fetched page i (undefined for the first page).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  // Names for the actor column and filter; the log itself holds only ids.
  const members = useLoad(everyMember).data;
  const people: Record<string, string> = useMemo(
    () => Object.fromEntries((members ?? []).map((m) => [m.user_id, m.full_name ?? m.email])),
    [members],
  );
  const index = cursors.length - 1;
  // Which of Newer / Older was pressed last: it shows the page's loading.
  const [moved, setMoved] = useState<'newer' | 'older' | null>(null);
  const pager = useRef<HTMLElement>(null);
  const keepFocus = useRef(false);

  // The page the cursor stack points at, under the applied filters; a 400 names its fields.
  const cursor = cursors[index];
  const fetchPage = useCallback(
    async (signal: AbortSignal) => {
      const r = await api.get('/api/audit-logs', {
        query: {
          limit: PAGE,
          cursor,
          action: filters.action.trim() || undefined,
          actor: filters.actor || undefined,
          outcome: filters.outcome || undefined,
          from: toIso(filters.from),
          to: toIso(filters.to),
        },
        signal,
      });
      return { items: r.items, next: r.next_cursor, cursor, filters };
    },
    [filters, cursor],
  );
  const loaded = useLoad(fetchPage);
  const error = loaded.error;
  // The page asked for, or null while it loads: not the previous one, shown for a render before
  // the load starts (Older would then offer the cursor just followed a second time).
  const { data } = loaded;
  const page = loaded.failure
    ? { items: [] as Entry[], next: null }
    : data && data.cursor === cursor && data.filters === filters
      ? data
      : null;
  const fieldErrors: Record<string, string> =
    (loaded.failure as { fields?: Record<string, string> } | null)?.fields ?? {};
  const atEnd = page !== null && !page.next;

  // The first or last page disables the button that reached it, and a disabled button drops the
  // focus: it goes to the other one instead of to the page's body.
  useEffect(() => {
    if (!page || !keepFocus.current) return;
    keepFocus.current = false;
    // A button just disabled still holds the focus until the browser takes it away.
    const active = document.activeElement;
    const lost = !active || active === document.body || active.matches('#audit-pager :disabled');
    if (lost) pager.current?.querySelector<HTMLButtonElement>('button:not(:disabled)')?.focus();
  }, [page]);

  function move(to: 'newer' | 'older') {
    if (!page) return;
    if (to === 'older' && !page.next) return;
    keepFocus.current = pager.current?.contains(document.activeElement) ?? false;
    setMoved(to);
    setCursors((c) => (to === 'newer' ? c.slice(0, -1) : [...c, page.next ?? undefined]));
  }

  function apply(e: FormEvent) {
    e.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
    setMoved(null);
  }

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every security-relevant event in this organization. Entries cannot be changed or deleted."
      />
      <div className="space-y-6">
        <Card title="Filters" id="audit-filters">
          <form noValidate onSubmit={apply} className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
            <TextField
              className="sm:col-span-2"
              label="Action"
              name="action"
              placeholder="e.g. auth.login or auth.*"
              {...field('action')}
              error={fieldErrors.action}
            />
            <SelectField label="Actor" name="actor" {...field('actor')} error={fieldErrors.actor}>
              <option value="">Anyone</option>
              {Object.entries(people).map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </SelectField>
            <SelectField label="Outcome" name="outcome" {...field('outcome')}>
              <option value="">Any</option>
              <option value="success">Success</option>
              <option value="failure">Failure</option>
            </SelectField>
            <TextField
              label="From"
              type="datetime-local"
              name="from"
              {...field('from')}
              error={fieldErrors.from}
            />
            <TextField
              label="To"
              type="datetime-local"
              name="to"
              {...field('to')}
              error={fieldErrors.to}
            />
            <div className="flex items-end gap-2 sm:col-span-2">
              <Button type="submit">Apply filters</Button>
              <Button
                variant="ghost"
                onClick={() => {
                  clear();
                  setCursors([undefined]);
                  setMoved(null);
                }}
              >
                Clear
              </Button>
            </div>
          </form>
        </Card>
        <Card title="Events" id="audit-events">
          {error && (
            <div className="mb-4">
              <Alert tone="error">{error}</Alert>
            </div>
          )}
          {!page ? (
            <Loading label="Loading the audit log…" />
          ) : page.items.length === 0 ? (
            !error && <EmptyState title="No events match these filters" />
          ) : (
            <Table
              caption="Audit log events"
              columns={[
                'Time',
                'Action',
                'Actor',
                { label: 'Target', className: 'hidden lg:table-cell' },
                'Outcome',
                { label: 'Source', className: 'hidden md:table-cell' },
              ]}
            >
              {page.items.map((a) => (
                <tr key={a.id}>
                  <td className={`${td} whitespace-nowrap text-slate-500`}>
                    {formatDateTime(a.created_at)}
                  </td>
                  <td className={`${td} font-mono text-xs text-slate-900`}>{a.action}</td>
                  <td className={`${td} whitespace-nowrap`}>
                    {a.actor_user_id
                      ? (people[a.actor_user_id] ?? (
                          <span className="font-mono text-xs">{a.actor_user_id.slice(0, 8)}…</span>
                        ))
                      : a.actor_type}
                  </td>
                  <td className={`${td} hidden text-xs text-slate-500 lg:table-cell`}>
                    {a.target_type
                      ? `${a.target_type}${a.target_id ? ` ${people[a.target_id] ?? `${a.target_id.slice(0, 8)}…`}` : ''}`
                      : '—'}
                  </td>
                  <td className={td}>
                    <Badge tone={a.outcome === 'success' ? 'green' : 'red'}>
                      {a.outcome === 'success' ? 'Success' : 'Failure'}
                    </Badge>
                  </td>
                  <td className={`${td} hidden text-xs text-slate-500 md:table-cell`}>
                    <span title={a.user_agent ?? undefined}>
                      {a.ip ?? '—'} · {deviceName(a.user_agent)}
                    </span>
                  </td>
                </tr>
              ))}
            </Table>
          )}
          {/* Disabled only at either end: while a page loads, the pressed button is busy and
              keeps the focus (a disabled one would drop it), and neither acts. */}
          <nav
            ref={pager}
            id="audit-pager"
            aria-label="Audit log pages"
            className="mt-5 flex items-center justify-between gap-2"
          >
            <Button
              variant="secondary"
              disabled={index === 0}
              loading={!page && moved === 'newer'}
              onClick={() => move('newer')}
            >
              Newer
            </Button>
            <span className="text-sm text-slate-500">Page {index + 1}</span>
            <Button
              variant="secondary"
              disabled={atEnd}
              loading={!page && moved === 'older'}
              onClick={() => move('older')}
            >
              Older
            </Button>
          </nav>
        </Card>
      </div>
    </>
  );
}
