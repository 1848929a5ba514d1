// The page of one resource list (prompts, phones, voice and messaging agents): its header with the
// "New" button, a card holding the search form, the rows (or what to do without any) and "Load
// more", then the create-or-edit dialog and the delete confirmation.
import type { ReactNode } from 'react';
import type { Editing } from '../lib/paged-list.ts';
import { Button } from './Button.tsx';
import { Card, PageHeader } from './Card.tsx';
import { ListBody, ListEmpty, LoadMore, type ResourceList } from './ListActions.tsx';

export function ResourcePage<T extends { id: string }>({
  title,
  description,
  newLabel,
  resource,
  above,
  loading,
  empty,
  dialog,
  children,
}: {
  title: string;
  description: string;
  newLabel: string;
  resource: ResourceList<T>;
  /** What stands above the rows: the search form, and any notice. */
  above: ReactNode;
  /** The spinner's label, e.g. "Loading prompts…". */
  loading: string;
  /** No rows: under a search or filter only that nothing matches, else `about` and a first "New". */
  empty: {
    filtered: boolean;
    filteredTitle: string;
    title: string;
    createLabel: string;
    about: ReactNode;
  };
  /** The create-or-edit dialog, while `editing`. */
  dialog: (props: {
    editing: Editing<T>;
    onClose: () => void;
    onSaved: (row: T, created: boolean) => void;
  }) => ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  const { list, editing, create, close, saved, deleteRow } = resource;
  return (
    <>
      <PageHeader
        title={title}
        description={description}
        actions={<Button onClick={create}>{newLabel}</Button>}
      />
      <Card>
        {above}
        <ListBody
          list={list}
          loading={loading}
          empty={
            <ListEmpty
              filtered={empty.filtered}
              filteredTitle={empty.filteredTitle}
              title={empty.title}
              createLabel={empty.createLabel}
              onCreate={create}
            >
              {empty.about}
            </ListEmpty>
          }
        >
          {children}
        </ListBody>
        <LoadMore list={list} />
      </Card>
      {editing && dialog({ editing, onClose: close, onSaved: saved })}
      {deleteRow.dialog}
    </>
  );
}
