import { createRequire } from 'node:module';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { eagerSerializers, lazySerializers, serializerSchema } from './serialization.ts';

const Timestamp = Type.String({ format: 'date-time' });
const Item = Type.Object({
  id: Type.String({ format: 'uuid' }),
  ended_at: Type.Union([Timestamp, Type.Null()], { description: 'when it ended' }),
  seconds: Type.Union([Type.Integer(), Type.Null()]),
  label: Type.Union([Type.Null(), Type.String()]),
  // Not a nullable scalar: left to fast-json-stringify's anyOf.
  owner: Type.Union([Type.Object({ name: Type.String() }), Type.Null()]),
  state: Type.Union([Type.Literal('a'), Type.Literal('b'), Type.Null()]),
});
const Page = Type.Object({
  items: Type.Array(Item),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

// Fastify's own compiler on the schema as written: what the answers were before.
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const { SerializerSelector } = fromFastify('@fastify/fast-json-stringify-compiler') as {
  SerializerSelector: () => (
    s: unknown,
    o: unknown,
  ) => (r: {
    schema: unknown;
    method: string;
    url: string;
    httpStatus: string;
  }) => (d: unknown) => string;
};
const route = { schema: Page, method: 'GET', url: '/x', httpStatus: '200' };
const asWritten = SerializerSelector()({}, {})(route);

const pages = [
  {
    items: [
      {
        id: '0194f0a8-1b7d-7a3c-9e5f-0123456789ab',
        ended_at: new Date(0),
        seconds: 42,
        label: 'say "hi"\n',
        owner: { name: 'Ada' },
        state: 'a',
      },
      {
        id: '0194f0a8-1b7d-7a3c-9e5f-0123456789ac',
        ended_at: null,
        seconds: null,
        label: null,
        owner: null,
        state: null,
      },
      {
        id: '0194f0a8-1b7d-7a3c-9e5f-0123456789ad',
        ended_at: '2026-12-01T04:00:00.000Z',
        seconds: 0,
        label: '',
        owner: null,
        state: 'b',
      },
    ],
    next_cursor: null,
  },
  { items: [], next_cursor: 'abc' },
];

describe('serializerSchema', () => {
  it('compiles a nullable scalar as a type list, keeping its keywords and siblings', () => {
    const s = serializerSchema(Item) as { properties: Record<string, unknown> };
    expect(s.properties.ended_at).toEqual({
      type: ['string', 'null'],
      format: 'date-time',
      description: 'when it ended',
    });
    expect(s.properties.seconds).toEqual({ type: ['integer', 'null'] });
    expect(s.properties.label).toEqual({ type: ['string', 'null'] });
  });

  it('leaves other unions as they are, and never changes the schema it was given', () => {
    const before = JSON.stringify(Item);
    const s = serializerSchema(Item) as { properties: Record<string, unknown> };
    expect(s.properties.owner).toEqual(JSON.parse(JSON.stringify(Item.properties.owner)));
    expect(s.properties.state).toEqual(JSON.parse(JSON.stringify(Item.properties.state)));
    expect(JSON.stringify(Item)).toBe(before);
    expect(Item.properties.seconds).toHaveProperty('anyOf');
  });

  it('answers exactly what the schema as written answered, lazily and eagerly', () => {
    const lazy = lazySerializers()({}, {})(route);
    const eager = eagerSerializers()({}, {})(route);
    for (const page of pages) {
      const expected = asWritten(page);
      expect(JSON.parse(expected)).toEqual(JSON.parse(JSON.stringify(page)));
      expect(lazy(page)).toBe(expected);
      expect(eager(page)).toBe(expected);
    }
  });

  it('still refuses a value of the wrong type in a nullable field', () => {
    const lazy = lazySerializers()({}, {})(route);
    const bad = { items: [{ ...pages[0]!.items[1]!, seconds: 1.5 }], next_cursor: null };
    expect(() => asWritten(bad)).toThrow();
    expect(() => lazy(bad)).toThrow();
  });
});
