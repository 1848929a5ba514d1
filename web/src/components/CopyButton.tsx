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
