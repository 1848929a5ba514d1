// /api/orgs/current/calling-window and /api/orgs/current/do-not-call: the org's outbound calling
// rules. Routes validate input and shape output; the service holds the rules.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requirePrincipal } from '../access/principal.ts';
import { AppError } from '../http/errors.ts';
import { PageOf, PageQuery } from '../http/pagination.ts';
import { assertConsumed, assertPlainBody, refused, strictUtf8 } from '../http/request-body.ts';
import { requestMeta } from '../http/request-meta.ts';
import { IdParams, NoContent, responses, Timestamp } from '../http/schemas.ts';
import { deleteSettingRoute, getSettingRoute, putSettingRoute } from '../http/setting-routes.ts';
import { type CallingRulesService, toNumberView } from './calling-rules.service.ts';
import { MAX_CSV_LINES, MAX_REASON_LENGTH } from './csv.ts';

const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];
const tags = ['calling-rules'];
/** An import's body: 5000 lines of a number and a reason fit well within it. */
export const MAX_CSV_BYTES = 1_048_576;

const E164 = Type.String({
  pattern: '^\\+[1-9][0-9]{6,14}$',
  maxLength: 16,
  description: 'Phone number in E.164 form',
  examples: ['+14155550100'],
});
const Uuid = Type.String({ format: 'uuid' });
const Clock = Type.String({
  pattern: '^([01][0-9]|2[0-4]):[0-5][0-9]$',
  description: 'Local time HH:MM (end may be 24:00)',
  examples: ['09:00'],
});
const Days = Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
  minItems: 1,
  maxItems: 7,
  description: 'ISO weekdays: 1 = Monday … 7 = Sunday',
  examples: [[1, 2, 3, 4, 5]],
});
const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone name',
  examples: ['America/New_York'],
});

const WindowOut = Type.Object(
  {
    time_zone: TimeZone,
    days: Days,
    start: Clock,
    end: Clock,
    updated_by: Type.Union([Uuid, Type.Null()]),
    updated_at: Timestamp,
  },
  { title: 'CallingWindow' },
);
const WindowBody = Type.Object(
  {
    time_zone: TimeZone,
    days: Days,
    start: { ...Clock, description: 'HH:MM, 24-hour: opens at this local time (inclusive)' },
    end: {
      ...Clock,
      description: 'HH:MM, 24-hour: closes at this local time (exclusive); after start',
    },
  },
  { additionalProperties: false },
);
const NumberOut = Type.Object(
  {
    id: Uuid,
    number: E164,
    reason: Type.String(),
    added_by: Type.Union([Uuid, Type.Null()], { description: 'Who added it' }),
    created_at: Timestamp,
  },
  { title: 'DoNotCallNumber' },
);
const AddBody = Type.Object(
  {
    number: E164,
    reason: Type.Optional(Type.String({ maxLength: MAX_REASON_LENGTH })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  { ...PageQuery, number: Type.Optional(E164) },
  { additionalProperties: false },
);
const ImportOut = Type.Object(
  {
    lines: Type.Integer({ description: 'Data lines read' }),
    added: Type.Integer({ description: 'Numbers newly listed' }),
    already_listed: Type.Integer({ description: 'Numbers that were on the list before' }),
    duplicates_in_file: Type.Integer({ description: 'Lines repeating a number of the file' }),
    calls_cancelled: Type.Integer({ description: 'Pending scheduled calls cancelled' }),
  },
  { title: 'DoNotCallImport' },
);

export const callingRulesRoutes: FastifyPluginAsyncTypebox<{
  callingRules: CallingRulesService;
}> = async (app, { callingRules }) => {
  // Encapsulated, and only for the routes that list text/csv in `consumes` (the import): the
  // plugin's JSON routes answer a CSV body 415, as every route answers a type it does not take.
  // UTF-8 only: a file in another encoding is refused, not stored with U+FFFD in its reasons.
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'buffer', bodyLimit: MAX_CSV_BYTES },
    (request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
      try {
        assertConsumed(request, 'text/csv');
        assertPlainBody(request);
        done(null, strictUtf8(body, { code: 'validation_failed', name: 'file' }));
      } catch (err) {
        done(refused(request, err));
      }
    },
  );

  const windowPath = '/api/orgs/current/calling-window';
  const listPath = '/api/orgs/current/do-not-call';

  getSettingRoute(
    app,
    windowPath,
    {
      operationId: 'getCallingWindow',
      tags,
      security,
      summary: "The org's calling window (null: calls go at any time)",
    },
    Type.Object({ window: Type.Union([WindowOut, Type.Null()]) }),
    async (request) => ({ window: await callingRules.getWindow(requirePrincipal(request)) }),
  );

  putSettingRoute(
    app,
    windowPath,
    {
      operationId: 'setCallingWindow',
      tags,
      security,
      summary: 'Set the calling window (owners and admins)',
      description:
        'Scheduled calls are placed only on these weekdays between start and end, local time in time_zone (or in the call’s recipient_time_zone). A call due outside the window waits for the next opening; its dispatch_at says when. Audited.',
    },
    WindowBody,
    WindowOut,
    (request, body) =>
      callingRules.setWindow(requirePrincipal(request), body, requestMeta(request)),
  );

  deleteSettingRoute(
    app,
    windowPath,
    {
      operationId: 'deleteCallingWindow',
      tags,
      security,
      summary: 'Remove the calling window: calls go at any time (owners and admins)',
    },
    (request) => callingRules.clearWindow(requirePrincipal(request), requestMeta(request)),
  );

  app.get(
    listPath,
    {
      schema: {
        operationId: 'listDoNotCallNumbers',
        tags,
        security,
        summary: 'The do-not-call list (newest first, cursor pagination)',
        querystring: ListQuery,
        response: responses({ 200: PageOf(NumberOut) }, [401, 403]),
      },
    },
    async (request) => {
      const { limit = 20, ...rest } = request.query;
      const result = await callingRules.listNumbers(requirePrincipal(request), { limit, ...rest });
      return { items: result.items.map(toNumberView), next_cursor: result.next_cursor };
    },
  );

  app.post(
    listPath,
    {
      schema: {
        operationId: 'addDoNotCallNumber',
        tags,
        security,
        summary: 'Add a number to the do-not-call list (managers and up)',
        description:
          'Cancels, in the same transaction, every pending scheduled call of the org to the number (calls_cancelled). Scheduling a call to a listed number answers 409 number_on_do_not_call_list. Audited.',
        body: AddBody,
        response: responses(
          {
            201: Type.Object(
              { ...NumberOut.properties, calls_cancelled: Type.Integer() },
              { title: 'DoNotCallNumberAdded' },
            ),
          },
          [401, 403, 409, 413, 415],
        ),
      },
    },
    async (request, reply) => {
      const { row, calls_cancelled } = await callingRules.addNumber(
        requirePrincipal(request),
        request.body,
        requestMeta(request),
      );
      return reply.code(201).send({ ...toNumberView(row), calls_cancelled });
    },
  );

  app.post(
    `${listPath}/import`,
    {
      schema: {
        operationId: 'importDoNotCallNumbers',
        tags,
        security,
        summary: 'Import numbers from CSV (managers and up)',
        description: `A text/csv body: \`number,reason\` a line (reason optional; an optional header line \`number,reason\`; fields may be quoted), at most ${MAX_CSV_LINES} numbers and ${MAX_CSV_BYTES} bytes. All or nothing: any bad line answers 400 naming the bad lines (\`errors[].field\` = "line N"; the first 100, \`detail\` counts them all) and nothing is written. Numbers already listed are counted, not errors. Pending calls to the new numbers are cancelled. Audited.`,
        consumes: ['text/csv'],
        body: Type.String({ maxLength: MAX_CSV_BYTES, description: 'CSV: number,reason' }),
        response: responses({ 200: ImportOut }, [401, 403, 413, 415]),
      },
      // Only CSV: a JSON or form body (parsed by the app's parsers) is not a list of numbers.
      preValidation: async (request) => {
        const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
        if (type !== 'text/csv') {
          throw new AppError('unsupported_media_type', 'Send the numbers as text/csv');
        }
      },
    },
    async (request) =>
      callingRules.importCsv(requirePrincipal(request), request.body, requestMeta(request)),
  );

  app.delete(
    `${listPath}/:id`,
    {
      schema: {
        operationId: 'deleteDoNotCallNumber',
        tags,
        security,
        summary: 'Remove a number from the do-not-call list (managers and up)',
        description: 'Calls to it may be scheduled again; cancelled calls stay cancelled. Audited.',
        params: IdParams,
        response: responses({ 204: NoContent }, [401, 403, 404]),
      },
    },
    async (request, reply) => {
      await callingRules.removeNumber(
        requirePrincipal(request),
        request.params.id,
        requestMeta(request),
      );
      return reply.code(204).send(null);
    },
  );
};
