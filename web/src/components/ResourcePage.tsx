// The page of one resource list (prompts, phones, voice and messaging agents): its header with the
// "New" button, a card holding the search form, the rows and "Load more", then its dialogs.
import type { ReactNode } from 'react';
import { Button } from './Button.tsx';
import { Card, PageHeader } from './Card.tsx';
import { ListBody, LoadMore } from './ListActions.tsx';

export function ResourcePage<T>({
  title,
  description,
  newLabel,
  onNew,
  above,
  list,
  loading,
  empty,
  dialogs,
  children,
}: {
  title: string;
  description: string;
  newLabel: string;
  onNew: () => void;
  /** What stands above the rows: the search form, and any notice. */
  above: ReactNode;
  list: {
    items: T[] | null;
    loadError: string | null;
    hasMore: boolean;
    loadingMore: boolean;
    loadMore(): Promise<void>;
  };
  /** The spinner's label, e.g. "Loading prompts…". */
  loading: string;
  empty: ReactNode;
  /** The create-or-edit dialog and the delete confirmation, outside the card. */
  dialogs: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  return (
    <>
      <PageHeader
        title={title}
        description={description}
        actions={<Button onClick={onNew}>{newLabel}</Button>}
      />
      <Card>
        {above}
        <ListBody list={list} loading={loading} empty={empty}>
          {children}
        </ListBody>
        <LoadMore list={list} />
      </Card>
      {dialogs}
    </>
  );
}
