// The error catalog as integrators read it: README lists every code the API answers with its
// status and title, the same as src/http/errors.ts (GET /problems/{code} serves the catalog
// itself). A code added, renamed or re-titled without the README fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ERRORS } from './errors.ts';

const README = join(import.meta.dirname, '..', '..', 'README.md');

it("README's error table lists every catalog code, with its status and title", () => {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('<!-- error-catalog -->');
  const end = text.indexOf('<!-- /error-catalog -->');
  expect(start, 'the <!-- error-catalog --> markers').toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const rows = text
    .slice(start, end)
    .split('\n')
    .filter((l) => /^\|\s*\d{3}\s*\|/.test(l))
    .map((l) => {
      const [status, code, title] = l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      return [
        code!.replace(/`/g, ''),
        { status: Number(status), title: title!.replace(/\\\|/g, '|') },
      ];
    });
  expect(Object.fromEntries(rows)).toEqual(ERRORS);
  expect(rows.map(([code]) => code)).toEqual(Object.keys(ERRORS));
});
