// The README's nginx `auth_request` example, run by a real nginx: the ```nginx block of the
// forward-auth section is read from README.md (the doc and this test cannot drift), only its two
// upstream addresses are replaced — Switchboard by this test's listening app, the agent worker by
// a server that answers with the request headers it received — and nginx (Debian's
// /usr/sbin/nginx) runs it as a child process in a temp prefix on a free 127.0.0.1 port.
// What it holds: nginx admits exactly the credentials Switchboard admits, refuses the others
// before the worker is reached, and the worker sees Switchboard's identity headers, never a
// client's forged ones.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../access/permissions.ts';
import { ROLES } from '../db/schema.ts';
import { buildTestApp, type TestApp } from '../test/app.ts';
import { bearer, cookieHeader, cookiesFrom, logOut } from '../test/auth-helpers.ts';
import {
  ADMIN_ENV,
  createKey,
  logIn,
  type Person,
  superuser,
  type Team,
  team,
} from '../test/org-helpers.ts';

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const README = join(import.meta.dirname, '..', '..', 'README.md');
const SECTION = '### Forward-auth for reverse proxies and agent workers';
const SWITCHBOARD = 'http://switchboard:8000';
const AGENT_WORKER = 'http://agent-worker:9000';
/** Every wait of this file is bounded: nginx starting, a request through it. */
const NGINX_READY_MS = 10_000;
const REQUEST_MS = 10_000;

/** The one ```nginx block of the forward-auth section (to the next heading). */
function readmeNginxBlock(readme: string): string {
  const start = readme.indexOf(`\n${SECTION}\n`);
  expect(start, 'the forward-auth section').toBeGreaterThan(-1);
  const rest = readme.slice(start + SECTION.length + 2);
  const end = rest.search(/\n#{1,3} /);
  const section = end === -1 ? rest : rest.slice(0, end);
  const blocks = [...section.matchAll(/\n```nginx\n([\s\S]*?)\n```\n/g)].map((m) => m[1]!);
  expect(blocks, 'one ```nginx block in the forward-auth section').toHaveLength(1);
  return blocks[0]!;
}

/** The block with its two upstreams replaced; each must occur exactly once, or nothing runs. */
function withUpstreams(block: string, switchboard: string, worker: string): string {
  expect(block.split(SWITCHBOARD).length - 1, SWITCHBOARD).toBe(1);
  expect(block.split(AGENT_WORKER).length - 1, AGENT_WORKER).toBe(1);
  return block.replace(SWITCHBOARD, switchboard).replace(AGENT_WORKER, worker);
}

/**
 * The same block for another permission (`/audit/` demanding audit:read): the README's rule is
 * one internal location per permission, and a permission some role lacks shows a session's 403.
 */
function forPermission(block: string, path: string, permission: string): string {
  const [resource, action] = permission.split(':') as [string, string];
  const copy = block
    .replaceAll('location /agent/ {', `location ${path} {`)
    .replaceAll('_switchboard_verify_agents_read', `_switchboard_verify_${resource}_${action}`)
    .replaceAll('?permission=agents:read', `?permission=${permission}`);
  expect(copy).toContain(`location ${path} {`);
  expect(copy).toContain(`?permission=${permission};`);
  return copy;
}

/** A port free a moment ago on 127.0.0.1 (nginx binds it itself; a clash is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

interface Nginx {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<void>;
}

/**
 * nginx in the foreground on `port`, everything it writes inside `prefix` (no root-owned path),
 * one process (master_process off): killing the child leaves no worker behind. Resolves once the
 * port accepts connections; rejects with nginx's own output if it exits or is not up in time.
 */
async function startNginx(prefix: string, servers: string, port: number): Promise<Nginx> {
  if (!existsSync(NGINX)) {
    throw new Error(`no nginx at ${NGINX}: apt-get install nginx (or set NGINX_PATH)`);
  }
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'master_process off;',
      `error_log ${join(prefix, 'error.log')} warn;`,
      'events { worker_connections 64; }',
      'http {',
      `  access_log ${join(prefix, 'access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (k) => `  ${k}_temp_path ${join(prefix, k)};`,
      ),
      '  server {',
      `    listen 127.0.0.1:${port};`,
      servers,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(
    NGINX,
    ['-p', `${prefix}/`, '-c', conf, '-g', `daemon off; pid ${join(prefix, 'nginx.pid')};`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => {
    output += String(err);
  });
  const log = () => {
    let errors = '';
    try {
      errors = readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {}
    return `${output}${errors}`;
  };
  const deadline = Date.now() + NGINX_READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nginx exited: ${log()}`);
    }
    if (await canConnect(port)) return { child, port, output: log, exited };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not listen on ${port} within ${NGINX_READY_MS} ms: ${log()}`);
}

async function stopNginx(nginx: Nginx | undefined): Promise<void> {
  if (!nginx || nginx.child.exitCode !== null || nginx.child.signalCode !== null) return;
  nginx.child.kill('SIGTERM');
  const timer = setTimeout(() => nginx.child.kill('SIGKILL'), 5_000);
  await nginx.exited;
  clearTimeout(timer);
}

/** One request that reached the agent worker (it answers each with the headers it received). */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request through nginx (node:http: no header of ours is filtered), bounded in time. */
function viaNginx(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: nginx.port,
        path,
        method,
        headers:
          body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: REQUEST_MS,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_MS} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

let t: TestApp;
let a: Team;
let other: Team;
let su: Person;
let worker: Server;
const received: Received[] = [];
let nginx: Nginx;
let prefix: string;

beforeAll(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'sb-nginx-'));
  t = await buildTestApp({ env: ADMIN_ENV });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const appPort = (t.app.server.address() as AddressInfo).port;
  worker = createServer((req, res) => {
    received.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ reached: 'agent-worker', headers: req.headers }));
    });
  });
  await new Promise<void>((resolve) => worker.listen(0, '127.0.0.1', resolve));
  const workerPort = (worker.address() as AddressInfo).port;

  const block = withUpstreams(
    readmeNginxBlock(readFileSync(README, 'utf8')),
    `http://127.0.0.1:${appPort}`,
    `http://127.0.0.1:${workerPort}`,
  );
  const servers = `${block}\n${forPermission(block, '/audit/', 'audit:read')}`;
  // A port another process took between the probe and nginx's bind: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      nginx = await startNginx(prefix, servers, await freePort());
      break;
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
    }
  }

  a = await team(t, 'Proxied Co');
  other = await team(t, 'Other Co');
  su = await superuser(t);
});

afterAll(async () => {
  // nginx first (it holds connections to both servers); the temp prefix goes whatever failed.
  try {
    await stopNginx(nginx);
    worker?.closeAllConnections();
    if (worker) await new Promise((resolve) => worker.close(resolve));
    await t?.close();
  } finally {
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  }
});

/** A request through nginx to /agent/ and what the worker received for it (none: not reached). */
async function throughAgent(
  headers: Record<string, string>,
  options: { path?: string; method?: string; body?: string } = {},
) {
  const before = received.length;
  const res = await viaNginx(
    options.path ?? '/agent/tasks?x=1',
    headers,
    options.method,
    options.body,
  );
  const reached = received.slice(before);
  expect(reached.length, 'requests the worker received').toBeLessThanOrEqual(1);
  // The worker gets the identity, never the caller's credential (it could replay it).
  expect(reached[0]?.headers.authorization).toBeUndefined();
  expect(reached[0]?.headers.cookie).toBeUndefined();
  return { res, upstream: reached[0] };
}

/** The X-Switchboard-* headers the worker received (nginx drops a header set to empty). */
function identity(h: IncomingHttpHeaders) {
  return {
    user: h['x-switchboard-user'],
    org: h['x-switchboard-org'],
    role: h['x-switchboard-role'],
    credential: h['x-switchboard-credential'],
    scopes: h['x-switchboard-scopes'] ?? '',
    session: h['x-switchboard-session'],
  };
}

/** The session id Switchboard knows `headers`' credential by (asked directly, not via nginx). */
async function sessionOf(headers: Record<string, string>): Promise<string> {
  const res = await t.app.inject({ url: '/api/auth/verify', headers });
  const id = res.json().session_id;
  expect(typeof id).toBe('string');
  return id;
}

describe('the README nginx example, run by nginx', () => {
  it('is a block of the forward-auth section with both upstreams in it', () => {
    const block = readmeNginxBlock(readFileSync(README, 'utf8'));
    expect(block).toContain('auth_request ');
    expect(block).toContain(SWITCHBOARD);
    expect(block).toContain(AGENT_WORKER);
  });

  it('without a credential: 401 from nginx, the worker is never reached', async () => {
    const { res, upstream } = await throughAgent({});
    expect(res.status).toBe(401);
    expect(upstream).toBeUndefined();
  });

  it('a session bearer token: 200, and the worker learns who it is from Switchboard', async () => {
    const { res, upstream } = await throughAgent(a.member.headers);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).reached).toBe('agent-worker');
    expect(upstream?.url).toBe('/agent/tasks?x=1');
    expect(identity(upstream!.headers)).toEqual({
      user: a.member.user.id,
      org: a.org.id,
      role: 'member',
      credential: 'session',
      scopes: '',
      session: await sessionOf(a.member.headers),
    });
  });

  it('a session of every role holding agents:read passes, one without it is refused (403)', async () => {
    for (const role of ROLES) {
      const { res, upstream } = await throughAgent(a[role].headers);
      const holds = (PERMISSIONS['agents:read'] as readonly string[]).includes(role);
      expect(res.status, role).toBe(holds ? 200 : 403);
      expect(upstream?.headers['x-switchboard-role'], role).toBe(holds ? role : undefined);
    }
  });

  it('a session of a role without the location’s permission: 403, the worker is not reached', async () => {
    // The copy of the block demanding audit:read: members lack it, admins hold it.
    expect(PERMISSIONS['audit:read']).not.toContain('member');
    expect(PERMISSIONS['audit:read']).toContain('admin');
    const refused = await viaNginx('/audit/log', a.member.headers);
    expect(refused.status).toBe(403);
    const before = received.length;
    const admitted = await viaNginx('/audit/log', a.admin.headers);
    expect(admitted.status).toBe(200);
    expect(received.slice(before).map((r) => r.headers['x-switchboard-role'])).toEqual(['admin']);
  });

  it('forged X-Switchboard-* headers with a valid token: the worker sees Switchboard’s values', async () => {
    const forged = {
      'x-switchboard-user': other.owner.user.id,
      'x-switchboard-role': 'owner',
      'x-switchboard-credential': 'session',
      'x-switchboard-scopes': 'agents:write',
      'x-switchboard-session': 'forged-session',
    };
    const key = await createKey(t.app, a.admin, ['agents:read']);
    // X-Switchboard-Org naming the caller's own org is no act at all (src/admin/act-in-org.ts).
    for (const org of [{}, { 'x-switchboard-org': a.org.id }] as Record<string, string>[]) {
      const session = await throughAgent({ ...a.member.headers, ...forged, ...org });
      expect(session.res.status).toBe(200);
      expect(identity(session.upstream!.headers)).toEqual({
        user: a.member.user.id,
        org: a.org.id,
        role: 'member',
        credential: 'session',
        scopes: '',
        session: await sessionOf(a.member.headers),
      });
      const apiKey = await throughAgent({ ...key.headers, ...forged, ...org });
      expect(apiKey.res.status).toBe(200);
      expect(identity(apiKey.upstream!.headers)).toEqual({
        user: a.admin.user.id,
        org: a.org.id,
        role: 'admin',
        credential: 'api_key',
        scopes: 'agents:read',
        session: undefined,
      });
    }
  });

  it('X-Switchboard-Org naming another org, or no org id, with a valid token: 403, the worker is not reached', async () => {
    // Never silently the caller's own org: a client that believes it acts in another org must
    // not be served in its own. Whatever is wrong with the header, a proxy gets a 403 (nginx
    // turns any other refusal into a 500).
    for (const org of [other.org.id, 'not-an-org', '01936b2e-0000-7000-8000-000000000000']) {
      const { res, upstream } = await throughAgent({
        ...a.member.headers,
        'x-switchboard-org': org,
      });
      expect(res.status, org).toBe(403);
      expect(upstream, org).toBeUndefined();
    }
  });

  it('the platform superuser acting in an org (X-Switchboard-Org): that org as its owner; a bad org id is 403', async () => {
    const acting = await throughAgent({ ...su.headers, 'x-switchboard-org': a.org.id });
    expect(acting.res.status).toBe(200);
    expect(identity(acting.upstream!.headers)).toMatchObject({
      user: su.user.id,
      org: a.org.id,
      role: 'owner',
      credential: 'session',
      session: await sessionOf(su.headers),
    });
    for (const org of ['not-an-org', '01936b2e-0000-7000-8000-000000000000']) {
      const { res, upstream } = await throughAgent({ ...su.headers, 'x-switchboard-org': org });
      expect(res.status, org).toBe(403);
      expect(upstream, org).toBeUndefined();
    }
  });

  it('forged X-Switchboard-* headers without a valid credential never reach the worker', async () => {
    const forged = {
      'x-switchboard-user': a.owner.user.id,
      'x-switchboard-org': a.org.id,
      'x-switchboard-role': 'owner',
      'x-switchboard-credential': 'session',
      'x-switchboard-session': 'forged-session',
    };
    for (const headers of [forged, { ...forged, authorization: 'Bearer not-a-token' }]) {
      const { res, upstream } = await throughAgent(headers);
      expect(res.status).toBe(401);
      expect(upstream).toBeUndefined();
    }
  });

  it('the sb_access cookie instead of a bearer token: 200 with the same identity', async () => {
    const { res: login } = await logIn(t.app, a.manager.email);
    const access = cookiesFrom(login).sb_access;
    expect(access).toBeTruthy();
    const cookie = { cookie: cookieHeader({ sb_access: access! }) };
    const { res, upstream } = await throughAgent(cookie);
    expect(res.status).toBe(200);
    expect(identity(upstream!.headers)).toEqual({
      user: a.manager.user.id,
      org: a.org.id,
      role: 'manager',
      credential: 'session',
      scopes: '',
      session: await sessionOf(cookie),
    });
  });

  it('an API key without agents:read: 403; with it: 200, named as a key with its scopes', async () => {
    const narrow = await createKey(t.app, a.owner, ['prompts:read']);
    const refused = await throughAgent(narrow.headers);
    expect(refused.res.status).toBe(403);
    expect(refused.upstream).toBeUndefined();

    const key = await createKey(t.app, a.owner, ['agents:read', 'prompts:read']);
    const { res, upstream } = await throughAgent(key.headers);
    expect(res.status).toBe(200);
    expect(identity(upstream!.headers)).toEqual({
      user: a.owner.user.id,
      org: a.org.id,
      role: 'owner',
      credential: 'api_key',
      scopes: 'agents:read prompts:read',
      session: undefined,
    });
  });

  it('a request with a body (POST, JSON or a form) is judged like a GET and reaches the worker whole', async () => {
    for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
      const body = type === 'application/json' ? '{"task":"call"}' : 'task=call';
      const { res, upstream } = await throughAgent(
        { ...a.member.headers, 'content-type': type },
        { method: 'POST', body },
      );
      expect(res.status, type).toBe(200);
      expect(upstream?.method, type).toBe('POST');
      expect(upstream?.headers['content-length'], type).toBe(String(Buffer.byteLength(body)));
      expect(identity(upstream!.headers).credential, type).toBe('session');
    }
  });

  it('every method is judged the same: the worker gets it with a credential, never without', async () => {
    for (const method of ['HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE']) {
      const admitted = await throughAgent(a.member.headers, { method });
      expect(admitted.res.status, method).toBe(200);
      expect(admitted.upstream?.method, method).toBe(method);
      expect(identity(admitted.upstream!.headers).user, method).toBe(a.member.user.id);
      const refused = await throughAgent({}, { method });
      expect(refused.res.status, method).toBe(401);
      expect(refused.upstream, method).toBeUndefined();
    }
  });

  it('the token of a session that ended (logout): 401', async () => {
    const { access } = await logIn(t.app, a.member.email);
    expect((await throughAgent(bearer(access))).res.status).toBe(200);
    const out = await logOut(t.app, bearer(access));
    expect(out.statusCode).toBeLessThan(300);
    const { res, upstream } = await throughAgent(bearer(access));
    expect(res.status).toBe(401);
    expect(upstream).toBeUndefined();
  });
});
