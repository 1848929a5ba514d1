// Voice agents: list, filter, create, edit, delete. One active incoming agent per phone: the
// server answers 409 phone_has_active_agent for a second, shown in the dialog, which stays open.
import { useMemo, useState } from 'react';
import { Badge } from '../../components/Card.tsx';
import {
  ActiveField,
  NameField,
  SelectField,
  TextAreaField,
  TextField,
} from '../../components/Field.tsx';
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

type Agent = ResponseOf<'/api/agents', 'get'>['items'][number];
type Direction = Agent['direction'];

const DIRECTION_LABELS: Record<Direction, string> = {
  incoming: 'Incoming',
  outgoing: 'Outgoing',
};

const KIND: AgentKind<'/api/agents'> = {
  path: '/api/agents',
  noun: 'voice agent',
  createLabel: 'Create agent',
  description: 'Answers calls to a phone number, or places calls from it.',
  what: 'An agent',
  conflictHints: {
    phone_has_active_agent:
      'Only one active incoming agent can answer a phone number. Choose another phone, deactivate the other agent first, or uncheck “Active” to save this one inactive.',
  },
};

/** What to do about a value the server's pattern refuses (its own message names the regex). */
const FIELD_HINTS: Record<string, string> = {
  voice: 'Letters, digits, dots, dashes and underscores only (up to 64), e.g. Polly.Joanna.',
  language: 'A language tag such as en-US or fr.',
  media_stream_url: 'A WebSocket URL that starts with wss:// (or ws://), without spaces.',
};

/** The checks the server makes, done first so the messages are plain (name and phone: useAgentForm). */
function validate(v: {
  voice: string;
  language: string;
  mediaStreamUrl: string;
}): Record<string, string> {
  const out: Record<string, string> = {};
  if (v.voice.trim() && !/^[A-Za-z0-9._-]{1,64}$/.test(v.voice.trim()))
    out.voice = FIELD_HINTS.voice!;
  if (v.language.trim() && !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/.test(v.language.trim()))
    out.language = FIELD_HINTS.language!;
  if (v.mediaStreamUrl.trim() && !/^wss?:\/\/\S+$/.test(v.mediaStreamUrl.trim()))
    out.media_stream_url = FIELD_HINTS.media_stream_url!;
  return out;
}

/** Empty input → null, which the API stores as "not set". */
function orNull(v: string): string | null {
  const t = v.trim();
  return t ? t : null;
}

function VoiceAgentDialog(props: AgentDialogProps<'/api/agents'>) {
  const { lookups } = props;
  const initial = initialAgent(props.editing);
  const [direction, setDirection] = useState<Direction>(initial?.direction ?? 'incoming');
  const [instructions, setInstructions] = useState(initial?.instructions ?? '');
  const [greeting, setGreeting] = useState(initial?.greeting ?? '');
  const [voice, setVoice] = useState(initial?.voice ?? '');
  const [language, setLanguage] = useState(initial?.language ?? '');
  const [mediaStreamUrl, setMediaStreamUrl] = useState(initial?.media_stream_url ?? '');
  const agentForm = useAgentForm(lookups, initial, FIELD_HINTS);
  const { errorOf } = agentForm;

  function body() {
    if (!agentForm.checked(validate({ voice, language, mediaStreamUrl }))) return null;
    return {
      ...agentForm.commonBody(),
      direction,
      instructions: orNull(instructions),
      greeting: orNull(greeting),
      voice: orNull(voice),
      language: orNull(language),
      media_stream_url: orNull(mediaStreamUrl),
    };
  }

  return (
    <AgentDialog {...props} kind={KIND} agentForm={agentForm} body={body}>
      <NameField value={agentForm.name} onChange={agentForm.setName} error={errorOf('name')} />
      <div className="grid gap-4 sm:grid-cols-2">
        <SelectField
          label="Direction"
          name="direction"
          value={direction}
          onChange={(e) => setDirection(e.target.value as Direction)}
          error={errorOf('direction')}
          hint={
            direction === 'incoming'
              ? 'Answers calls to the phone number.'
              : 'Places calls from the phone number.'
          }
        >
          <option value="incoming">Incoming</option>
          <option value="outgoing">Outgoing</option>
        </SelectField>
        <PhoneSelectField lookups={lookups} agentForm={agentForm} />
      </div>
      <PromptSelectField
        lookups={lookups}
        agentForm={agentForm}
        noneLabel="No prompt — use instructions below"
        hint={
          <>
            A reusable prompt from{' '}
            <Link to="/app/prompts" className="underline">
              Prompts
            </Link>
            , or none and the instructions below.
          </>
        }
      />
      <TextAreaField
        label="Instructions"
        name="instructions"
        rows={5}
        maxLength={20_000}
        value={instructions}
        onChange={(e) => setInstructions(e.target.value)}
        error={errorOf('instructions')}
        hint="Optional: what this agent should do, in addition to the prompt."
      />
      <TextField
        label="Greeting"
        name="greeting"
        maxLength={1000}
        value={greeting}
        onChange={(e) => setGreeting(e.target.value)}
        error={errorOf('greeting')}
        placeholder="Hello, thanks for calling Acme. How can I help?"
        hint="Optional: the first thing the agent says."
      />
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField
          label="Voice"
          name="voice"
          maxLength={64}
          value={voice}
          onChange={(e) => setVoice(e.target.value)}
          error={errorOf('voice')}
          placeholder="Polly.Joanna"
          hint="Optional: the text-to-speech voice."
        />
        <TextField
          label="Language"
          name="language"
          maxLength={35}
          value={language}
          onChange={(e) => setLanguage(e.target.value)}
          error={errorOf('language')}
          placeholder="en-US"
          hint="Optional: a language tag such as en-US."
        />
      </div>
      <TextField
        label="Media stream URL"
        name="media_stream_url"
        type="url"
        maxLength={2000}
        value={mediaStreamUrl}
        onChange={(e) => setMediaStreamUrl(e.target.value)}
        error={errorOf('media_stream_url')}
        placeholder="wss://agents.example.com/stream"
        hint="Optional: the agent worker's WebSocket (wss://…) that receives the call audio."
      />
      <ActiveField
        checked={agentForm.active}
        onChange={agentForm.setActive}
        hint="Only active agents answer or place calls. One active incoming agent per phone."
      />
    </AgentDialog>
  );
}

export function AgentsPage() {
  const lookups = useLookups();
  const agentFilters = useAgentFilters();
  const [direction, setDirection] = useState<Direction | ''>('');
  const query = useMemo(
    () => ({ ...agentFilters.query, direction: direction || undefined }),
    [agentFilters.query, direction],
  );

  const resource = useAgentList<Agent>(KIND.path, query, {
    noun: 'Agent',
    confirmLabel: 'Delete agent',
    warning:
      'The agent stops answering and placing calls. This cannot be undone from the dashboard.',
  });

  return (
    <ResourcePage
      title="Voice agents"
      description="The agents that answer your phone numbers and place outgoing calls."
      newLabel="New agent"
      resource={resource}
      above={
        <AgentSearchForm label="Search agents" filters={agentFilters} phones={lookups.phones}>
          <SelectField
            label="Incoming or outgoing"
            name="direction"
            value={direction}
            onChange={(e) => setDirection(e.target.value as Direction | '')}
          >
            <option value="">All agents</option>
            <option value="incoming">Incoming</option>
            <option value="outgoing">Outgoing</option>
          </SelectField>
        </AgentSearchForm>
      }
      loading="Loading voice agents…"
      empty={{
        filtered: agentFilters.filtered || direction !== '',
        filteredTitle: 'No agents match your filters',
        title: 'No voice agents yet',
        createLabel: 'Create your first agent',
        about: 'A voice agent answers calls to one of your phone numbers, or calls out from it.',
      }}
      dialog={(props) => <VoiceAgentDialog {...props} lookups={lookups} />}
    >
      {(items) => (
        <AgentTable
          caption="Voice agents"
          items={items}
          lookups={lookups}
          resource={resource}
          own={{
            label: 'Direction',
            at: 'before phone',
            cell: (a) => (
              <td className={td}>
                <Badge tone={a.direction === 'incoming' ? 'indigo' : 'amber'}>
                  {DIRECTION_LABELS[a.direction]}
                </Badge>
              </td>
            ),
          }}
        />
      )}
    </ResourcePage>
  );
}
