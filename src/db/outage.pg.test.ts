// PostgreSQL becomes unreachable and comes back: the process stays up, answers 503 problem
// documents quickly, and recovers by itself. Runs only with DATABASE_URL (a real server).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { as, headerAuthenticator, testConfig } from '../test/app.ts';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { createTeam } from '../test/factories.ts';
import { type Database, databaseFromUrl } from './database.ts';

/** A TCP proxy we can cut: 'up' forwards, 'refuse' closes the port, 'blackhole' accepts and stalls. */
class TcpProxy {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  mode: 'up' | 'blackhole' = 'up';
  port = 0;
  constructor(private target: { host: string; port: number }) {}
  async start() {
    this.server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {});
      if (this.mode === 'blackhole') return;
      const upstream = net.connect(this.target);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }
  cutConnections() {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
  async stop() {
    this.cutConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

let real: TestDatabase;
let proxy: TcpProxy;
let proxied: Database;
let app: Awaited<ReturnType<typeof buildApp>>;
let headers: Record<string, string>;

beforeAll(async () => {
  real = await createTestDatabase();
  const team = await createTeam(real);
  headers = as(team.owner, team.org, 'owner');
  const u = new URL(real.url!);
  proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  await proxy.start();
  u.host = `127.0.0.1:${proxy.port}`;
  proxied = databaseFromUrl(u.toString(), {
    poolSize: 4,
    timeoutMs: 1000,
    statementTimeoutMs: 2000,
  });
  const config = testConfig({ DATABASE_TIMEOUT_MS: '1000' });
  // Test-only header identity (src/test/app.ts).
  app = await buildApp(config, {
    database: proxied,
    authenticate: headerAuthenticator,
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await proxied.close().catch(() => {});
  await proxy.stop().catch(() => {});
  await real.close();
});

async function timed(url: string, init: { method?: 'GET' | 'POST'; payload?: object } = {}) {
  const start = Date.now();
  const res = await app.inject({
    url,
    headers,
    method: init.method ?? 'GET',
    payload: init.payload,
  });
  return { res, ms: Date.now() - start };
}

async function waitUntil(fn: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('database outage', () => {
  it.each(['refuse', 'blackhole'] as const)(
    'while the database is unreachable (%s) the process answers 503 quickly, then recovers',
    async (how) => {
      expect((await timed('/api/prompts')).res.statusCode).toBe(200);

      if (how === 'refuse') await proxy.stop();
      else {
        proxy.mode = 'blackhole';
        proxy.cutConnections();
      }

      const health = await timed('/health');
      expect(health.res.statusCode).toBe(200);

      const ready = await timed('/ready');
      expect(ready.res.statusCode).toBe(503);
      expect(ready.res.json()).toMatchObject({ code: 'database_unavailable' });
      expect(ready.ms).toBeLessThan(5000);

      const list = await timed('/api/prompts');
      expect(list.res.statusCode).toBe(503);
      expect(list.res.headers['content-type']).toMatch(/problem\+json/);
      expect(list.res.json()).toMatchObject({ code: 'database_unavailable' });
      expect(list.ms).toBeLessThan(5000);

      const write = await timed('/api/prompts', {
        method: 'POST',
        payload: { name: 'during outage', content: 'x' },
      });
      expect(write.res.statusCode).toBe(503);

      if (how === 'refuse') await proxy.start();
      else proxy.mode = 'up';
      const back = Date.now();
      const recovered = await waitUntil(
        async () => (await timed('/api/prompts')).res.statusCode === 200,
        5000,
      );
      expect(recovered - back).toBeLessThan(5000);
      expect((await timed('/ready')).res.statusCode).toBe(200);

      const names = (await timed('/api/prompts?limit=100')).res
        .json()
        .items.map((p: { name: string }) => p.name);
      expect(names).not.toContain('during outage');
    },
  );
});
