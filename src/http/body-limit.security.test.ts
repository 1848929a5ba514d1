// Oversized bodies on a real socket: every one gets a 413 problem document and a clean close,
// never a connection reset (a reset loses the answer and looks like a server crash to clients).
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { LINGER_MS } from './lingering-close.ts';

let t: TestApp;
let port: number;
const LIMIT = 1_048_576;

beforeAll(async () => {
  t = await buildTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT) } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(() => t.close());

const socketErrors: Error[] = [];

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(
  agent: Agent,
  opts: { method: string; path: string; body?: Buffer; chunked?: boolean },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: opts.method,
        path: opts.path,
        headers: {
          'content-type': 'application/json',
          ...(opts.body && !opts.chunked ? { 'content-length': String(opts.body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (e) => {
      // An error after the answer arrived is still a reset the client sees.
      socketErrors.push(e);
      reject(e);
    });
    // The body leaves in pieces with pauses, like a real upload: the server has answered (and,
    // before the fix, closed) while the client is still sending.
    void (async () => {
      const body = opts.body ?? Buffer.alloc(0);
      const step = 256 * 1024;
      for (let i = 0; i < body.length && !req.destroyed; i += step) {
        req.write(body.subarray(i, i + step));
        await new Promise((r) => setTimeout(r, 5));
      }
      req.end();
    })();
  });
}

const bigJson = (bytes: number) =>
  Buffer.from(JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(bytes) }));

function expect413(a: Answer) {
  expect(a.status).toBe(413);
  expect(a.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(a.body)).toMatchObject({ status: 413, code: 'payload_too_large' });
}

describe('oversized bodies on kept-alive connections', () => {
  it('10 oversized requests (Content-Length) interleaved with normal ones: all 413, no reset', async () => {
    socketErrors.length = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        expect413(
          await send(agent, { method: 'POST', path: '/api/auth/login', body: bigJson(3_000_000) }),
        );
        const ok = await send(agent, { method: 'GET', path: '/health' });
        expect(ok.status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(socketErrors).toEqual([]);
    } finally {
      agent.destroy();
    }
  });

  it('10 oversized chunked requests (no Content-Length): all 413, no reset', async () => {
    socketErrors.length = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 10; i++) {
        expect413(
          await send(agent, {
            method: 'POST',
            path: '/api/auth/login',
            body: bigJson(3_000_000),
            chunked: true,
          }),
        );
        const ok = await send(agent, {
          method: 'POST',
          path: '/api/auth/login',
          body: Buffer.from(`{"email":"nobody${i}@example.com","password":"wrong password 123"}`),
        });
        expect(ok.status).toBe(401);
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(socketErrors).toEqual([]);
    } finally {
      agent.destroy();
    }
  });

  it('an announced Content-Length over the limit is answered at once, before any body byte', async () => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const answer = new Promise<string>((resolve, reject) => {
      socket.on('data', (c: Buffer) => {
        received.push(c);
        const text = Buffer.concat(received).toString();
        const headEnd = text.indexOf('\r\n\r\n');
        const len = /content-length: (\d+)/i.exec(text)?.[1];
        if (headEnd >= 0 && len && text.length >= headEnd + 4 + Number(len)) resolve(text);
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error('no answer without the body')), 5000);
    });
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${50 * LIMIT}\r\n\r\n`,
    );
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('"code":"payload_too_large"');
    socket.destroy();
  });

  it('a client that keeps sending after the early 413 sees a clean close, not a reset', async () => {
    // Half-open allowed: like an uploader that does not read, it keeps sending after our FIN.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const received: Buffer[] = [];
    let error: Error | undefined;
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', (e) => {
      error = e;
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const body = bigJson(3_000_000);
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    for (let i = 0; i < body.length && !socket.destroyed; i += 256 * 1024) {
      socket.write(body.subarray(i, i + 256 * 1024));
      await new Promise((r) => setTimeout(r, 5));
    }
    socket.end();
    await closed;
    expect(error).toBeUndefined();
    expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a client that never stops sending is cut off after the bounded linger', async () => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    const started = Date.now();
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1000 * LIMIT}\r\n\r\n`,
    );
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.alloc(64 * 1024, 32));
    }, 20);
    await closed;
    clearInterval(trickle);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(LINGER_MS - 100);
    expect(took).toBeLessThan(LINGER_MS + 3000);
  }, 15_000);
});
