// What the framework answers before any route runs is a problem document with a stable `code`,
// like every other error: an unknown route (404), a method the path does not answer (405), a bad
// JSON body (400), a body over the limit (413), a URL path segment over the router's limit (414),
// and, over a real socket since only Node's HTTP parser produces them, headers over the limit
// (431), a request line over it (414) and a request that does not parse as HTTP (400).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { clientErrorCode } from './problem.ts';

let t: TestApp;
let port: number;
beforeAll(async () => {
  t = await buildTestApp({ env: { BODY_LIMIT_BYTES: '4096' } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(() => t.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes raw bytes on a fresh connection and reads the answer until the server closes it. */
function rawRequest(bytes: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.write(bytes);
    socket.end();
  });
}

function expectProblem(
  answer: { status: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
) {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(answer.body);
  expect(problem).toMatchObject({ status, code, type: `/problems/${code}` });
  expect(problem.title).toMatch(/\w/);
  expect(typeof problem.request_id).toBe('string');
  return problem;
}

const viaInject = async (options: import('fastify').InjectOptions) => {
  const res = await t.app.inject(options);
  return { status: res.statusCode, headers: res.headers, body: res.body };
};

describe('framework-level answers are problem documents', () => {
  it('404: an unknown route', async () => {
    expectProblem(await viaInject({ url: '/api/nothing-here' }), 404, 'route_not_found');
    expectProblem(await viaInject({ method: 'POST', url: '/nope' }), 404, 'route_not_found');
  });

  it('405: a path that exists, with a method it does not answer, names the allowed methods', async () => {
    const res = await viaInject({ method: 'DELETE', url: '/api/auth/login' });
    const problem = expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('POST');
    expect(problem.detail).toContain('POST');
    // A GET that only the dashboard's HTML fallback would match is no exception.
    const get = await viaInject({
      url: '/api/auth/login',
      headers: { accept: 'application/json' },
    });
    expectProblem(get, 405, 'method_not_allowed');
    const item = await viaInject({
      method: 'PUT',
      url: '/api/prompts/0190b7a0-0000-7000-8000-000000000001',
    });
    expect(item.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
  });

  it('400: a body that is not JSON', async () => {
    const res = await viaInject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expectProblem(res, 400, 'malformed_json');
  });

  it('413: a body over BODY_LIMIT_BYTES, over a real socket', async () => {
    const body = JSON.stringify({ email: 'a@example.test', password: 'x'.repeat(8000) });
    const res = await rawRequest(
      `POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expectProblem(res, 413, 'payload_too_large');
  });

  it('414: a URL path segment over the router limit (GET, caught by the HTML fallback, too)', async () => {
    const long = `/api/prompts/${'a'.repeat(500)}`;
    expectProblem(await viaInject({ method: 'PATCH', url: long }), 414, 'uri_too_long');
    const get = await viaInject({ url: long, headers: { accept: 'application/json' } });
    expectProblem(get, 414, 'uri_too_long');
  });

  it('414: a request line over the HTTP parser limit, over a real socket', async () => {
    const res = await rawRequest(
      `GET /api/prompts?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    );
    expectProblem(res, 414, 'uri_too_long');
    expect(res.headers['x-request-id']).toBe(JSON.parse(res.body).request_id);
  });

  it('431: headers over the HTTP parser limit, over a real socket (Node answers before Fastify)', async () => {
    const big = Array.from({ length: 40 }, (_, i) => `X-Filler-${i}: ${'b'.repeat(500)}\r\n`).join(
      '',
    );
    const res = await rawRequest(`GET /health HTTP/1.1\r\nHost: localhost\r\n${big}\r\n`);
    expectProblem(res, 431, 'headers_too_large');
  });

  it('400: bytes that are not HTTP at all, over a real socket', async () => {
    const res = await rawRequest('HELLO THERE\r\n\r\n');
    expectProblem(res, 400, 'malformed_request');
  });

  it('the server keeps answering after all of that', async () => {
    const res = await rawRequest(
      'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(200);
  });
});

describe('which parser error is which', () => {
  const overflow = (raw: string) =>
    clientErrorCode(
      Object.assign(new Error('overflow'), {
        code: 'HPE_HEADER_OVERFLOW',
        rawPacket: Buffer.from(raw),
      }),
      16_384,
    );
  it('a long first line is the URL; long header lines are the headers', () => {
    expect(overflow(`GET /${'a'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\n`)).toBe('uri_too_long');
    expect(overflow(`GET /${'a'.repeat(10_000)}`)).toBe('uri_too_long');
    expect(overflow(`GET / HTTP/1.1\r\nX-A: ${'a'.repeat(10_000)}\r\n`)).toBe('headers_too_large');
    // A later chunk of a long header section: not a request line.
    expect(overflow('a'.repeat(10_000))).toBe('headers_too_large');
    expect(
      clientErrorCode(Object.assign(new Error('t'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })),
    ).toBe('request_timeout');
  });
});
