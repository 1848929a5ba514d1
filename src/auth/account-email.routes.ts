// The mailed-link flows: email verification (/api/auth/email/*) and password reset
// (/api/auth/password/forgot, /api/auth/password/reset).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../http/errors.ts';
import { requestMeta } from '../http/request-meta.ts';
import { MFA_PENDING_ALLOWED } from '../http/route-config.ts';
import { NoContent, optionalBody, responses } from '../http/schemas.ts';
import type { AuthContext } from './auth-context.ts';
import { resendVerification, verifyEmailToken } from './email-verification.ts';
import { forgotPassword, resetPassword } from './password-reset.ts';

const Token = Type.String({ minLength: 1, maxLength: 512, description: 'The token from the link' });
const Email = Type.String({ minLength: 3, maxLength: 320 });
const Accepted = Type.Object({ message: Type.String() });

export const FORGOT_ANSWER = {
  message: 'If an account uses this address, a link to reset its password is on its way.',
};
export const RESEND_ANSWER = {
  message: 'If this address belongs to an unverified account, a new link is on its way.',
};

export const accountEmailRoutes: FastifyPluginAsyncTypebox<{ auth: AuthContext }> = async (
  app,
  { auth },
) => {
  const tags = ['auth'];

  app.post(
    '/api/auth/email/verify',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'verifyEmail',
        security: [],
        tags,
        summary: 'Confirm your email address with the token from the mailed link',
        description:
          'An account whose address was never verified and that has a password also needs `password`, the one chosen at sign-up: the link proves the mailbox, the password that its owner is who signed up. Without it: `400 validation_failed` on `password`; a wrong one: `401 invalid_credentials`, counted with failed logins (the link stays usable). Someone who did not sign up themselves uses "forgot password" instead: that link proves the address and replaces the password. An already verified account, or one without a password, needs the token alone (`password` is then ignored). The first proof of an address ends every session of the account and removes the MFA and API keys set up before it.',
        body: Type.Object(
          {
            token: Token,
            password: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 1024,
                description:
                  'The password chosen at sign-up; required while the address is unverified and the account has one',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: responses({ 204: NoContent }, [401, 403, 409, 429]),
      },
    },
    async (request, reply) => {
      await verifyEmailToken(auth, request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/email/resend',
    {
      // Taken without a credential too: a pending (MFA enrolment) session along must not refuse
      // what an anonymous caller gets, and the dashboard offers it to such a session.
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'resendVerificationEmail',
        tags,
        security: [{ bearerAuth: [] }, { cookieAuth: [] }, {}],
        summary: 'Send the verification link again',
        description:
          'Signed in: to your own address (no body needed). Signed out: to `email`, with the same answer whether or not such an unverified account exists. Rate limited per address.',
        body: optionalBody(
          Type.Object({ email: Type.Optional(Email) }, { additionalProperties: false }),
        ),
        response: responses({ 202: Accepted }, [401, 403, 429]),
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      // A cookie-borne session without its CSRF header: refuse rather than fall back to anonymous.
      if (request.authFailure) throw new AppError(request.authFailure);
      await resendVerification(auth, request.principal, request.body ?? {}, requestMeta(request));
      return reply.code(202).send(RESEND_ANSWER);
    },
  );

  app.post(
    '/api/auth/password/forgot',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'requestPasswordReset',
        security: [],
        tags,
        summary: 'Mail a password-reset link',
        description:
          'Always 202 with the same body, whether or not the address has an account. The link (/reset-password?token=…) works once and expires after PASSWORD_RESET_TTL_MINUTES.',
        body: Type.Object({ email: Email }, { additionalProperties: false }),
        response: responses({ 202: Accepted }, [403, 429]),
      },
    },
    async (request, reply) => {
      await forgotPassword(auth, request.body, requestMeta(request));
      return reply.code(202).send(FORGOT_ANSWER);
    },
  );

  app.post(
    '/api/auth/password/reset',
    {
      config: { ...MFA_PENDING_ALLOWED, crossSite: 'refuse' },
      schema: {
        operationId: 'resetPassword',
        security: [],
        tags,
        summary: 'Set a new password with a reset (or set-password) token; every session ends',
        body: Type.Object(
          { token: Token, new_password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: responses({ 204: NoContent }, [403, 429]),
      },
    },
    async (request, reply) => {
      await resetPassword(auth, request.body, requestMeta(request));
      return reply.code(204).send(null);
    },
  );
};
