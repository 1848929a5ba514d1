import type { ReactNode } from 'react';
import type { ApiError } from '../lib/api.ts';

type Tone = 'info' | 'success' | 'warning' | 'error';

const TONES: Record<Tone, string> = {
  info: 'bg-sky-50 text-sky-900 ring-sky-200',
  success: 'bg-emerald-50 text-emerald-900 ring-emerald-200',
  warning: 'bg-amber-50 text-amber-900 ring-amber-200',
  error: 'bg-red-50 text-red-900 ring-red-200',
};

/** A message box; errors are announced at once (role="alert"). */
export function Alert({
  tone = 'info',
  title,
  children,
  action,
}: {
  tone?: Tone;
  title?: ReactNode;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div
      role={tone === 'error' ? 'alert' : undefined}
      className={`flex flex-col gap-3 rounded-md p-3.5 text-sm ring-1 ring-inset sm:flex-row sm:items-center ${TONES[tone]}`}
    >
      <div className="flex-1">
        {title && <p className="font-semibold">{title}</p>}
        {children && <div className={title ? 'mt-0.5' : ''}>{children}</div>}
      </div>
      {action && <div className="shrink-0">{action}</div>}
    </div>
  );
}

/**
 * A conflict the server reported (409) above a form that stays open: its title, and its detail or,
 * when the detail adds nothing, `hint` (what to do about it). Nothing without a conflict.
 */
export function ConflictAlert({
  conflict,
  hint,
}: {
  conflict: ApiError | null;
  hint: string | undefined;
}) {
  if (!conflict) return null;
  const { title, detail } = conflict.problem;
  return (
    <Alert tone="error" title={title}>
      {detail && detail !== title ? detail : (hint ?? null)}
    </Alert>
  );
}
