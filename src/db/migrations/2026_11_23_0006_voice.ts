// Frozen in time: never import from src/ here; later changes go into new migrations.
//
// Voice resources (phones, voice agents, messaging agents, scheduled calls), the logs Twilio's
// webhooks write (calls, their status events, messages) and per-org Twilio credentials.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The org acting as itself, with no person behind it: Twilio webhooks and the call dispatcher
  // after they have found the org a request belongs to. Only such a context may write call and
  // message logs; people never do (the logs are read-only to them).
  await sql`
    CREATE FUNCTION app_org_service() RETURNS boolean LANGUAGE sql STABLE AS
      $$ SELECT app_org_id() IS NOT NULL AND app_user_id() IS NULL AND app_role() IS NULL $$;
    GRANT EXECUTE ON FUNCTION app_org_service() TO switchboard_app;
  `.execute(db);

  await sql`
    -- An org's own Twilio account. The auth token is sealed (AES-256-GCM, AAD bound to the org and
    -- account) and never leaves the server; removal clears it. No row: the platform account.
    CREATE TABLE org_twilio_credentials (
      org_id uuid PRIMARY KEY REFERENCES orgs(id),
      account_sid text NOT NULL CHECK (account_sid ~ '^AC[0-9a-fA-F]{32}$'),
      auth_token_enc text,
      updated_by uuid REFERENCES users(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      CHECK (deleted_at IS NOT NULL OR auth_token_enc IS NOT NULL)
    );

    CREATE TABLE phones (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      owner_id uuid NOT NULL REFERENCES users(id),
      number text NOT NULL CHECK (number ~ '^[+][1-9][0-9]{6,14}$'),
      label text,
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      UNIQUE (org_id, id)
    );
    -- Created first so that it is checked first: a number already in the org is reported as such.
    CREATE UNIQUE INDEX phones_org_number_key ON phones (org_id, number) WHERE deleted_at IS NULL;
    -- Inbound routing needs one owner per number: active in one org at a time. This index spans
    -- tenants on purpose (row-level security hides other orgs' rows from any query the code could
    -- make, but not from a unique index).
    CREATE UNIQUE INDEX phones_number_routes_once ON phones (number)
      WHERE active AND deleted_at IS NULL;
    CREATE INDEX phones_org_list_idx ON phones (org_id, id DESC) WHERE deleted_at IS NULL;

    -- The composite foreign keys (org_id, x_id) make a reference to another org's row impossible
    -- in the database itself, whatever the code does.
    CREATE TABLE agents (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      owner_id uuid NOT NULL REFERENCES users(id),
      name text NOT NULL,
      direction text NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
      phone_id uuid NOT NULL,
      prompt_id uuid REFERENCES prompts(id),
      instructions text,
      greeting text,
      voice text,
      language text,
      media_stream_url text,
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      UNIQUE (org_id, id),
      FOREIGN KEY (org_id, phone_id) REFERENCES phones (org_id, id)
    );
    CREATE UNIQUE INDEX agents_one_active_incoming_per_phone ON agents (phone_id)
      WHERE direction = 'incoming' AND active AND deleted_at IS NULL;
    CREATE INDEX agents_org_list_idx ON agents (org_id, id DESC) WHERE deleted_at IS NULL;

    CREATE TABLE message_agents (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      owner_id uuid NOT NULL REFERENCES users(id),
      name text NOT NULL,
      phone_id uuid NOT NULL,
      prompt_id uuid REFERENCES prompts(id),
      auto_reply text,
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      UNIQUE (org_id, id),
      FOREIGN KEY (org_id, phone_id) REFERENCES phones (org_id, id)
    );
    CREATE UNIQUE INDEX message_agents_one_active_per_phone ON message_agents (phone_id)
      WHERE active AND deleted_at IS NULL;
    CREATE INDEX message_agents_org_list_idx ON message_agents (org_id, id DESC)
      WHERE deleted_at IS NULL;

    -- The dispatcher's queue. dispatch_key is minted at each claim and travels in the Twilio
    -- callback URLs, so a callback proves which attempt placed the call (see dispatcher.ts).
    CREATE TABLE scheduled_calls (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      owner_id uuid NOT NULL REFERENCES users(id),
      agent_id uuid NOT NULL,
      to_number text NOT NULL CHECK (to_number ~ '^[+][1-9][0-9]{6,14}$'),
      scheduled_at timestamptz NOT NULL,
      status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'dispatching', 'dispatched', 'failed', 'cancelled')),
      attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      next_attempt_at timestamptz NOT NULL,
      lease_expires_at timestamptz,
      dispatch_key uuid,
      call_sid text,
      last_error text,
      dispatched_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      UNIQUE (org_id, id),
      FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id)
    );
    CREATE INDEX scheduled_calls_due_idx ON scheduled_calls (next_attempt_at)
      WHERE status = 'pending' AND deleted_at IS NULL;
    CREATE INDEX scheduled_calls_lease_idx ON scheduled_calls (lease_expires_at)
      WHERE status = 'dispatching';
    CREATE INDEX scheduled_calls_org_list_idx ON scheduled_calls (org_id, id DESC)
      WHERE deleted_at IS NULL;

    -- Call log, written only by webhooks and the dispatcher. The owners of the phone and agent are
    -- copied in so row-level security can show a member the calls of their own phones and agents
    -- without a join.
    CREATE TABLE calls (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      call_sid text NOT NULL UNIQUE CHECK (call_sid ~ '^CA[0-9a-fA-F]{32}$'),
      phone_id uuid,
      agent_id uuid,
      scheduled_call_id uuid,
      phone_owner_id uuid REFERENCES users(id),
      agent_owner_id uuid REFERENCES users(id),
      direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
      from_number text NOT NULL,
      to_number text NOT NULL,
      status text NOT NULL CHECK (status IN ('queued', 'initiated', 'ringing', 'in-progress',
        'completed', 'busy', 'failed', 'no-answer', 'canceled')),
      started_at timestamptz NOT NULL DEFAULT now(),
      answered_at timestamptz,
      ended_at timestamptz,
      duration_seconds integer CHECK (duration_seconds >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (org_id, phone_id) REFERENCES phones (org_id, id),
      FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id),
      FOREIGN KEY (org_id, scheduled_call_id) REFERENCES scheduled_calls (org_id, id)
    );
    CREATE INDEX calls_org_list_idx ON calls (org_id, id DESC);
    CREATE INDEX calls_org_started_idx ON calls (org_id, started_at);
    CREATE INDEX calls_org_agent_idx ON calls (org_id, agent_id);
    CREATE INDEX calls_scheduled_idx ON calls (scheduled_call_id) WHERE scheduled_call_id IS NOT NULL;
    CREATE INDEX calls_live_idx ON calls (org_id, started_at)
      WHERE status IN ('queued', 'initiated', 'ringing', 'in-progress');

    -- Status callbacks seen, one row per (call, status): Twilio's retries insert nothing new.
    CREATE TABLE call_events (
      call_sid text NOT NULL,
      status text NOT NULL,
      org_id uuid NOT NULL REFERENCES orgs(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (call_sid, status)
    );

    CREATE TABLE messages (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES orgs(id),
      -- NULL for our TwiML auto-replies: Twilio assigns their sid after we answer.
      message_sid text UNIQUE CHECK (message_sid ~ '^(SM|MM)[0-9a-fA-F]{32}$'),
      phone_id uuid,
      message_agent_id uuid,
      phone_owner_id uuid REFERENCES users(id),
      agent_owner_id uuid REFERENCES users(id),
      direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
      from_number text NOT NULL,
      to_number text NOT NULL,
      counterpart text NOT NULL,
      body text NOT NULL DEFAULT '',
      num_media integer NOT NULL DEFAULT 0 CHECK (num_media >= 0),
      status text,
      in_reply_to uuid UNIQUE REFERENCES messages(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (org_id, phone_id) REFERENCES phones (org_id, id),
      FOREIGN KEY (org_id, message_agent_id) REFERENCES message_agents (org_id, id)
    );
    CREATE INDEX messages_org_list_idx ON messages (org_id, id DESC);
    CREATE INDEX messages_conversation_idx ON messages (org_id, phone_id, counterpart, id DESC);
  `.execute(db);

  await sql`
    ALTER TABLE org_twilio_credentials ENABLE ROW LEVEL SECURITY;
    ALTER TABLE org_twilio_credentials FORCE ROW LEVEL SECURITY;
    CREATE POLICY org_twilio_credentials_admin ON org_twilio_credentials
      USING (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_role() IN ('owner', 'admin')));

    -- Owned resources: members see and change their own rows; owners, admins and managers all
    -- of the org's. Webhooks (the org service context) may read them to route a call, never write.
    ALTER TABLE phones ENABLE ROW LEVEL SECURITY;
    ALTER TABLE phones FORCE ROW LEVEL SECURITY;
    CREATE POLICY phones_tenant ON phones
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id() OR app_org_service())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id())));

    ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
    ALTER TABLE agents FORCE ROW LEVEL SECURITY;
    CREATE POLICY agents_tenant ON agents
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id() OR app_org_service())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id())));

    ALTER TABLE message_agents ENABLE ROW LEVEL SECURITY;
    ALTER TABLE message_agents FORCE ROW LEVEL SECURITY;
    CREATE POLICY message_agents_tenant ON message_agents
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id() OR app_org_service())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id())));

    -- The dispatcher records each attempt's outcome in the org service context.
    ALTER TABLE scheduled_calls ENABLE ROW LEVEL SECURITY;
    ALTER TABLE scheduled_calls FORCE ROW LEVEL SECURITY;
    CREATE POLICY scheduled_calls_tenant ON scheduled_calls
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id() OR app_org_service())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR owner_id = app_user_id() OR app_org_service())));

    -- Logs: members read those of their own phones and agents; only the org service writes.
    ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
    ALTER TABLE calls FORCE ROW LEVEL SECURITY;
    CREATE POLICY calls_tenant ON calls
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR app_org_service()
                  OR phone_owner_id = app_user_id() OR agent_owner_id = app_user_id())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_org_service()));

    ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
    ALTER TABLE messages FORCE ROW LEVEL SECURITY;
    CREATE POLICY messages_tenant ON messages
      USING (app_privileged() OR (org_id = app_org_id()
             AND (app_sees_all_of_org() OR app_org_service()
                  OR phone_owner_id = app_user_id() OR agent_owner_id = app_user_id())))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_org_service()));

    ALTER TABLE call_events ENABLE ROW LEVEL SECURITY;
    ALTER TABLE call_events FORCE ROW LEVEL SECURITY;
    CREATE POLICY call_events_service ON call_events
      USING (app_privileged() OR (org_id = app_org_id() AND app_org_service()))
      WITH CHECK (app_privileged() OR (org_id = app_org_id() AND app_org_service()));

    GRANT SELECT, INSERT, UPDATE ON org_twilio_credentials, phones, agents, message_agents,
      scheduled_calls, calls TO switchboard_app;
    GRANT SELECT, INSERT ON call_events, messages TO switchboard_app;
  `.execute(db);
}
