import type { FormEvent, ReactNode } from 'react';
import type { FormAction } from '../lib/forms.ts';
import { Alert } from './Alert.tsx';
import { Button } from './Button.tsx';

/** A titled panel; `id` lets the heading name the region for assistive technology. */
export function Card({
  title,
  description,
  actions,
  children,
  footer,
  id,
}: {
  title?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  children?: ReactNode;
  footer?: ReactNode;
  id?: string;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section
      aria-labelledby={title ? headingId : undefined}
      className="overflow-hidden rounded-xl bg-white shadow-sm ring-1 ring-slate-200"
    >
      {(title || actions) && (
        <div className="flex flex-col gap-3 border-b border-slate-100 px-4 py-4 sm:flex-row sm:items-start sm:justify-between sm:px-6">
          <div>
            {title && (
              <h2 id={headingId} className="text-base font-semibold text-slate-900">
                {title}
              </h2>
            )}
            {description && <p className="mt-1 text-sm text-slate-500">{description}</p>}
          </div>
          {actions && <div className="flex shrink-0 flex-wrap gap-2">{actions}</div>}
        </div>
      )}
      {children !== undefined && <div className="px-4 py-5 sm:px-6">{children}</div>}
      {footer && (
        <div className="flex flex-wrap justify-end gap-2 border-t border-slate-100 bg-slate-50 px-4 py-3 sm:px-6">
          {footer}
        </div>
      )}
    </section>
  );
}

/**
 * A card that is a form (settings, a password): the form-wide error above the fields, and the
 * submit in the footer, busy while the form is sent (`danger` for one that cuts something off).
 * `className` lays out the fields.
 */
export function FormCard({
  id,
  title,
  description,
  form,
  onSubmit,
  submit,
  danger,
  className,
  children,
}: {
  id: string;
  title: ReactNode;
  description?: ReactNode;
  form: Pick<FormAction, 'busy' | 'formError'>;
  onSubmit: (e: FormEvent) => void;
  submit: ReactNode;
  danger?: boolean;
  className: string;
  children: ReactNode;
}) {
  return (
    <form noValidate onSubmit={onSubmit}>
      <Card
        id={id}
        title={title}
        description={description}
        footer={
          <Button type="submit" variant={danger ? 'danger' : 'primary'} loading={form.busy}>
            {submit}
          </Button>
        }
      >
        <div className={className}>
          {form.formError && <Alert tone="error">{form.formError}</Alert>}
          {children}
        </div>
      </Card>
    </form>
  );
}

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="mb-6 flex flex-col gap-4 sm:flex-row sm:items-end sm:justify-between">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
        {description && <p className="mt-1 max-w-2xl text-sm text-slate-500">{description}</p>}
      </div>
      {actions && <div className="flex shrink-0 flex-wrap gap-2">{actions}</div>}
    </div>
  );
}

export function EmptyState({
  title,
  children,
  action,
}: {
  title: ReactNode;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 px-6 py-10 text-center">
      <p className="text-sm font-semibold text-slate-900">{title}</p>
      {children && <div className="mt-1 text-sm text-slate-500">{children}</div>}
      {action && <div className="mt-4 flex justify-center">{action}</div>}
    </div>
  );
}

const BADGE_TONES = {
  gray: 'bg-slate-100 text-slate-700 ring-slate-500/20',
  indigo: 'bg-indigo-50 text-indigo-700 ring-indigo-600/20',
  green: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20',
  amber: 'bg-amber-50 text-amber-800 ring-amber-600/20',
  red: 'bg-red-50 text-red-700 ring-red-600/20',
} as const;

export type Tone = keyof typeof BADGE_TONES;

export function Badge({
  tone = 'gray',
  children,
}: {
  tone?: keyof typeof BADGE_TONES;
  children: ReactNode;
}) {
  return (
    <span
      className={`inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${BADGE_TONES[tone]}`}
    >
      {children}
    </span>
  );
}

/** An active / inactive resource (phone, agent). */
export function ActiveBadge({ active }: { active: boolean }) {
  return active ? <Badge tone="green">Active</Badge> : <Badge tone="gray">Inactive</Badge>;
}

/** A status by its label and tone in `statuses`; one the dashboard does not know shows as it is, gray. */
export function StatusBadge<S extends string>({
  status,
  statuses,
}: {
  status: S;
  statuses: Record<S, { label: string; tone: Tone }>;
}) {
  const known = statuses[status] as { label: string; tone: Tone } | undefined;
  return <Badge tone={known?.tone ?? 'gray'}>{known?.label ?? status}</Badge>;
}
