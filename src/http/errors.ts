// The error catalog: every error the API returns has a stable snake_case `code`, an HTTP status
// and a fixed title. Handlers throw AppError; one handler (problem.ts) renders RFC 9457 documents.

// biome-ignore format: the catalog reads as a table, one error a line
export const ERRORS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_request: { status: 400, title: 'The HTTP request could not be parsed' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_cursor: { status: 400, title: 'The pagination cursor is not valid' },
  weak_password: { status: 400, title: 'The password does not meet the password rules' },
  invalid_token: { status: 400, title: 'The token is invalid, expired or already used' },
  invalid_code: { status: 400, title: 'The code is not valid' },
  code_reused: { status: 400, title: 'This code was already used; wait for your authenticator app to show the next one' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'Email or password is incorrect' },
  invalid_refresh_token: { status: 401, title: 'The refresh token is invalid or expired' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used; the session is revoked' },
  invalid_mfa: { status: 401, title: 'The verification code is not valid' },
  mfa_code_reused: { status: 401, title: 'This code was already used; wait for your authenticator app to show the next one' },
  invalid_webhook_token: { status: 401, title: 'The webhook authorization is missing, forged, expired or does not match the body' },
  invalid_mfa_token: { status: 401, title: 'The MFA token is invalid, expired or already used; log in again' },
  forbidden: { status: 403, title: 'You do not have permission to do this' },
  invalid_webhook_signature: { status: 403, title: 'The webhook signature is missing or does not match' },
  csrf_failed: { status: 403, title: 'Missing or invalid CSRF token' },
  cross_site_request: { status: 403, title: 'Requests started by another site are refused here' },
  signup_disabled: { status: 403, title: 'Public sign-up is turned off' },
  account_disabled: { status: 403, title: 'This account is disabled' },
  email_not_verified: { status: 403, title: 'The email address is not verified yet' },
  role_above_caller: { status: 403, title: 'You cannot grant a role above your own' },
  owner_required: { status: 403, title: 'Only an owner can change or remove an owner' },
  email_domain_not_allowed: { status: 403, title: "The email address is not in the organization's allowed domains" },
  invitation_wrong_account: { status: 403, title: 'Log in as the invited email address to accept this invitation' },
  org_suspended: { status: 403, title: 'This organization is suspended: nothing in it is in service until the platform resumes it' },
  superuser_required: { status: 403, title: 'Only the platform superuser may do this' },
  mfa_enrollment_required: { status: 403, title: 'Your organization requires MFA: set it up first' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'No such route' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request took too long to arrive' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  signing_key_rotation_pending: { status: 409, title: 'A rotated signing key is already staged and not signing yet' },
  email_taken: { status: 409, title: 'An account with this email already exists' },
  last_owner: { status: 409, title: 'The last owner of an organization cannot be removed or demoted' },
  already_member: { status: 409, title: 'This person is already a member of the organization' },
  invitation_used: { status: 409, title: 'This invitation was already accepted' },
  invitation_expired: { status: 410, title: 'This invitation has expired' },
  invitation_revoked: { status: 410, title: 'This invitation was revoked' },
  invitation_authority_lost: { status: 410, title: 'Whoever sent this invitation can no longer grant its role; ask for a new one' },
  mfa_already_enabled: { status: 409, title: 'Two-factor authentication is already enabled' },
  mfa_not_enabled: { status: 409, title: 'Two-factor authentication is not enabled' },
  mfa_setup_required: { status: 409, title: 'Start two-factor setup first' },
  phone_not_on_account: { status: 409, title: "The number could not be verified on your organization's Twilio account" },
  phone_assignment_required: { status: 409, title: "Numbers on the platform's Twilio account are assigned by the platform operator" },
  phone_verified_by_account: { status: 409, title: 'This organization has its own Twilio account: its numbers are verified on that account' },
  phone_not_verified: { status: 409, title: 'The phone number is not verified yet: it cannot place or receive calls' },
  phone_inactive: { status: 409, title: 'The phone number is not active' },
  twilio_not_configured: { status: 409, title: 'Twilio is not configured for this organization' },
  twilio_credentials_rejected: { status: 409, title: "Twilio refused your organization's credentials" },
  twilio_account_changed: { status: 409, title: "Your organization's Twilio account changed while the number was being checked: verify it again" },
  scheduled_call_limit_reached: { status: 409, title: 'Your organization has too many scheduled calls waiting; cancel some or wait' },
  phone_number_exists: { status: 409, title: 'This number is already registered in your organization' },
  phone_has_active_agent: { status: 409, title: 'This phone already has an active incoming agent' },
  phone_has_active_message_agent: { status: 409, title: 'This phone already has an active messaging agent' },
  number_on_do_not_call_list: { status: 409, title: "The number is on the organization's do-not-call list" },
  do_not_call_number_exists: { status: 409, title: 'This number is already on the do-not-call list' },
  scheduled_call_not_pending: { status: 409, title: 'Only a pending scheduled call can be changed or cancelled' },
  conversation_recording: { status: 409, title: 'The conversation is still being recorded; its audio is available once it ends' },
  refresh_in_progress: { status: 409, title: 'The refresh token was just rotated by a concurrent request' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  uri_too_long: { status: 414, title: 'The URL is too long' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  range_not_satisfiable: { status: 416, title: 'The requested range is outside the file' },
  invalid_preferences: { status: 422, title: 'The preferences break the preference rules (key names, value length, count or size)' },
  quota_above_platform_limit: { status: 422, title: "A quota must not exceed the platform's limit (nor the reserved share the maximum)" },
  rate_limited: { status: 429, title: 'Too many requests' },
  quota_exceeded: { status: 429, title: "The organization's concurrency quota is used up; try again when a slot is free" },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  internal_error: { status: 500, title: 'Internal server error' },
  twilio_unavailable: { status: 502, title: 'Twilio could not be reached; try again shortly' },
  database_unavailable: { status: 503, title: 'The database is unavailable; try again shortly' },
  database_busy: { status: 503, title: 'The database did not finish in time (a lock held elsewhere, or a slow statement); try again shortly' },
  livekit_not_configured: { status: 503, title: 'LiveKit is not configured on this server' },
  shutting_down: { status: 503, title: 'The server is shutting down' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ProblemExtras {
  /** Field-level errors, for forms: [{ field, message }]. */
  errors?: { field: string; message: string }[];
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  [key: string]: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extras: ProblemExtras = {},
    options?: { cause?: unknown },
  ) {
    super(detail ?? ERRORS[code].title, options);
    this.status = ERRORS[code].status;
  }
}

export const notFound = (what = 'resource') => new AppError('not_found', `No such ${what}`);
