// Schemas shared by every route: the problem document and helpers to declare error responses so
// the OpenAPI document lists them.
import { type TSchema, Type } from 'typebox';

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String(),
          message: Type.String(),
          rule: Type.Optional(Type.String()),
        }),
      ),
    ),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem document' },
);

const ProblemRef = Type.Ref('Problem');

/** Declare a route's success responses plus the problem documents it may answer with. */
export function responses<T extends Record<number, TSchema>>(ok: T, errorStatuses: number[] = []) {
  const out: Record<number, TSchema> = { ...ok };
  for (const s of [400, ...errorStatuses, 500, 503]) out[s] = ProblemRef;
  return out as T;
}

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Timestamp = Type.String({ format: 'date-time' });
export const NoContent = Type.Null({ description: 'No content' });
