// The cells both agent tables (voice and messaging) show, named from the page's lookups: the
// agent's phone (the number, its label under it) and its prompt ("…" until the lookups arrive), then
// its status, last change and Edit / Delete.
import { useMemo } from 'react';
import { ActiveBadge } from '../../components/Card.tsx';
import { RowActions } from '../../components/ListActions.tsx';
import { td, UpdatedCell } from '../../components/Table.tsx';
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
            {phone.label && <span className="block text-xs text-slate-500">{phone.label}</span>}
          </>
        ) : (
          <span className="text-slate-500">{lookups.phones ? 'Unknown number' : '…'}</span>
        )}
      </td>
    );
  }

  function promptCell(promptId: string | null) {
    const prompt = promptId ? promptsById.get(promptId) : undefined;
    return (
      <td className={`${td} text-slate-600`}>
        {!promptId ? (
          <span className="text-slate-500">No prompt</span>
        ) : prompt ? (
          prompt.name
        ) : (
          <span className="text-slate-500">{lookups.prompts ? 'Unknown prompt' : '…'}</span>
        )}
      </td>
    );
  }

  /** Render functions (not components), so the cells keep their identity across renders. */
  return { phoneCell, promptCell };
}

/** The last cells of both agent tables: status, last change, and the row's Edit / Delete. */
export function AgentRowEnd<T extends { name: string; active: boolean; updated_at: string }>({
  agent,
  resource,
}: {
  agent: T;
  resource: { edit(row: T): void; deleteRow: { ask(row: T): void } };
}) {
  return (
    <>
      <td className={td}>
        <ActiveBadge active={agent.active} />
      </td>
      <UpdatedCell at={agent.updated_at} />
      <td className={td}>
        <RowActions name={agent.name} row={agent} resource={resource} />
      </td>
    </>
  );
}
