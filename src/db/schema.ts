// Kysely's view of the tables. Keep in step with the migrations.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

export type Role = 'owner' | 'admin' | 'manager' | 'member';

export interface OrgsTable {
  id: Generated<string>;
  name: string;
  kind: 'company' | 'personal';
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  password_hash: string | null;
  full_name: string | null;
  is_superuser: Generated<boolean>;
  status: Generated<'active' | 'disabled'>;
  email_verified_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
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

export interface DB {
  orgs: OrgsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  prompts: PromptsTable;
}

export type Org = Selectable<OrgsTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Membership = Selectable<MembershipsTable>;
export type Prompt = Selectable<PromptsTable>;
export type NewPrompt = Insertable<PromptsTable>;
export type PromptUpdate = Updateable<PromptsTable>;
