// The "Filter by phone" select of both agent lists, over the phones the page has looked up.
import { SelectField } from '../../components/Field.tsx';
import { type PhoneOption, phoneText } from './voice-lookups.ts';

export function PhoneFilterField({
  phones,
  value,
  onChange,
}: {
  phones: PhoneOption[] | null;
  value: string;
  onChange: (phoneId: string) => void;
}) {
  return (
    <SelectField
      label="Filter by phone"
      name="phone_id"
      value={value}
      onChange={(e) => onChange(e.target.value)}
    >
      <option value="">All phones</option>
      {(phones ?? []).map((p) => (
        <option key={p.id} value={p.id}>
          {phoneText(p)}
        </option>
      ))}
    </SelectField>
  );
}
