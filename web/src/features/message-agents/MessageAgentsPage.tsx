// Messaging agents: list, filter, create, edit, delete. One active messaging agent per phone: the
// server answers 409 phone_has_active_message_agent for a second, shown in the dialog.
import { useState } from 'react';
import { ActiveField, NameField, TextAreaField } from '../../components/Field.tsx';
import { ResourcePage } from '../../components/ResourcePage.tsx';
import { td } from '../../components/Table.tsx';
import type { ResponseOf } from '../../lib/api.ts';
import { Link } from '../../lib/router.tsx';
import { AgentTable } from '../voice-shared/AgentCells.tsx';
import {
  AgentDialog,
  type AgentDialogProps,
  type AgentKind,
  initialAgent,
} from '../voice-shared/AgentFormBody.tsx';
import { AgentSearchForm, useAgentFilters, useAgentList } from '../voice-shared/AgentList.tsx';
import { PhoneSelectField, PromptSelectField } from '../voice-shared/AgentSelectFields.tsx';
import { useAgentForm } from '../voice-shared/agent-form.ts';
import { useLookups } from '../voice-shared/voice-lookups.ts';

type MessageAgent = ResponseOf<'/api/message-agents', 'get'>['items'][number];

/** Twilio's limit for one message body. */
const AUTO_REPLY_MAX = 1600;

const KIND: AgentKind<'/api/message-agents'> = {
  path: '/api/message-agents',
  noun: 'messaging agent',
  createLabel: 'Create messaging agent',
  description: 'Answers the text messages sent to a phone number.',
  what: 'A messaging agent',
  conflictHints: {
    phone_has_active_message_agent:
      'Only one active messaging agent can answer a phone number’s messages. Choose another phone, deactivate the other agent first, or uncheck “Active” to save this one inactive.',
  },
};

function MessageAgentDialog(props: AgentDialogProps<'/api/message-agents'>) {
  const { lookups } = props;
  const initial = initialAgent(props.editing);
  const [autoReply, setAutoReply] = useState(initial?.auto_reply ?? '');
  const agentForm = useAgentForm(lookups, initial);
  const { errorOf } = agentForm;

  function body() {
    if (!agentForm.checked()) return null;
    return { ...agentForm.commonBody(), auto_reply: autoReply.trim() ? autoReply : null };
  }

  return (
    <AgentDialog {...props} kind={KIND} agentForm={agentForm} body={body}>
      <NameField value={agentForm.name} onChange={agentForm.setName} error={errorOf('name')} />
      <PhoneSelectField
        lookups={lookups}
        agentForm={agentForm}
        hint="Messages to this number reach the agent."
      />
      <PromptSelectField
        lookups={lookups}
        agentForm={agentForm}
        noneLabel="No prompt"
        hint={
          <>
            Optional: a prompt from{' '}
            <Link to="/app/prompts" className="underline">
              Prompts
            </Link>{' '}
            that shapes the agent’s replies.
          </>
        }
      />
      <TextAreaField
        label="Auto-reply text"
        name="auto_reply"
        rows={4}
        maxLength={AUTO_REPLY_MAX}
        value={autoReply}
        onChange={(e) => setAutoReply(e.target.value)}
        error={errorOf('auto_reply')}
        placeholder="Thanks for your message! We'll get back to you shortly."
        hint={`Optional: sent in answer to every incoming message. ${autoReply.length} / ${AUTO_REPLY_MAX} characters.`}
      />
      <ActiveField
        checked={agentForm.active}
        onChange={agentForm.setActive}
        hint="Only an active agent answers messages. One active messaging agent per phone."
      />
    </AgentDialog>
  );
}

export function MessageAgentsPage() {
  const lookups = useLookups();
  const agentFilters = useAgentFilters();
  const { query } = agentFilters;

  const resource = useAgentList<MessageAgent>(KIND.path, query, {
    noun: 'Messaging agent',
    confirmLabel: 'Delete messaging agent',
    warning:
      'Messages to its phone number stop getting answers from it. This cannot be undone from the dashboard.',
  });

  return (
    <ResourcePage
      title="Messaging agents"
      description="The agents that answer text messages sent to your phone numbers."
      newLabel="New messaging agent"
      resource={resource}
      above={
        <AgentSearchForm
          label="Search messaging agents"
          filters={agentFilters}
          phones={lookups.phones}
        />
      }
      loading="Loading messaging agents…"
      empty={{
        filtered: agentFilters.filtered,
        filteredTitle: 'No messaging agents match your filters',
        title: 'No messaging agents yet',
        createLabel: 'Create your first messaging agent',
        about: 'A messaging agent answers the text messages sent to a phone number.',
      }}
      dialog={(props) => <MessageAgentDialog {...props} lookups={lookups} />}
    >
      {(items) => (
        <AgentTable
          caption="Messaging agents"
          items={items}
          lookups={lookups}
          resource={resource}
          own={{
            label: 'Auto-reply',
            at: 'after prompt',
            cell: (a) => (
              <td className={`${td} max-w-xs text-slate-600`}>
                {a.auto_reply ? (
                  <span className="line-clamp-2" title={a.auto_reply}>
                    {a.auto_reply}
                  </span>
                ) : (
                  <span className="text-slate-500">None</span>
                )}
              </td>
            ),
          }}
        />
      )}
    </ResourcePage>
  );
}
