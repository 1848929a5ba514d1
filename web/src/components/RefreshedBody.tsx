import type { ReactNode } from 'react';
import type { Loaded } from '../lib/load.ts';
import { Alert } from './Alert.tsx';
import { Loading } from './Spinner.tsx';

/**
 * What a load refreshed every few seconds (useLoad's `everyMs`) shows: its error until a first
 * answer arrives, a spinner until then, and then `children(data)` — under a "Could not refresh"
 * warning while the latest refresh has failed, as what is shown is then the last answer, not now.
 */
export function RefreshedBody<T>({
  loaded: { data, error },
  loading,
  children,
}: {
  loaded: Pick<Loaded<T>, 'data' | 'error'>;
  /** The spinner's label, e.g. "Loading usage…". */
  loading: string;
  children: (data: T) => ReactNode;
}) {
  if (data === null) {
    return error ? <Alert tone="error">{error}</Alert> : <Loading label={loading} />;
  }
  return (
    <>
      {error && (
        <div className="mb-4">
          <Alert tone="warning">Could not refresh: {error}</Alert>
        </div>
      )}
      {children(data)}
    </>
  );
}
