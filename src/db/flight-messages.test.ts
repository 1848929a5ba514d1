// The embedded driver's own encoding of a flight is byte for byte what PGlite's serializer writes
// for the same messages (src/db/flight-messages.ts), and PGlite answers it.
import { PGlite, protocol } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { encodeFlight, type FlightStatement } from './flight-messages.ts';

const { serialize } = protocol;

function pgliteEncoding(statements: readonly FlightStatement[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of statements) {
    if (s.parse) parts.push(serialize.parse({ name: s.name, text: s.sql }));
    parts.push(serialize.bind({ statement: s.name, values: [...s.values] as string[] }));
    if (s.describe) parts.push(serialize.describe({ type: 'P' }));
    parts.push(serialize.execute({}));
  }
  parts.push(serialize.sync());
  return Buffer.concat(parts);
}

const statement = (over: Partial<FlightStatement>): FlightStatement => ({
  name: '',
  parse: false,
  sql: 'select 1',
  values: [],
  describe: false,
  ...over,
});

describe('a flight encoded by the embedded driver', () => {
  it('is what PGlite serializes: names, SQL and values in UTF-8, NULLs, bytes, empty strings', () => {
    const cases: FlightStatement[][] = [
      [statement({})],
      [statement({ name: 'sb_1', parse: true, sql: 'select $1::text', values: ['x'] })],
      [
        statement({ name: 'sb_2', values: ['0190a0a0-0000-7000-8000-000000000001', 'owner', ''] }),
        statement({
          name: 'sb_3',
          parse: true,
          sql: 'select * from "prompts" where "name" = $1 and "content" = $2 and "x" = $3',
          values: ['Café ☎ 电话 🎧', null, Buffer.from([0, 1, 2, 255])],
          describe: true,
        }),
      ],
      [statement({ parse: true, sql: 'select \'ünïcødé\' as "naïve"', describe: true })],
    ];
    for (const flight of cases) {
      expect(Buffer.from(encodeFlight(flight)).toString('hex')).toBe(
        Buffer.from(pgliteEncoding(flight)).toString('hex'),
      );
    }
  });

  it('runs on PGlite: values arrive intact, the described answer reads back', async () => {
    const pglite = await PGlite.create();
    try {
      const { messages } = await pglite.execProtocol(
        encodeFlight([
          statement({
            name: 'sb_t',
            parse: true,
            sql: 'select $1::text as t, $2::text as n, $3::bytea as b',
            values: ['Café ☎ 🎧', null, Buffer.from([0, 1, 255])],
            describe: true,
          }),
        ]),
      );
      const row = messages.find((m) => m instanceof protocol.messages.DataRowMessage);
      expect((row as InstanceType<typeof protocol.messages.DataRowMessage>).fields).toEqual([
        'Café ☎ 🎧',
        null,
        '\\x0001ff',
      ]);
    } finally {
      await pglite.close();
    }
  });
});
