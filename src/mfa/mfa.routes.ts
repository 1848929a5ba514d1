// /api/auth/mfa/*: TOTP setup and enable, the login's second step, backup codes, disable.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isPerson } from '../access/actor.ts';
import { type Principal, requirePrincipal } from '../access/principal.ts';
import type { AuthContext } from '../auth/auth-context.ts';
import { sessionCookiesHeader } from '../auth/cookies.ts';
import type { AfterLoginHook } from '../auth/login.ts';
import { SessionTokens, sessionResponse } from '../auth/session-response.ts';
import { AppError } from '../http/errors.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { NoContent, responses, Timestamp, withHeaders } from '../http/schemas.ts';
import { regenerateBackupCodes } from './backup-codes-regenerate.ts';
import { disableMfa } from './disable.ts';
import { enableMfa } from './enable.ts';
import { startMfaSetup } from './setup.ts';
import { mfaStatus } from './status.ts';
import { verifyMfaLogin } from './verify.ts';

export interface MfaRouteOptions {
  auth: AuthContext;
  afterLogin?: AfterLoginHook;
}

const Code = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'A 6-digit code from the authenticator app, or one of the backup codes',
});
const TotpCode = Type.String({ minLength: 1, maxLength: 64, description: '6 digits' });
const BackupCodes = Type.Object({
  backup_codes: Type.Array(Type.String(), {
    description: 'Shown only in this answer; each works once',
  }),
});

/** The caller, who must be a person: an API key acts on resources, never on its creator's MFA. */
function person(request: FastifyRequest): Principal {
  const p = requirePrincipal(request);
  if (!isPerson(p)) throw new AppError('forbidden', 'API keys cannot do this; a person must');
  return p;
}

export const mfaRoutes: FastifyPluginAsyncTypebox<MfaRouteOptions> = async (app, opts) => {
  const { auth } = opts;
  const tags = ['mfa'];
  const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
  const answer = sessionResponse(auth);

  app.get(
    '/api/auth/mfa',
    {
      schema: {
        operationId: 'getMfaStatus',
        tags,
        security,
        summary: 'Your two-factor status',
        response: responses(
          {
            200: Type.Object({
              enabled: Type.Boolean(),
              enabled_at: Type.Union([Timestamp, Type.Null()]),
              backup_codes_remaining: Type.Integer(),
            }),
          },
          [401, 403],
        ),
      },
    },
    async (request) => mfaStatus(auth, person(request)),
  );

  app.post(
    '/api/auth/mfa/setup',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'startMfaSetup',
        tags,
        security,
        summary: 'Start TOTP enrolment: a new secret, its otpauth URI and QR code',
        description:
          'The secret stays pending until POST /api/auth/mfa/enable proves a code from it. Calling again replaces the pending secret. TOTP: SHA1, 6 digits, 30 s.',
        response: responses(
          {
            200: Type.Object({
              secret: Type.String({ description: 'Base32, for manual entry' }),
              otpauth_url: Type.String(),
              qr_code: Type.String({ description: 'data:image/png;base64,… of otpauth_url' }),
            }),
          },
          [401, 403, 409],
        ),
      },
    },
    async (request) => startMfaSetup(auth, person(request), requestMeta(request)),
  );

  app.post(
    '/api/auth/mfa/enable',
    {
      config: MFA_PENDING_ALLOWED,
      schema: {
        operationId: 'enableMfa',
        tags,
        security,
        summary: 'Turn MFA on with a code from the pending secret; answers 10 backup codes',
        description:
          'An enrolment-only session (org policy) counts as MFA-verified afterwards: its next POST /api/auth/refresh answers full tokens.',
        body: Type.Object({ code: TotpCode }, { additionalProperties: false }),
        response: responses({ 200: BackupCodes }, [401, 403, 409, 429]),
      },
    },
    async (request) => ({
      backup_codes: await enableMfa(auth, person(request), request.body.code, requestMeta(request)),
    }),
  );

  app.post(
    '/api/auth/mfa/verify',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'verifyMfaChallenge',
        security: [],
        tags,
        summary: "The login's second step: the mfa_token plus a TOTP code or a backup code",
        description:
          'Exactly one of `code` and `backup_code`. Answers tokens and sets cookies like a login; `amr` contains `mfa`.',
        body: Type.Object(
          {
            mfa_token: Type.String({ minLength: 1, maxLength: 512 }),
            code: Type.Optional(TotpCode),
            backup_code: Type.Optional(Code),
          },
          { additionalProperties: false },
        ),
        response: responses(
          { 200: withHeaders(SessionTokens, sessionCookiesHeader()) },
          [401, 403, 429],
        ),
      },
    },
    async (request, reply) => {
      const { mfa_token, code, backup_code } = request.body;
      if ((code === undefined) === (backup_code === undefined)) {
        throw new AppError('validation_failed', 'Send exactly one of code and backup_code', {
          errors: [{ field: 'code', message: 'exactly one of code and backup_code is required' }],
        });
      }
      const factor = code !== undefined ? { totp: code } : { backupCode: backup_code as string };
      const r = await verifyMfaLogin(
        auth,
        { mfa_token, factor },
        requestMeta(request),
        opts.afterLogin,
      );
      answer.setCookies(reply, r.tokens);
      return answer.loginBody(r);
    },
  );

  app.post(
    '/api/auth/mfa/backup-codes',
    {
      schema: {
        operationId: 'regenerateBackupCodes',
        tags,
        security,
        summary: 'A fresh set of 10 backup codes; the old set stops working',
        body: Type.Object({ code: Code }, { additionalProperties: false }),
        response: responses({ 200: BackupCodes }, [401, 403, 409, 429]),
      },
    },
    async (request) => ({
      backup_codes: await regenerateBackupCodes(
        auth,
        person(request),
        request.body.code,
        requestMeta(request),
      ),
    }),
  );

  app.post(
    '/api/auth/mfa/disable',
    {
      schema: {
        operationId: 'disableMfa',
        tags,
        security,
        summary: 'Turn MFA off: needs the password and a current code (or a backup code)',
        body: Type.Object(
          { password: Type.String({ minLength: 1, maxLength: 1024 }), code: Code },
          { additionalProperties: false },
        ),
        response: responses({ 204: NoContent }, [401, 403, 409, 429]),
      },
    },
    async (request, reply) => {
      await disableMfa(auth, person(request), request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};
