import { useId } from 'react';
import { useToast } from '../lib/toast.tsx';
import { Button, type ButtonProps } from './Button.tsx';

/** Copies text to the clipboard and says so. */
export function CopyButton({
  text,
  label = 'Copy',
  what = 'Copied',
  ...rest
}: { text: string; label?: string; what?: string } & Omit<ButtonProps, 'onClick'>) {
  const toast = useToast();
  return (
    <Button
      variant="secondary"
      size="sm"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast.success(`${what} to the clipboard`);
        } catch {
          toast.error('The browser did not allow copying; select the text and copy it by hand.');
        }
      }}
      {...rest}
    >
      {label}
    </Button>
  );
}

/**
 * A secret shown to be copied (an API key, an authenticator key) under its label (`labelClassName`
 * "sr-only" where the text around it already says what it is): read-only, all of it selected on
 * focus, and a Copy button beside it.
 */
export function CopyableSecret({
  label,
  labelClassName = 'block text-sm font-medium text-slate-800',
  value,
  what,
  className,
  inputClassName = '',
}: {
  label: string;
  labelClassName?: string;
  value: string;
  /** The toast's subject, e.g. "API key copied". */
  what: string;
  className: string;
  inputClassName?: string;
}) {
  const id = useId();
  return (
    <>
      <label htmlFor={id} className={labelClassName}>
        {label}
      </label>
      <div className={className}>
        <input
          id={id}
          readOnly
          value={value}
          onFocus={(e) => e.currentTarget.select()}
          className={`block w-full rounded-md border-0 bg-slate-50 px-3 py-2 font-mono text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-indigo-600 focus:outline-hidden ${inputClassName}`}
        />
        <CopyButton text={value} label="Copy key" what={what} />
      </div>
    </>
  );
}
