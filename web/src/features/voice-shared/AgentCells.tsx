// Both agent tables (voice and messaging), named from the page's lookups: the agent's name, phone
// (the number, its label under it) and prompt ("…" until the lookups arrive), the kind's own
// column, then its status, last change and Edit / Delete.
import { type ReactNode, useMemo } from 'react';
import { ActiveBadge } from '../../components/Card.tsx';
import { RowActions } from '../../components/ListActions.tsx';
import { actionsColumn, Table, td, UpdatedCell } from '../../components/Table.tsx';
import type { Lookups } from './voice-lookups.ts';

function useAgentCells(lookups: Lookups) {
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
function AgentRowEnd<T extends { name: string; active: boolean; updated_at: string }>({
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

type AgentLike = {
  id: string;
  name: string;
  phone_id: string;
  prompt_id: string | null;
  active: boolean;
  updated_at: string;
};

/**
 * Both agent tables: the name, the phone, the prompt, then status, last change and Edit / Delete,
 * with the kind's own column (`own`) before the phone or after the prompt.
 */
export function AgentTable<T extends AgentLike>({
  caption,
  items,
  lookups,
  resource,
  own,
}: {
  caption: string;
  items: T[];
  lookups: Lookups;
  resource: { edit(row: T): void; deleteRow: { ask(row: T): void } };
  own: { label: string; at: 'before phone' | 'after prompt'; cell: (agent: T) => ReactNode };
}) {
  const cells = useAgentCells(lookups);
  const before = own.at === 'before phone';
  return (
    <Table
      caption={caption}
      columns={[
        'Name',
        ...(before ? [own.label] : []),
        'Phone number',
        'Prompt',
        ...(before ? [] : [own.label]),
        'Status',
        'Updated',
        actionsColumn,
      ]}
    >
      {items.map((a) => (
        <tr key={a.id}>
          <td className={`${td} font-medium text-slate-900`}>{a.name}</td>
          {before && own.cell(a)}
          {cells.phoneCell(a.phone_id)}
          {cells.promptCell(a.prompt_id)}
          {!before && own.cell(a)}
          <AgentRowEnd agent={a} resource={resource} />
        </tr>
      ))}
    </Table>
  );
}
