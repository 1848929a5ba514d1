// Kysely's view of the tables. Keep in step with the migrations.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

/**
 * The roles of a membership, highest first: the one list (src/access/permissions.ts gives it to
 * the layers above; the tenant context accepts only these). The CHECK on memberships.role and
 * the row-level-security functions of the migrations name the same four.
 */
export const ROLES = ['owner', 'admin', 'manager', 'member'] as const;
export type Role = (typeof ROLES)[number];

export interface OrgsTable {
  id: Generated<string>;
  name: string;
  kind: 'company' | 'personal';
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The kill switch (src/suspension/): set while the org is suspended or locked down. */
  suspended_at: NullableTimestamp;
  suspended_reason: ColumnType<string | null, string | null | undefined, string | null>;
  suspended_by: ColumnType<string | null, string | null | undefined, string | null>;
  suspension_kind: ColumnType<
    SuspensionKind | null,
    SuspensionKind | null | undefined,
    SuspensionKind | null
  >;
}

/** `suspension`: by the platform superuser; `lockdown`: by the org's own owner. */
export type SuspensionKind = 'lockdown' | 'suspension';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  password_hash: string | null;
  full_name: string | null;
  is_superuser: Generated<boolean>;
  status: Generated<'active' | 'disabled'>;
  email_verified_at: NullableTimestamp;
  mfa_enabled_at: NullableTimestamp;
  totp_secret_enc: string | null;
  totp_pending_secret_enc: string | null;
  /** bigint: arrives as a string from pg */
  totp_last_step: ColumnType<string | number | null, number | null | undefined, number | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MfaBackupCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: NullableTimestamp;
  created_at: Timestamp;
}

export type UserTokenPurpose = 'verify_email' | 'reset_password' | 'set_password' | 'mfa_login';

export interface UserTokensTable {
  id: string;
  user_id: string;
  purpose: UserTokenPurpose;
  token_hash: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
}

export interface KnownDevicesTable {
  user_id: string;
  fingerprint: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
  status: Generated<'active' | 'deactivated'>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PromptsTable {
  id: Generated<string>;
  org_id: string;
  owner_id: string;
  name: string;
  content: string;
  description: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  org_id: string;
  user_agent: string | null;
  ip: string | null;
  amr: ColumnType<string[], string | undefined, string>;
  created_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  rotated_at: NullableTimestamp;
  replaced_by: string | null;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: Generated<string>;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  private_key_enc: string;
  /** next: published, signs from activates_at; active: signs; retired: published until its tokens expire */
  status: 'next' | 'active' | 'retired';
  created_at: Timestamp;
  retired_at: NullableTimestamp;
  activates_at: NullableTimestamp;
  /** Withdrawn after a compromise (migration 0025): never published or trusted again. */
  withdrawn_at: NullableTimestamp;
}

export interface AuditLogsTable {
  id: string;
  org_id: string | null;
  actor_user_id: string | null;
  actor_type: 'user' | 'superuser' | 'api_key' | 'system' | 'anonymous';
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: 'success' | 'failure';
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: ColumnType<Record<string, unknown>, string | undefined, never>;
  created_at: Timestamp;
}

export interface InvitationsTable {
  id: string;
  org_id: string;
  email: string;
  role: Role;
  token_hash: string;
  invited_by: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  accepted_by: string | null;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  created_by: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: ColumnType<string[], string, string>;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
}

// A membership's remembered preferences (migration 0012_user_preferences).
export interface UserPreferencesTable {
  org_id: string;
  user_id: string;
  preferences: ColumnType<Record<string, string>, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PreferenceTables {
  user_preferences: UserPreferencesTable;
}

export interface DB
  extends VoiceTables,
    RealtimeTables,
    ConversationTables,
    LiveKitTables,
    PreferenceTables,
    CallingRuleTables,
    QuotaTables {
  mfa_backup_codes: MfaBackupCodesTable;
  user_tokens: UserTokensTable;
  known_devices: KnownDevicesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  audit_logs: AuditLogsTable;
  orgs: OrgsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  prompts: PromptsTable;
  invitations: InvitationsTable;
  api_keys: ApiKeysTable;
}

export type Org = Selectable<OrgsTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Membership = Selectable<MembershipsTable>;
export type Prompt = Selectable<PromptsTable>;
export type NewPrompt = Insertable<PromptsTable>;
export type PromptUpdate = Updateable<PromptsTable>;
export type Session = Selectable<SessionsTable>;
export type RefreshToken = Selectable<RefreshTokensTable>;
export type SigningKey = Selectable<SigningKeysTable>;
export type AuditLog = Selectable<AuditLogsTable>;
export type UserToken = Selectable<UserTokensTable>;
export type Invitation = Selectable<InvitationsTable>;
export type ApiKey = Selectable<ApiKeysTable>;

// Voice resources and telephony (migration 0006_voice).
export interface OrgTwilioCredentialsTable {
  org_id: string;
  account_sid: string;
  auth_token_enc: string | null;
  updated_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface PhonesTable {
  id: string;
  org_id: string;
  owner_id: string;
  number: string;
  label: string | null;
  active: Generated<boolean>;
  verification_status: Generated<PhoneVerificationStatus>;
  verification_method: PhoneVerificationMethod | null;
  verified_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export type PhoneVerificationStatus = 'pending_verification' | 'verified';
export type PhoneVerificationMethod = 'twilio_account' | 'platform_assignment';

export type AgentDirection = 'incoming' | 'outgoing';

export interface AgentsTable {
  id: string;
  org_id: string;
  owner_id: string;
  name: string;
  direction: AgentDirection;
  phone_id: string;
  prompt_id: string | null;
  instructions: string | null;
  greeting: string | null;
  voice: string | null;
  language: string | null;
  media_stream_url: string | null;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface MessageAgentsTable {
  id: string;
  org_id: string;
  owner_id: string;
  name: string;
  phone_id: string;
  prompt_id: string | null;
  auto_reply: string | null;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export type ScheduledCallStatus = 'pending' | 'dispatching' | 'dispatched' | 'failed' | 'cancelled';

export interface ScheduledCallsTable {
  id: string;
  org_id: string;
  owner_id: string;
  agent_id: string;
  to_number: string;
  scheduled_at: Timestamp;
  status: Generated<ScheduledCallStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_expires_at: NullableTimestamp;
  dispatch_key: string | null;
  call_sid: string | null;
  last_error: string | null;
  dispatched_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  /** IANA zone whose hours the org's calling window applies in (migration 0015); null: the org's. */
  recipient_time_zone: Generated<string | null>;
  /**
   * Put off by the calling window until its next opening (migration 0027): the claim waits for it
   * as for next_attempt_at, which stays the due time; cleared when the window or the call changes.
   */
  window_deferred_until: NullableTimestamp;
}

export type CallStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'failed'
  | 'no-answer'
  | 'canceled';

export interface CallsTable {
  id: string;
  org_id: string;
  call_sid: string;
  phone_id: string | null;
  agent_id: string | null;
  scheduled_call_id: string | null;
  phone_owner_id: string | null;
  agent_owner_id: string | null;
  direction: 'inbound' | 'outbound';
  from_number: string;
  to_number: string;
  status: CallStatus;
  started_at: Timestamp;
  answered_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  duration_seconds: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CallEventsTable {
  call_sid: string;
  status: string;
  org_id: string;
  created_at: Timestamp;
}

export interface MessagesTable {
  id: string;
  org_id: string;
  message_sid: string | null;
  phone_id: string | null;
  message_agent_id: string | null;
  phone_owner_id: string | null;
  agent_owner_id: string | null;
  direction: 'inbound' | 'outbound';
  from_number: string;
  to_number: string;
  counterpart: string;
  body: Generated<string>;
  num_media: Generated<number>;
  status: string | null;
  in_reply_to: string | null;
  created_at: Timestamp;
}

export interface VoiceTables {
  org_twilio_credentials: OrgTwilioCredentialsTable;
  phones: PhonesTable;
  agents: AgentsTable;
  message_agents: MessageAgentsTable;
  scheduled_calls: ScheduledCallsTable;
  calls: CallsTable;
  call_events: CallEventsTable;
  messages: MessagesTable;
}

export type Phone = Selectable<PhonesTable>;
export type Agent = Selectable<AgentsTable>;
export type MessageAgent = Selectable<MessageAgentsTable>;
export type ScheduledCall = Selectable<ScheduledCallsTable>;
export type Call = Selectable<CallsTable>;
export type Message = Selectable<MessagesTable>;

// LiveKit (migration 0011): voice sessions and the webhook events already applied.
export type VoiceSessionStatus = 'issued' | 'active' | 'ended' | 'expired' | 'revoked';
export type VoiceSessionSource = 'api' | 'auth_token' | 'register' | 'login';
/** Why a voice session ended (the column's CHECK lists the same values). */
export const VOICE_SESSION_END_REASONS = [
  'left',
  'room_finished',
  'expired',
  'revoked',
  'quota_exceeded',
] as const;
export type VoiceSessionEndReason = (typeof VOICE_SESSION_END_REASONS)[number];

export interface VoiceSessionsTable {
  /** The `session_id` returned with a LiveKit token. */
  id: string;
  org_id: string;
  user_id: string;
  /** The login session whose credential minted the token; null for API keys. */
  auth_session_id: string | null;
  /** The API key whose credential minted the token; null for login sessions (migration 0019). */
  api_key_id: string | null;
  /** LiveKit participant identity (= user id). */
  identity: string;
  /** Full namespaced room name `<org id>__<name>`. */
  room_name: string;
  source: VoiceSessionSource;
  status: VoiceSessionStatus;
  token_expires_at: Timestamp;
  started_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  duration_seconds: number | null;
  end_reason: VoiceSessionEndReason | null;
  created_at: Timestamp;
  /**
   * The LiveKit participant (sid: one per connection) the session's events were last about
   * (migration 0022); null until the first participant event.
   */
  participant_sid: string | null;
  /**
   * The instance of the room (LiveKit's room sid: new each time a room of that name is created)
   * the participant last joined (migration 0024); null until a join reports one.
   */
  room_sid: string | null;
}

export interface LiveKitWebhookEventsTable {
  id: string;
  org_id: string;
  event: string;
  received_at: Timestamp;
}

export interface LiveKitTables {
  voice_sessions: VoiceSessionsTable;
  livekit_webhook_events: LiveKitWebhookEventsTable;
}

export type VoiceSession = Selectable<VoiceSessionsTable>;
// Conversations: device audio streams (migration 0010_conversations).
export type ConversationStatus = 'recording' | 'complete' | 'interrupted' | 'failed';
type Int8 = ColumnType<string | number, string | number | undefined, string | number>;

export interface ConversationsTable {
  id: string;
  org_id: string;
  user_id: string;
  /** The device row of the realtime capability (no foreign key: see the migration). */
  device_id: string;
  client_id: string;
  device_name: string;
  codec: 'opus' | 'pcm';
  sample_rate: number;
  channels: number;
  status: ColumnType<ConversationStatus, ConversationStatus | undefined, ConversationStatus>;
  end_reason: string | null;
  started_at: Timestamp;
  ended_at: NullableTimestamp;
  heartbeat_at: Timestamp;
  /** bigint: the driver may answer a string; read through Number(). */
  bytes: Int8;
  duration_ms: Int8;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  audio_purged_at: NullableTimestamp;
}

export interface ConversationTables {
  conversations: ConversationsTable;
}

export type Conversation = Selectable<ConversationsTable>;
// Realtime audio devices (migration 2026_11_30_0009_devices).
export type DeviceCodec = 'opus' | 'pcm';

export interface DevicesTable {
  id: Generated<string>;
  org_id: string;
  user_id: string;
  client_id: string;
  name: string;
  codec: DeviceCodec;
  first_seen_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
}

export interface RealtimeTicketsTable {
  id: Generated<string>;
  token_hash: string;
  org_id: string;
  user_id: string;
  session_id: string | null;
  api_key_id: string | null;
  device_name: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface RealtimeTables {
  devices: DevicesTable;
  realtime_tickets: RealtimeTicketsTable;
}

export type Device = Selectable<DevicesTable>;
export type RealtimeTicket = Selectable<RealtimeTicketsTable>;

// Outbound calling rules (migration 0015): the org's calling window and do-not-call list.
export interface OrgCallingWindowsTable {
  org_id: string;
  time_zone: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  days: number[];
  start_minute: number;
  end_minute: number;
  updated_by: string | null;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface DoNotCallNumbersTable {
  id: string;
  org_id: string;
  number: string;
  reason: Generated<string>;
  added_by: string | null;
  created_at: Generated<Date>;
}

export interface CallingRuleTables {
  org_calling_windows: OrgCallingWindowsTable;
  do_not_call_numbers: DoNotCallNumbersTable;
}

export type OrgCallingWindow = Selectable<OrgCallingWindowsTable>;
export type DoNotCallNumber = Selectable<DoNotCallNumbersTable>;

// Concurrency quotas (migration 0014_quotas). NULL limits mean the platform's (QUOTA_*).
export interface OrgQuotasTable {
  org_id: string;
  max_live_calls: number | null;
  inbound_reserved_calls: number | null;
  max_voice_sessions: number | null;
  max_device_sockets: number | null;
  max_scheduled_calls_per_day: number | null;
  updated_by: string | null;
  updated_at: Timestamp;
}

export type QuotaKind =
  | 'live_calls'
  | 'voice_sessions'
  | 'device_sockets'
  | 'scheduled_calls_per_day';

export interface QuotaLeasesTable {
  org_id: string;
  kind: QuotaKind;
  lease_id: string;
  expires_at: Timestamp;
}

export interface QuotaTables {
  org_quotas: OrgQuotasTable;
  quota_leases: QuotaLeasesTable;
}

export type OrgQuotas = Selectable<OrgQuotasTable>;
