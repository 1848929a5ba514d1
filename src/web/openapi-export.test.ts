// The dashboard's API types must be what the server serves now: the committed
// web/src/api/openapi.json and schema.d.ts are regenerated here and compared. When this fails,
// run `npm run openapi:export`, then fix what the typecheck of web/ reports.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatedOpenApiDocument } from '../test/openapi.ts';
import {
  OPENAPI_JSON,
  OPENAPI_TYPES,
  openApiJsonText,
  openApiTypesText,
} from './openapi-export.ts';

let doc: object;
beforeAll(async () => {
  doc = await generatedOpenApiDocument();
});

const FIX = 'stale: run `npm run openapi:export` and commit web/src/api/';

describe('the dashboard API contract', () => {
  it('web/src/api/openapi.json is the document the server generates', () => {
    const committed = readFileSync(OPENAPI_JSON, 'utf8');
    // Paths first: a readable message for the common case (a route added or removed).
    const paths = (d: object) => Object.keys((d as { paths: object }).paths).sort();
    expect(paths(JSON.parse(committed)), FIX).toEqual(paths(doc));
    expect(committed, FIX).toBe(openApiJsonText(doc));
  });

  it('web/src/api/schema.d.ts is generated from that document', async () => {
    expect(readFileSync(OPENAPI_TYPES, 'utf8'), FIX).toBe(await openApiTypesText(doc));
  });

  it('no hand-written pending contract shadows a published route', () => {
    const pending = readFileSync(new URL('../../web/src/api/pending.ts', import.meta.url), 'utf8');
    const declared = [...pending.matchAll(/^\s*'(\/[^']*)':/gm)].map((m) => m[1]);
    const published = Object.keys((doc as { paths: object }).paths);
    expect(
      declared.filter((p) => published.includes(p as string)),
      'delete these entries from web/src/api/pending.ts: the generated types cover them',
    ).toEqual([]);
  });
});
