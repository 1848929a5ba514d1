// The controls every resource list repeats: "Load more" under a cursor-paged list, and a row's
// Edit / Delete pair (named for the row, so each button is unambiguous to assistive technology).
import { Button } from './Button.tsx';

export function LoadMore({
  list,
}: {
  list: { hasMore: boolean; loadingMore: boolean; loadMore(): Promise<void> };
}) {
  if (!list.hasMore) return null;
  return (
    <div className="mt-5 flex justify-center">
      <Button variant="secondary" loading={list.loadingMore} onClick={() => void list.loadMore()}>
        Load more
      </Button>
    </div>
  );
}

export function RowActions({
  name,
  onEdit,
  onDelete,
}: {
  name: string;
  onEdit: () => void;
  onDelete: () => void;
}) {
  return (
    <div className="flex shrink-0 justify-end gap-2">
      <Button variant="secondary" size="sm" onClick={onEdit} aria-label={`Edit ${name}`}>
        Edit
      </Button>
      <Button variant="ghost" size="sm" onClick={onDelete} aria-label={`Delete ${name}`}>
        Delete
      </Button>
    </div>
  );
}
