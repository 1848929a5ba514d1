// Twilio's webhooks: POST /webhooks/twilio/voice, /status and /sms. Public (Twilio has no user
// session) and therefore trusted only with a valid X-Twilio-Signature by the owning org's auth
// token, checked before the body is even validated: an unsigned or forged request is a 403 and
// stores nothing. Bodies are form-encoded; answers are TwiML (text/xml).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { type TSchema, Type } from 'typebox';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { CallStatus } from '../db/schema.ts';
import { AppError } from '../http/errors.ts';
import { FORM_TYPE } from '../http/form-body.ts';
import { responses } from '../http/schemas.ts';
import { isWellFormedText } from '../http/validation.ts';
import { releaseCallSlot } from '../quotas/call-slots.ts';
import type { Quotas } from '../quotas/quotas.service.ts';
import { callbackAttempt, recordCallStatus } from './call-status.ts';
import { CALL_STATUSES } from './call-transition.ts';
import { answerCall } from './incoming-call.ts';
import { receiveSms } from './incoming-sms.ts';
import type { MediaTokens } from './stream-token.ts';
import { NOT_IN_SERVICE_MESSAGE, sayAndHangUpTwiml, smsReplyTwiml } from './twiml.ts';
import { findWebhookOwner, type OwnerKey, type WebhookOwner } from './webhook-owner.ts';
import { isValidTwilioSignature, webhookUrl } from './webhook-signature.ts';

const CALL_SID = '^CA[0-9a-fA-F]{32}$';
const MESSAGE_SID = '^(SM|MM)[0-9a-fA-F]{32}$';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CALL_SID_RE = new RegExp(CALL_SID);
const MESSAGE_SID_RE = new RegExp(MESSAGE_SID);

const TWILIO_PARAM_NAME = '^[A-Z][A-Za-z0-9_]*$';
/** Every parameter's cap, the declared ones included (the pattern applies to them too). */
const TWILIO_PARAM_MAX = 4096;

/**
 * Twilio sends many parameters and adds new ones over time, all PascalCase: those are accepted
 * (they are covered by the signature); anything else is rejected like on every other route.
 */
function twilioParams<T extends Record<string, TSchema>>(props: T) {
  return Type.Object(props, {
    // The OpenAPI document shows the pattern's schema as additionalProperties: say the rule.
    description: `Twilio's parameters. Any other parameter Twilio sends is accepted when its name is PascalCase (${TWILIO_PARAM_NAME}), with values of at most ${TWILIO_PARAM_MAX} characters; any other name is refused (400).`,
    additionalProperties: false,
    patternProperties: {
      [TWILIO_PARAM_NAME]: Type.Union([
        Type.String({ maxLength: TWILIO_PARAM_MAX }),
        Type.Array(Type.String({ maxLength: TWILIO_PARAM_MAX }), { maxItems: 50 }),
      ]),
    },
  });
}
const Party = Type.String({ maxLength: 256, description: 'E.164 number, client: or sip: id' });
const Status = Type.Enum(CALL_STATUSES);
const Digits = Type.String({ pattern: '^[0-9]{1,7}$' });

const VoiceBody = twilioParams({
  CallSid: Type.String({ pattern: CALL_SID }),
  From: Party,
  To: Party,
  CallStatus: Type.Optional(Status),
});
const StatusBody = twilioParams({
  CallSid: Type.String({ pattern: CALL_SID }),
  CallStatus: Status,
  From: Party,
  To: Party,
  Direction: Type.Optional(Type.String({ maxLength: 32 })),
  CallDuration: Type.Optional(Digits),
});
const SmsBody = twilioParams({
  MessageSid: Type.String({ pattern: MESSAGE_SID }),
  From: Party,
  To: Party,
  // An SMS body is at most 1600 characters; the cap of every parameter applies.
  Body: Type.Optional(Type.String({ maxLength: TWILIO_PARAM_MAX })),
  NumMedia: Type.Optional(Digits),
  SmsStatus: Type.Optional(Type.String({ maxLength: 32 })),
});
/** Our own callback URLs carry these (the dispatcher's calls); they are signed with the URL. */
const CallbackQuery = Type.Object(
  {
    scheduled_call_id: Type.Optional(Type.String({ format: 'uuid' })),
    dispatch_key: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);

const Twiml = { description: 'TwiML', content: { 'text/xml': { schema: Type.String() } } };
const twimlResponses = { ...responses({}, [403, 413, 415]), 200: Twiml };

type Params = Record<string, unknown>;
/**
 * A parameter as text, or undefined: too long, or text the database cannot store (NUL, a lone
 * surrogate). The owner is looked up before the signature is checked, so nothing unsigned may
 * make that lookup fail: unsigned junk is a 403, whatever it carries.
 */
const text = (params: Params, name: string, max = 256): string | undefined => {
  const v = params[name];
  return typeof v === 'string' && v.length <= max && isWellFormedText(v) ? v : undefined;
};
const matching = (v: string | undefined, re: RegExp) => (v && re.test(v) ? v : undefined);

/** The keys that find the owning org, read from the (not yet validated) request. */
function ownerKey(kind: 'voice' | 'status' | 'sms', params: Params, query: Params): OwnerKey {
  const outbound = (text(params, 'Direction') ?? '').startsWith('outbound');
  return {
    scheduledCallId: matching(text(query, 'scheduled_call_id'), UUID),
    callSid: matching(text(params, 'CallSid'), CALL_SID_RE),
    messageSid: matching(text(params, 'MessageSid'), MESSAGE_SID_RE),
    // Our number: the called one, except for calls we place (we are the caller).
    number: text(params, kind === 'status' && outbound ? 'From' : 'To', 64),
  };
}

export interface WebhookDeps {
  database: Database;
  config: Readonly<Config>;
  logger: Logger;
  mediaTokens: MediaTokens;
  /** Concurrency quotas: an incoming call's slot is taken with its TwiML, released when it ends. */
  quotas?: Quotas;
}

export const twilioWebhookRoutes: FastifyPluginAsyncTypebox<WebhookDeps> = async (app, deps) => {
  const owners = new WeakMap<FastifyRequest, WebhookOwner>();

  function verified(kind: 'voice' | 'status' | 'sms') {
    return async (request: FastifyRequest) => {
      const type = request.headers['content-type'] ?? '';
      if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        throw new AppError('unsupported_media_type', 'Twilio webhooks are form-encoded');
      }
      const params = (request.body ?? {}) as Params;
      const owner = await findWebhookOwner(
        deps,
        ownerKey(kind, params, (request.query ?? {}) as Params),
      );
      const url = webhookUrl(deps.config.publicUrl, request.url);
      const signature = request.headers['x-twilio-signature'];
      if (
        !owner.account ||
        !isValidTwilioSignature(owner.account.authToken, signature, url, params)
      ) {
        request.log.warn(
          { org_id: owner.orgId, path: request.routeOptions.url, signed: !!signature },
          owner.account
            ? 'twilio webhook refused: bad signature'
            : 'twilio webhook refused: no auth token',
        );
        throw new AppError('invalid_webhook_signature');
      }
      owners.set(request, owner);
    };
  }
  // A suspended org's webhooks (the kill switch) are still verified, then treated like those of a
  // number nobody routes: a polite "not in service" and nothing stored.
  const verifiedOwner = (request: FastifyRequest) => owners.get(request) as WebhookOwner;
  const ownerOf = (request: FastifyRequest) => {
    const owner = verifiedOwner(request);
    return owner.suspended ? { ...owner, orgId: null } : owner;
  };
  const tags = ['webhooks'];

  app.post(
    '/webhooks/twilio/voice',
    {
      preValidation: verified('voice'),
      schema: {
        operationId: 'receiveTwilioVoiceWebhook',
        security: [],
        tags,
        summary: 'Twilio voice webhook (incoming call, or an outgoing call answered)',
        description:
          'Signed by Twilio (X-Twilio-Signature) with the auth token of the org the number routes to. Answers TwiML that greets and <Connect><Stream>s the call to the active agent\'s media stream with a short-lived media token (an EdDSA JWT, `typ: media+jwt`, in `<Parameter name="token">`; verify it against /.well-known/jwks.json), or a polite message and <Hangup/>.',
        consumes: [FORM_TYPE],
        querystring: CallbackQuery,
        body: VoiceBody,
        response: twimlResponses,
      },
    },
    async (request, reply) => {
      const { orgId } = ownerOf(request);
      const b = request.body;
      const xml = orgId
        ? await answerCall(deps, orgId, {
            callSid: b.CallSid,
            from: b.From,
            to: b.To,
            status: b.CallStatus as CallStatus | undefined,
            scheduledCallId: request.query.scheduled_call_id,
            dispatchKey: request.query.dispatch_key,
          })
        : sayAndHangUpTwiml(NOT_IN_SERVICE_MESSAGE);
      return reply.type('text/xml').send(xml);
    },
  );

  app.post(
    '/webhooks/twilio/status',
    {
      preValidation: verified('status'),
      schema: {
        operationId: 'receiveTwilioStatusWebhook',
        security: [],
        tags,
        summary: 'Twilio call status callback',
        description:
          'Moves the call through its statuses and records its duration. Each (CallSid, CallStatus) is applied once: retries change nothing.',
        consumes: [FORM_TYPE],
        querystring: CallbackQuery,
        body: StatusBody,
        response: {
          ...responses({}, [403, 413, 415]),
          204: Type.Null({ description: 'Recorded' }),
        },
      },
    },
    async (request, reply) => {
      const { orgId } = ownerOf(request);
      const b = request.body;
      if (orgId) {
        await recordCallStatus(deps.database, orgId, {
          callSid: b.CallSid,
          status: b.CallStatus as CallStatus,
          from: b.From,
          to: b.To,
          direction: b.Direction,
          durationSeconds: b.CallDuration === undefined ? undefined : Number(b.CallDuration),
          scheduledCallId: request.query.scheduled_call_id,
          dispatchKey: request.query.dispatch_key,
        });
      }
      // The call's end gives its live-call slot back even while its org is suspended (nothing is
      // stored then): the kill switch hung the call up, and a slot held past it would shrink the
      // org's quota for QUOTA_LEASE_SECONDS after it resumes.
      const slotOrg = verifiedOwner(request).orgId;
      if (slotOrg && deps.quotas) {
        const call = { callSid: b.CallSid, status: b.CallStatus as CallStatus };
        const attempt = await callbackAttempt(deps.database, slotOrg, {
          ...call,
          direction: b.Direction,
          scheduledCallId: request.query.scheduled_call_id,
          dispatchKey: request.query.dispatch_key,
        });
        await releaseCallSlot(deps.quotas, slotOrg, { ...call, ...attempt });
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/twilio/sms',
    {
      preValidation: verified('sms'),
      schema: {
        operationId: 'receiveTwilioSmsWebhook',
        security: [],
        tags,
        summary: 'Twilio messaging webhook (incoming SMS)',
        description:
          "Logs the message once (retries store nothing new) and answers with the phone's messaging agent's auto-reply as <Message> TwiML.",
        consumes: [FORM_TYPE],
        querystring: CallbackQuery,
        body: SmsBody,
        response: twimlResponses,
      },
    },
    async (request, reply) => {
      const { orgId } = ownerOf(request);
      const b = request.body;
      const xml = orgId
        ? await receiveSms(deps.database, orgId, {
            messageSid: b.MessageSid,
            from: b.From,
            to: b.To,
            body: b.Body ?? '',
            numMedia: b.NumMedia === undefined ? 0 : Number(b.NumMedia),
            status: b.SmsStatus,
          })
        : smsReplyTwiml(null);
      return reply.type('text/xml').send(xml);
    },
  );
};
