// The ordered list of migrations. Kysely's migrator runs the ones not yet applied, in name order.
// Names sort in the order they run; numbers are never reused (0004 was skipped). A new migration
// must sort after the newest one: Kysely refuses out-of-order migrations on existing databases.
import type { Migration } from 'kysely';
import * as foundation from './2026_11_23_0001_foundation.ts';
import * as auth from './2026_11_23_0002_auth.ts';
import * as mfaEmail from './2026_11_23_0003_mfa_email.ts';
import * as orgsAccess from './2026_11_23_0005_orgs_access.ts';
import * as voice from './2026_11_23_0006_voice.ts';
import * as phoneVerification from './2026_11_30_0007_phone_verification.ts';
import * as signingKeyStages from './2026_11_30_0008_signing_key_stages.ts';
import * as devices from './2026_11_30_0009_devices.ts';
import * as conversations from './2026_11_30_0010_conversations.ts';
import * as voiceSessions from './2026_11_30_0011_voice_sessions.ts';
import * as userPreferences from './2026_11_30_0012_user_preferences.ts';
import * as orgSuspension from './2026_11_30_0013_org_suspension.ts';
import * as quotas from './2026_11_30_0014_quotas.ts';
import * as callingWindows from './2026_11_30_0015_calling_windows.ts';
import * as quotaLeaseOneScan from './2026_11_30_0016_quota_lease_one_scan.ts';
import * as membershipPolicyFunctions from './2026_11_30_0017_membership_policy_functions.ts';
import * as policyContextOnce from './2026_12_01_0018_policy_context_once.ts';
import * as voiceSessionApiKey from './2026_12_01_0019_voice_session_api_key.ts';
import * as sessionRevokedDbClock from './2026_12_01_0020_session_revoked_db_clock.ts';
import * as voiceSessionQuotaEnd from './2026_12_01_0021_voice_session_quota_end.ts';
import * as voiceSessionParticipantSid from './2026_12_02_0022_voice_session_participant_sid.ts';
import * as twilioAccountLock from './2026_12_02_0023_twilio_account_lock.ts';
import * as voiceSessionRoomSid from './2026_12_04_0024_voice_session_room_sid.ts';
import * as signingKeyWithdrawal from './2026_12_04_0025_signing_key_withdrawal.ts';
import * as promptOrgKeys from './2026_12_04_0026_prompt_org_keys.ts';
import * as scheduledCallWindowDeferral from './2026_12_04_0027_scheduled_call_window_deferral.ts';
import * as preferencesLeaveWithMember from './2026_12_05_0028_preferences_leave_with_member.ts';
import * as preferencesDeleteOnRemovalOnly from './2026_12_05_0029_preferences_delete_on_removal_only.ts';
import * as invitationOneOpenPerAddress from './2026_12_05_0030_invitation_one_open_per_address.ts';

export const migrations: Record<string, Migration> = {
  '2026_11_23_0001_foundation': foundation,
  '2026_11_23_0002_auth': auth,
  '2026_11_23_0003_mfa_email': mfaEmail,
  '2026_11_23_0005_orgs_access': orgsAccess,
  '2026_11_23_0006_voice': voice,
  '2026_11_30_0007_phone_verification': phoneVerification,
  '2026_11_30_0008_signing_key_stages': signingKeyStages,
  '2026_11_30_0009_devices': devices,
  '2026_11_30_0010_conversations': conversations,
  '2026_11_30_0011_voice_sessions': voiceSessions,
  '2026_11_30_0012_user_preferences': userPreferences,
  '2026_11_30_0013_org_suspension': orgSuspension,
  '2026_11_30_0014_quotas': quotas,
  '2026_11_30_0015_calling_windows': callingWindows,
  '2026_11_30_0016_quota_lease_one_scan': quotaLeaseOneScan,
  '2026_11_30_0017_membership_policy_functions': membershipPolicyFunctions,
  '2026_12_01_0018_policy_context_once': policyContextOnce,
  '2026_12_01_0019_voice_session_api_key': voiceSessionApiKey,
  '2026_12_01_0020_session_revoked_db_clock': sessionRevokedDbClock,
  '2026_12_01_0021_voice_session_quota_end': voiceSessionQuotaEnd,
  '2026_12_02_0022_voice_session_participant_sid': voiceSessionParticipantSid,
  '2026_12_02_0023_twilio_account_lock': twilioAccountLock,
  '2026_12_04_0024_voice_session_room_sid': voiceSessionRoomSid,
  '2026_12_04_0025_signing_key_withdrawal': signingKeyWithdrawal,
  '2026_12_04_0026_prompt_org_keys': promptOrgKeys,
  '2026_12_04_0027_scheduled_call_window_deferral': scheduledCallWindowDeferral,
  '2026_12_05_0028_preferences_leave_with_member': preferencesLeaveWithMember,
  '2026_12_05_0029_preferences_delete_on_removal_only': preferencesDeleteOnRemovalOnly,
  '2026_12_05_0030_invitation_one_open_per_address': invitationOneOpenPerAddress,
};
