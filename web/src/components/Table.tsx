import type { ReactNode } from 'react';
import { formatDateTime, timeAgo } from '../lib/format.ts';
import { Button } from './Button.tsx';
import { ScrollRegion } from './ScrollRegion.tsx';

/** A column heading: its text, or the text (or an sr-only span) with classes added to `th`. */
export type Column = string | { label: ReactNode; className?: string };

/** The unlabelled last column of a resource table whose rows end in Edit / Delete. */
export const actionsColumn: Column = {
  label: <span className="sr-only">Actions</span>,
  className: 'relative',
};

/**
 * A data table that scrolls sideways inside its card on narrow screens, never the page. The
 * scrolling box is a ScrollRegion named by the caption, which keeps absolutely positioned content
 * (the sr-only column headings) inside it instead of widening the page. Its head is `columns` (one
 * header row) or, for anything else, `head`.
 */
export function Table({
  caption,
  head,
  columns,
  children,
}: {
  caption: string;
  head?: ReactNode;
  columns?: Column[];
  children: ReactNode;
}) {
  return (
    <ScrollRegion label={caption} className="-mx-4 overflow-x-auto sm:-mx-6">
      <table className="min-w-full divide-y divide-slate-200 text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50 text-xs font-semibold uppercase tracking-wide text-slate-500">
          {columns ? (
            <tr>
              {columns.map((c, i) => {
                const { label, className } = typeof c === 'string' ? { label: c } : c;
                return (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list, never reordered
                  <th key={i} scope="col" className={className ? `${th} ${className}` : th}>
                    {label}
                  </th>
                );
              })}
            </tr>
          ) : (
            head
          )}
        </thead>
        <tbody className="divide-y divide-slate-100 bg-white">{children}</tbody>
      </table>
    </ScrollRegion>
  );
}

export const th = 'whitespace-nowrap px-4 py-2.5 first:pl-4 sm:first:pl-6 last:pr-4 sm:last:pr-6';
export const td = 'px-4 py-3 align-middle first:pl-4 sm:first:pl-6 last:pr-4 sm:last:pr-6';

/** A row's last change as "3 min ago", the exact time on hover. */
export function UpdatedCell({ at }: { at: string }) {
  return (
    <td className={`${td} whitespace-nowrap text-slate-500`}>
      <time dateTime={at} title={formatDateTime(at)}>
        {timeAgo(at)}
      </time>
    </td>
  );
}

/** A moment as a <time> in the user's locale, or "—" when there is none (not yet, never). */
export function DateTimeText({ at }: { at: string | null }) {
  return at ? <time dateTime={at}>{formatDateTime(at)}</time> : '—';
}

/**
 * A row's one action (delete, revoke, cancel, deactivate) in its last cell, named for the row
 * (`name`, e.g. "Revoke invitation for ann@example.com"); without `show` the cell stays empty.
 */
export function RowActionCell({
  label,
  name,
  onClick,
  loading,
  show = true,
}: {
  label: string;
  name: string;
  onClick: () => void;
  loading?: boolean;
  show?: boolean;
}) {
  return (
    <td className={`${td} text-right`}>
      {show && (
        <Button variant="ghost" size="sm" loading={loading} onClick={onClick} aria-label={name}>
          {label}
        </Button>
      )}
    </td>
  );
}
