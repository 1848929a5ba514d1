// The search form of both agent lists (voice and messaging): a part of the name, the phone (over
// the phones the page has looked up) and active or not, plus any filter of the kind's own.
import { type ReactNode, useMemo, useState } from 'react';
import { SelectField } from '../../components/Field.tsx';
import { type ActiveFilter, ActiveFilterField, SearchForm } from '../../components/ListActions.tsx';
import { type PhoneOption, phoneText } from './voice-lookups.ts';

/** The filters both agent lists share, and their part of the list's query. */
export function useAgentFilters() {
  const [search, setSearch] = useState('');
  const [phone, setPhone] = useState('');
  const [active, setActive] = useState<ActiveFilter>('');
  const query = useMemo(
    () => ({
      q: search || undefined,
      phone_id: phone || undefined,
      active: active === '' ? undefined : active === 'true',
    }),
    [search, phone, active],
  );
  return {
    setSearch,
    phone,
    setPhone,
    active,
    setActive,
    query,
    filtered: search !== '' || phone !== '' || active !== '',
  };
}

export type AgentFilters = ReturnType<typeof useAgentFilters>;

function PhoneFilterField({
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

/** `children` are the kind's own filters, placed after the name. */
export function AgentSearchForm({
  label,
  filters,
  phones,
  children,
}: {
  label: string;
  filters: AgentFilters;
  phones: PhoneOption[] | null;
  children?: ReactNode;
}) {
  return (
    <SearchForm
      label={label}
      placeholder="Part of the name"
      maxLength={200}
      onSearch={filters.setSearch}
      className={
        children
          ? 'grid gap-3 sm:grid-cols-2 lg:grid-cols-[minmax(0,2fr)_repeat(3,minmax(0,1fr))_auto] lg:items-end'
          : 'grid gap-3 sm:grid-cols-2 lg:grid-cols-[minmax(0,2fr)_repeat(2,minmax(0,1fr))_auto] lg:items-end'
      }
      buttonClassName="self-end"
    >
      {children}
      <PhoneFilterField phones={phones} value={filters.phone} onChange={filters.setPhone} />
      <ActiveFilterField value={filters.active} onChange={filters.setActive} />
    </SearchForm>
  );
}
