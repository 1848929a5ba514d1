// What every resource list repeats: its search form and filters, its body (an error, a spinner, an empty state or the rows),
// "Load more" under a cursor-paged list, a row's Edit / Delete pair (named for the row, so each
// button is unambiguous to assistive technology) and the confirmed delete behind it.
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { type DraftFilters, submitFilters } from '../lib/filters.ts';
import { type Page, type PagedList, useEditDialog, usePagedList } from '../lib/paged-list.ts';
import { useToast } from '../lib/toast.tsx';
import { Alert } from './Alert.tsx';
import { Button } from './Button.tsx';
import { EmptyState } from './Card.tsx';
import { useConfirmedAction } from './Dialog.tsx';
import { SelectField, TextField } from './Field.tsx';
import { Loading } from './Spinner.tsx';

/** The load error, else a spinner until the rows arrive, else `empty` or the rows. */
export function ListBody<T>({
  list,
  loading,
  empty,
  children,
}: {
  list: { items: T[] | null; loadError: string | null };
  /** The spinner's label, e.g. "Loading prompts…". */
  loading: string;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  if (list.loadError) return <Alert tone="error">{list.loadError}</Alert>;
  if (!list.items) return <Loading label={loading} />;
  return list.items.length === 0 ? empty : children(list.items);
}

/**
 * A resource list with no rows: under a search or filter it only says nothing matches; otherwise it
 * says what the resource is for and offers to create the first one.
 */
export function ListEmpty({
  filtered,
  filteredTitle,
  title,
  createLabel,
  onCreate,
  children,
}: {
  filtered: boolean;
  filteredTitle: string;
  title: string;
  createLabel: string;
  onCreate: () => void;
  children: ReactNode;
}) {
  return (
    <EmptyState
      title={filtered ? filteredTitle : title}
      action={!filtered && <Button onClick={onCreate}>{createLabel}</Button>}
    >
      {!filtered && children}
    </EmptyState>
  );
}

/**
 * "Load more" under a cursor-paged list. The button goes once the last page is in, and if it had
 * the keyboard focus then (it was just pressed), the focus would fall to the page's body and the
 * reader back to the top. So after a load the user asked for, `end` takes the button's place: a
 * note that says the list is complete and takes the focus the button held.
 */
export function LoadMore({
  list,
  label = 'Load more',
  end = 'That is the whole list.',
  size,
  className = 'mt-5',
}: {
  list: Pick<PagedList<unknown>, 'items' | 'hasMore' | 'loadingMore' | 'loadMore'>;
  label?: string;
  /** What replaces the button once the user has loaded the last page. */
  end?: string;
  size?: 'sm' | 'md';
  /** Spacing of the row, e.g. "mt-5" under a list or "mb-4" above a thread. */
  className?: string;
}) {
  const [pressed, setPressed] = useState(false);
  // Set while the button has the focus and its load is under way; cleared once handled.
  const keepFocus = useRef(false);
  const note = useRef<HTMLParagraphElement>(null);
  const { items, hasMore, loadingMore } = list;
  // A list loaded afresh (other filters) starts again with its button.
  if (items === null && pressed) setPressed(false);
  useEffect(() => {
    if (loadingMore || !keepFocus.current) return;
    keepFocus.current = false;
    // Only when the focus went with the button, not if the user has moved it since.
    const lost = !document.activeElement || document.activeElement === document.body;
    if (!hasMore && lost) note.current?.focus();
  }, [hasMore, loadingMore]);

  if (!hasMore) {
    return pressed && items !== null ? (
      <p
        ref={note}
        tabIndex={-1}
        className={`${className} text-center text-sm text-slate-500 focus:outline-none`}
      >
        {end}
      </p>
    ) : null;
  }
  return (
    <div className={`${className} flex justify-center`}>
      <Button
        variant="secondary"
        size={size}
        loading={loadingMore}
        onClick={(e) => {
          keepFocus.current = document.activeElement === e.currentTarget;
          setPressed(true);
          void list.loadMore();
        }}
      >
        {label}
      </Button>
    </div>
  );
}

/** A row's Edit (opens the page's dialog on it) and Delete (asks first). */
export function RowActions<T>({
  name,
  row,
  resource,
}: {
  /** The row as the buttons name it, e.g. "Edit Support line". */
  name: string;
  row: T;
  resource: { edit(row: T): void; deleteRow: { ask(row: T): void } };
}) {
  return (
    <div className="flex shrink-0 justify-end gap-2">
      <Button
        variant="secondary"
        size="sm"
        onClick={() => resource.edit(row)}
        aria-label={`Edit ${name}`}
      >
        Edit
      </Button>
      <Button
        variant="ghost"
        size="sm"
        onClick={() => resource.deleteRow.ask(row)}
        aria-label={`Delete ${name}`}
      >
        Delete
      </Button>
    </div>
  );
}

interface DeleteRowOptions<T> {
  remove: (row: T) => Promise<unknown>;
  setItems: (update: (rows: T[] | null) => T[] | null) => void;
  title: (row: T) => string;
  confirmLabel: string;
  /** The toast once deleted. */
  deleted: (row: T) => string;
  warning: ReactNode;
}

/**
 * A row's Delete: `ask(row)` opens a confirmation; confirmed, the server deletes the row and only
 * then does it leave the list (a failure is a toast, and the row stays). Render `dialog` once.
 */
export function useDeleteRow<T extends { id: string }>({
  remove,
  setItems,
  deleted,
  ...confirm
}: DeleteRowOptions<T>): { ask: (row: T) => void; dialog: ReactNode } {
  const toast = useToast();
  return useConfirmedAction<T>({
    ...confirm,
    act: async (r) => {
      await remove(r);
      setItems((all) => all?.filter((x) => x.id !== r.id) ?? null);
      toast.success(deleted(r));
    },
  });
}

/**
 * A list's search form: the text applies (trimmed) when the form is sent, not as it is typed;
 * `children` are its other filters, placed between the text and the button.
 */
export function SearchForm({
  label,
  placeholder,
  maxLength,
  onSearch,
  className,
  fieldClassName,
  buttonClassName,
  children,
}: {
  label: string;
  placeholder: string;
  maxLength?: number;
  onSearch: (text: string) => void;
  className: string;
  fieldClassName?: string;
  buttonClassName?: string;
  children?: ReactNode;
}) {
  const [query, setQuery] = useState('');
  return (
    <search className="mb-5 block">
      <form
        className={className}
        onSubmit={(e) => {
          e.preventDefault();
          onSearch(query.trim());
        }}
      >
        <TextField
          label={label}
          type="search"
          name="q"
          maxLength={maxLength}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          className={fieldClassName}
          placeholder={placeholder}
        />
        {children}
        <Button type="submit" variant="secondary" className={buttonClassName}>
          Search
        </Button>
      </form>
    </search>
  );
}

/**
 * A log's filter form: `children` are its fields, bound to `filters.draft`; "Apply filters" applies
 * the draft (`tidy` first, e.g. trimmed) and "Clear", offered while the log is filtered, goes back
 * to the whole log (and leaves the focus on the form's first field).
 */
export function FilterForm<F>({
  label,
  filters,
  tidy = (draft) => draft,
  children,
}: {
  /** The form's accessible name, e.g. "Filter calls". */
  label: string;
  filters: DraftFilters<F>;
  tidy?: (draft: F) => F;
  children: ReactNode;
}) {
  return (
    <search className="mb-5 block">
      <form
        aria-label={label}
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => submitFilters(e, filters, tidy)}
      >
        {children}
        <div className="flex gap-2">
          <Button type="submit" variant="secondary">
            Apply filters
          </Button>
          {filters.filtered && (
            <Button
              variant="ghost"
              onClick={(e) => {
                // Clear goes with the filters: the focus goes first to the form's first field
                // rather than down to the page's body with the button.
                e.currentTarget.form
                  ?.querySelector<HTMLElement>('input:not([type=hidden]), select, textarea')
                  ?.focus();
                filters.clear();
              }}
            >
              Clear
            </Button>
          )}
        </div>
      </form>
    </search>
  );
}

/**
 * A filtered log's rows (`children`) and its "Load more". With no rows it says that nothing matches
 * the filters or, unfiltered, that there are no `noun` yet and `emptyHint`.
 */
export function FilteredListBody<T>({
  log: { list, filters },
  noun,
  emptyHint,
  children,
}: {
  log: { list: PagedList<T>; filters: { filtered: boolean } };
  /** Plural and lower case, e.g. "calls". */
  noun: string;
  emptyHint: string;
  children: (items: T[]) => ReactNode;
}) {
  return (
    <>
      <ListBody
        list={list}
        loading={`Loading ${noun}…`}
        empty={
          <EmptyState
            title={filters.filtered ? `No ${noun} match these filters` : `No ${noun} yet`}
          >
            {!filters.filtered && emptyHint}
          </EmptyState>
        }
      >
        {children}
      </ListBody>
      <LoadMore list={list} />
    </>
  );
}

const DAY_RANGE = [
  ['since', 'From date'],
  ['until', 'To date'],
] as const;

/** A log's "From date" / "To date" filter: local days (yyyy-mm-dd), both inclusive. */
export function DayRangeFields({
  filters,
}: {
  filters: Pick<DraftFilters<{ since: string; until: string }>, 'field' | 'errors'>;
}) {
  return (
    <>
      {DAY_RANGE.map(([name, label]) => (
        <TextField
          key={name}
          label={label}
          className="w-40"
          name={name}
          type="date"
          {...filters.field(name)}
          error={filters.errors[name]}
        />
      ))}
    </>
  );
}

/** A log's status filter: every status by its label, or all ('') of them. */
export function StatusFilterField<S extends string>({
  statuses,
  filters,
  className,
}: {
  statuses: Record<S, { label: string }>;
  filters: Pick<DraftFilters<{ status: S | '' }>, 'field'>;
  className: string;
}) {
  return (
    <SelectField label="Status" className={className} name="status" {...filters.field('status')}>
      <option value="">All statuses</option>
      {(Object.keys(statuses) as S[]).map((s) => (
        <option key={s} value={s}>
          {statuses[s].label}
        </option>
      ))}
    </SelectField>
  );
}

/** The active / inactive filter of phones and agents ('' is both). */
export type ActiveFilter = '' | 'true' | 'false';

export function ActiveFilterField({
  value,
  onChange,
  className,
}: {
  value: ActiveFilter;
  onChange: (value: ActiveFilter) => void;
  className?: string;
}) {
  return (
    <SelectField
      label="Filter by status"
      name="active"
      value={value}
      onChange={(e) => onChange(e.target.value as ActiveFilter)}
      className={className}
    >
      <option value="">All</option>
      <option value="true">Active</option>
      <option value="false">Inactive</option>
    </SelectField>
  );
}

/**
 * A resource list page's state: the cursor-paged rows (a failed "load more" is a toast), its
 * create/edit dialog and its confirmed delete. What they say names the row the one way: `noun`
 * and `nameOf` give `Prompt "Support" created.`, `Delete "Support"?`, `Prompt "Support" deleted.`
 */
export function useResourceList<T extends { id: string }>({
  fetchPage,
  noun,
  nameOf,
  createdWord = 'created',
  remove,
  confirmLabel,
  warning,
}: {
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>;
  /** Capitalised, e.g. "Messaging agent". */
  noun: string;
  /** The row in a sentence, e.g. `"Support"` (quoted) or a phone number as it is. */
  nameOf: (row: T) => string;
  createdWord?: 'created' | 'added';
} & Pick<DeleteRowOptions<T>, 'remove' | 'confirmLabel' | 'warning'>) {
  const toast = useToast();
  const list = usePagedList(fetchPage, toast.error);
  const edit = useEditDialog<T>(
    list.setItems,
    (row, created) => `${noun} ${nameOf(row)} ${created ? createdWord : 'saved'}.`,
  );
  const deleteRow = useDeleteRow<T>({
    remove,
    setItems: list.setItems,
    title: (row) => `Delete ${nameOf(row)}?`,
    confirmLabel,
    deleted: (row) => `${noun} ${nameOf(row)} deleted.`,
    warning,
  });
  return { list, ...edit, deleteRow };
}

export type ResourceList<T extends { id: string }> = ReturnType<typeof useResourceList<T>>;
