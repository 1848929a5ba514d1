// A client that stops sending its body (a dropped mobile connection, a killed curl) is the
// client's doing: one info line, never an error-level "request failed: database_unavailable"
// (Node's 'aborted' error carries code ECONNRESET, which the database classifier also knows), so
// an operator's error alerts fire for server faults alone.
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { classify } from './problem.ts';

const lines: string[] = [];
let t: TestApp;
let port: number;
beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  t = await buildTestApp({ deps: { logger } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(() => t.close());

it('a body cut off by its client is logged at info as a malformed request', async () => {
  for (const path of ['/api/prompts', '/api/auth/login']) {
    const before = lines.length;
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em`,
        );
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
    await expect
      .poll(() => lines.slice(before).some((l) => l.includes('malformed_request')))
      .toBe(true);
    const records = lines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(
      records.filter((r) => r.level >= 50),
      path,
    ).toEqual([]);
    expect(
      records.some((r) => r.msg.includes('database_unavailable')),
      path,
    ).toBe(false);
  }
});

it('classifies the framework’s 4xx by the request, never as the database’s', () => {
  const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
  expect(classify(aborted).code).toBe('malformed_request');
  // Without an HTTP status, the same code is still a lost database connection.
  expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })).code).toBe(
    'database_unavailable',
  );
});
