// A filter form's two states. The list follows `applied`, which changes only when the form is
// applied or cleared, so typing in a filter never refetches.
import { useState } from 'react';

export function useDraftFilters<F extends object>(initial: F) {
  const [draft, setDraft] = useState<F>(initial);
  const [applied, apply] = useState<F>(initial);
  const set = <K extends keyof F>(key: K, value: F[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const clear = () => {
    setDraft(initial);
    apply(initial);
  };
  return { draft, applied, set, apply, clear };
}
