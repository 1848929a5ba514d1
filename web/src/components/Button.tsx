import type { ButtonHTMLAttributes } from 'react';
import { Spinner } from './Spinner.tsx';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';

const VARIANTS: Record<Variant, string> = {
  primary:
    'bg-indigo-600 text-white shadow-sm hover:bg-indigo-500 disabled:bg-indigo-300 focus-visible:outline-indigo-600',
  secondary:
    'bg-white text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 disabled:text-slate-400 focus-visible:outline-indigo-600',
  danger:
    'bg-red-600 text-white shadow-sm hover:bg-red-500 disabled:bg-red-300 focus-visible:outline-red-600',
  ghost:
    'text-slate-700 hover:bg-slate-100 hover:text-slate-900 disabled:text-slate-400 focus-visible:outline-indigo-600',
};

export type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: Variant;
  size?: 'sm' | 'md';
  loading?: boolean;
};

export function buttonClass(variant: Variant = 'primary', size: 'sm' | 'md' = 'md'): string {
  const sizing = size === 'sm' ? 'px-2.5 py-1.5 text-xs' : 'px-3.5 py-2 text-sm';
  return `inline-flex shrink-0 items-center justify-center gap-2 whitespace-nowrap rounded-md font-semibold transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-not-allowed aria-disabled:cursor-wait aria-disabled:opacity-70 ${sizing} ${VARIANTS[variant]}`;
}

/**
 * A button; `loading` (its action under way) makes it aria-disabled and deaf to clicks rather than
 * disabled: a disabled button drops the keyboard focus (Chromium moves it to the body), so
 * whoever pressed it would be thrown back to the top of the page.
 */
export function Button({
  variant = 'primary',
  size = 'md',
  loading = false,
  type = 'button',
  className = '',
  disabled,
  onClick,
  children,
  ...rest
}: ButtonProps) {
  return (
    <button
      type={type}
      className={`${buttonClass(variant, size)} ${className}`}
      disabled={disabled}
      aria-disabled={(loading && !disabled) || undefined}
      aria-busy={loading || undefined}
      onClick={(e) => {
        // No second action while one is under way (preventDefault: nor a second form submission).
        if (loading) e.preventDefault();
        else onClick?.(e);
      }}
      {...rest}
    >
      {loading && <Spinner className="size-4" />}
      {children}
    </button>
  );
}
