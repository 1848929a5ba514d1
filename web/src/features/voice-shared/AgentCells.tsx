// The cells both agent tables (voice and messaging) show, named from the page's lookups: the
// agent's phone (the number, its label under it) and its prompt; "…" until the lookups arrive.
import { useMemo } from 'react';
import { td } from '../../components/Table.tsx';
import type { Lookups } from './voice-lookups.ts';

export function useAgentCells(lookups: Lookups) {
  const phonesById = useMemo(
    () => new Map((lookups.phones ?? []).map((p) => [p.id, p])),
    [lookups.phones],
  );
  const promptsById = useMemo(
    () => new Map((lookups.prompts ?? []).map((p) => [p.id, p])),
    [lookups.prompts],
  );

  function phoneCell(phoneId: string) {
    const phone = phonesById.get(phoneId);
    return (
      <td className={`${td} text-slate-600`}>
        {phone ? (
          <>
            <span className="whitespace-nowrap tabular-nums">{phone.number}</span>
            {phone.label && <span className="block text-xs text-slate-400">{phone.label}</span>}
          </>
        ) : (
          <span className="text-slate-400">{lookups.phones ? 'Unknown number' : '…'}</span>
        )}
      </td>
    );
  }

  function promptCell(promptId: string | null) {
    const prompt = promptId ? promptsById.get(promptId) : undefined;
    return (
      <td className={`${td} text-slate-600`}>
        {!promptId ? (
          <span className="text-slate-400">No prompt</span>
        ) : prompt ? (
          prompt.name
        ) : (
          <span className="text-slate-400">{lookups.prompts ? 'Unknown prompt' : '…'}</span>
        )}
      </td>
    );
  }

  /** Render functions (not components), so the cells keep their identity across renders. */
  return { phoneCell, promptCell };
}
