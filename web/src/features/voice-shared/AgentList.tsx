// What both agent lists (voice and messaging) share: their rows, fetched and deleted under the
// kind's path, and their search form: a part of the name, the phone (over the phones the page has
// looked up) and active or not, plus any filter of the kind's own.
import { type ReactNode, useCallback, useMemo, useState } from 'react';
import { SelectField } from '../../components/Field.tsx';
import {
  type ActiveFilter,
  ActiveFilterField,
  SearchForm,
  useResourceList,
} from '../../components/ListActions.tsx';
import { request } from '../../lib/api.ts';
import type { Page } from '../../lib/paged-list.ts';
import type { AgentPath } from './AgentFormBody.tsx';
import { type PhoneOption, phoneText } from './voice-lookups.ts';

const PAGE = 20;

/**
 * The agents under `path` (a kind's collection) matching `query` (memoised), with the list page's
 * edit dialog and delete. `noun` names an agent in the toasts ("Agent", "Messaging agent"); the
 * delete asks with `confirmLabel` and `warning`.
 */
export function useAgentList<T extends { id: string; name: string }>(
  path: AgentPath,
  query: object,
  deleting: { noun: string; confirmLabel: string; warning: string },
) {
  // One cast for the two kinds: both answer a page of their rows (`T`, as the page names them) and
  // delete under `{path}/{id}`.
  return useResourceList<T>({
    fetchPage: useCallback(
      (cursor: string | undefined) =>
        request('get', path, {
          query: { limit: PAGE, cursor, ...query },
        } as never) as unknown as Promise<Page<T>>,
      [path, query],
    ),
    nameOf: (a) => `"${a.name}"`,
    remove: (a) =>
      request('delete', `${path}/{id}` as `${AgentPath}/{id}`, { params: { id: a.id } } as never),
    ...deleting,
  });
}

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
