// The embedded database's answer parser (src/db/pglite-answers.ts) against PGlite's own: the
// same messages, of the same classes, from real answers of PGlite's backend — rows of every
// column type Switchboard stores, NULLs, multi-byte text, a value larger than a write, errors,
// notices, empty queries, extended-protocol flights — whole and cut into chunks at every size.
import { PGlite, protocol } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFlight } from './flight-messages.ts';
import { installAnswerParser, parseAnswerChunk, pgliteOwnParse } from './pglite-answers.ts';

type Message = Parameters<Parameters<protocol.Parser['parse']>[1]>[0];

let pglite: PGlite;

beforeAll(async () => {
  pglite = await PGlite.create();
  await pglite.exec(`
    CREATE TABLE kinds (
      id int PRIMARY KEY, big bigint, num numeric, ok boolean, at timestamptz, day date,
      uid uuid, doc jsonb, raw bytea, tags text[], body text
    );
    INSERT INTO kinds VALUES
      (1, 9007199254740993, 12.50, true, '2026-12-01T10:00:00.123456Z', '2026-12-02',
       '0194d1a2-7b3c-7def-8123-456789abcdef', '{"a": [1, "é"]}', '\\x00ff10', '{a,"b c",NULL}',
       'plain'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (3, -1, -0.001, false, '1970-01-01T00:00:00Z', '0001-01-01', '00000000-0000-0000-0000-000000000000',
       'null', '\\x', '{}', 'Grüße, 日本語, 👋🏽 and a quote '' and a backslash \\ and a tab' || chr(9)),
      (4, 0, 0, true, now(), now(), gen_random_uuid(), '[]', '\\x', '{""}', ''),
      (5, 0, 0, true, now(), now(), gen_random_uuid(), '{}', '\\x', '{}', repeat('long text ', 20000));
  `);
});
afterAll(() => pglite.close());

/** The raw bytes PGlite's backend wrote for `bytes`, errors included. */
async function answer(bytes: Uint8Array): Promise<Uint8Array> {
  const { data } = await pglite.execProtocol(bytes, { throwOnError: false });
  expect(data.byteLength).toBeGreaterThan(0);
  return data;
}

/** What PGlite's own parse makes of `chunks`, fed in order to one parser. */
function theirs(chunks: Uint8Array[]): Message[] {
  const parser = new protocol.Parser();
  const out: Message[] = [];
  for (const chunk of chunks) pgliteOwnParse().call(parser, chunk, (m) => out.push(m));
  return out;
}

/** What parseAnswerChunk makes of `chunks`, fed in order to one parser. */
function ours(chunks: Uint8Array[]): Message[] {
  const parser = new protocol.Parser();
  const own = pgliteOwnParse();
  const out: Message[] = [];
  for (const chunk of chunks)
    parseAnswerChunk(
      parser,
      chunk,
      (m) => out.push(m),
      (bytes, cb) => own.call(parser, bytes, cb),
    );
  return out;
}

/** `bytes` cut every `size` bytes, each piece a view into one shared buffer as PGlite's are. */
function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) pieces.push(bytes.subarray(at, at + size));
  return pieces;
}

const simple = (sql: string) => protocol.serialize.query(sql);

const ANSWERS: [string, () => Uint8Array][] = [
  [
    'every column type, NULLs, multi-byte text',
    () => simple('select * from kinds where id < 5 order by id'),
  ],
  ['a value of 200 kB', () => simple('select id, body from kinds where id = 5')],
  ['an empty answer', () => simple('select * from kinds where id < 0')],
  ['an error after rows', () => simple('select id from kinds order by id; select 1/0')],
  [
    'a notice and command tags',
    () =>
      simple(
        `DO $$ BEGIN RAISE NOTICE 'n'; END $$; UPDATE kinds SET ok = ok WHERE id < 3; INSERT INTO kinds (id) VALUES (6); DELETE FROM kinds WHERE id = 6`,
      ),
  ],
  ['an empty query', () => simple('')],
  [
    'an extended-protocol flight (parse, bind, describe, execute, one sync)',
    () =>
      encodeFlight([
        {
          name: 's1',
          parse: true,
          sql: 'select $1::text as a, $2::int as b',
          values: ['x', '2'],
          describe: false,
        },
        {
          name: '',
          parse: true,
          sql: 'select * from kinds where id = $1',
          values: ['3'],
          describe: true,
        },
      ]),
  ],
  [
    'an extended-protocol flight that fails in its middle',
    () =>
      encodeFlight([
        { name: '', parse: true, sql: 'select 1', values: [], describe: true },
        { name: '', parse: true, sql: 'select 1/0', values: [], describe: true },
        { name: '', parse: true, sql: 'select 2', values: [], describe: true },
      ]),
  ],
];

describe('the embedded answer parser', () => {
  it.each(ANSWERS)('reads %s as PGlite does', async (_, request) => {
    const bytes = await answer(request());
    const expected = theirs([bytes]);
    expect(expected.length).toBeGreaterThan(1);
    expect(ours([bytes])).toStrictEqual(expected);
    // Cut at every point for short answers, at a spread of sizes for the long one.
    const sizes =
      bytes.byteLength < 2_000
        ? Array.from({ length: bytes.byteLength }, (_, i) => i + 1)
        : [1, 2, 3, 5, 7, 64, 1000, 4096, 65_536];
    for (const size of sizes) expect(ours(cut(bytes, size))).toStrictEqual(expected);
  });

  it('answers the database through PGlite once installed, errors included', async () => {
    installAnswerParser();
    installAnswerParser(); // once per process, however often called
    expect(pgliteOwnParse()).not.toBe(protocol.Parser.prototype.parse);
    const { rows } = await pglite.query<{ id: number; body: string; tags: (string | null)[] }>(
      'select id, body, tags from kinds where id in (1, 3) order by id',
    );
    expect(rows).toEqual([
      { id: 1, body: 'plain', tags: ['a', 'b c', null] },
      { id: 3, body: "Grüße, 日本語, 👋🏽 and a quote ' and a backslash \\ and a tab\t", tags: [] },
    ]);
    await expect(pglite.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    // The session is usable after the error.
    expect((await pglite.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('keeps a leading byte order mark, which the database holds, where TextDecoder would drop it', async () => {
    const bytes = await answer(simple(`select chr(65279) || 'x' as v`));
    const value = (list: Message[]) =>
      (
        list.find((m) => m.name === 'dataRow') as InstanceType<
          typeof protocol.messages.DataRowMessage
        >
      ).fields[0];
    expect(value(ours([bytes]))).toBe('\uFEFFx');
    expect(value(theirs([bytes]))).toBe('x');
  });

  it('hands a message with a length below 4 to PGlite’s parser, with what follows it', () => {
    const handed: Uint8Array[] = [];
    const good = new Uint8Array([0x31, 0, 0, 0, 4]); // parseComplete
    const bad = new Uint8Array([0x44, 0, 0, 0, 2, 9, 9]);
    const out: Message[] = [];
    parseAnswerChunk(
      {},
      new Uint8Array([...good, ...bad]),
      (m) => out.push(m),
      (bytes) => handed.push(bytes),
    );
    expect(out).toStrictEqual([protocol.messages.parseComplete]);
    expect(handed).toStrictEqual([bad]);
  });
});
