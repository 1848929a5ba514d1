// Why an org is suspended, locked down or resumed: required, at most 500 characters like the
// server's schema; the audit log keeps it.
import { TextAreaField, TextField } from '../../components/Field.tsx';
import type { FieldInput } from '../../lib/forms.ts';

export function ReasonField({
  input,
  multiline = false,
  hint,
  className,
}: {
  /** `useFormField(form, 'reason').input` */
  input: FieldInput;
  multiline?: boolean;
  hint?: string;
  className?: string;
}) {
  const props = { label: 'Reason', required: true, maxLength: 500, hint, className, ...input };
  return multiline ? <TextAreaField {...props} /> : <TextField {...props} />;
}
