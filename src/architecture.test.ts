// The server's layering (ARCHITECTURE.md, "Layers and dependencies"), read from the import
// statements of every non-test file under src/. Folders are capabilities (one thing the product
// does) or foundation (what capabilities are built on); a few top-level files compose the app.
// Foundation never imports a capability, no capability imports the composition, capabilities
// import each other one way only (no cycle), and inside a capability routes → services →
// repositories → db.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('./', import.meta.url));

/** What every capability may use; they import no capability. */
const FOUNDATION = new Set([
  'config.ts',
  'logger.ts',
  'db',
  'http',
  'crypto',
  'infra',
  'access',
  'security',
  'mail',
  'types',
]);

const CAPABILITIES = new Set([
  'admin',
  'agent-context',
  'api-keys',
  'audit',
  'auth',
  'calling-rules',
  'conversations',
  'health',
  'livekit',
  'mfa',
  'orgs',
  'prompts',
  'quotas',
  'realtime',
  'suspension',
  'telephony',
  'users',
  'voice',
  'web',
]);

/** Builds and runs the whole app (app.ts, its pipeline plugins in app/, the route table); may
 * import anything, imported by nothing but itself. Which files may write SQL: src/layers.test.ts. */
const COMPOSITION = new Set(['app.ts', 'app', 'main.ts', 'routes.ts']);

/** Test-only support (the test app, factories, fakes); no production file imports it. */
const TEST_SUPPORT = 'test';

/**
 * Capability files that must build the whole app: generating the OpenAPI document is asking the
 * composed app for it.
 */
const COMPOSES_THE_APP = new Set(['web/openapi-export.ts']);

/** Opening a transaction is a service's job: routes call services, repositories take a tx. */
const TRANSACTION_OPENERS = new Set(['withTenant', 'withSystem', 'withOrgService']);

interface Import {
  target: string;
  names: string[];
  typeOnly: boolean;
}

interface SourceFile {
  path: string;
  text: string;
  imports: Import[];
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'migrations' ? [] : files(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const posix = (p: string) => p.split(sep).join('/');

function read(abs: string): SourceFile {
  const text = readFileSync(abs, 'utf8');
  const imports: Import[] = [];
  const statements = /^(import|export)\s+(type\s+)?([^;]*?)\s*from\s+['"](\.[^'"]+)['"]/gms;
  for (const m of text.matchAll(statements)) {
    const [, , typeKw, clause = '', spec = ''] = m;
    const braced = /\{([^}]*)\}/.exec(clause)?.[1] ?? '';
    const specifiers = braced
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    imports.push({
      target: posix(relative(SRC, resolve(dirname(abs), spec))),
      names: specifiers.map((s) => s.replace(/^type\s+/, '').split(/\s+as\s+/)[0] as string),
      typeOnly:
        !!typeKw || (specifiers.length > 0 && specifiers.every((s) => s.startsWith('type '))),
    });
  }
  return { path: posix(relative(SRC, abs)), text, imports };
}

/** The top-level folder a path lies in, or the top-level file it is. */
const unitOf = (path: string) => path.split('/')[0] as string;

const kindOf = (path: string) =>
  path.endsWith('.routes.ts') || path.endsWith('.plugin.ts')
    ? 'routes'
    : path.endsWith('.repository.ts')
      ? 'repository'
      : path.endsWith('.service.ts')
        ? 'service'
        : 'other';

const sources = files(SRC).map(read);
const byPath = new Map(sources.map((f) => [f.path, f]));
const opensTransactions = (path: string) =>
  byPath.get(path)?.imports.some((i) => i.names.some((n) => TRANSACTION_OPENERS.has(n))) ?? false;

/** Every import from `from` into another unit, as "file → file". */
function crossings(filter: (file: SourceFile, imp: Import) => boolean): string[] {
  return sources.flatMap((f) =>
    f.imports.filter((i) => filter(f, i)).map((i) => `${f.path} → ${i.target}`),
  );
}

/** The capability graph: an edge a → b for each capability a that imports from capability b. */
function capabilityGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const c of CAPABILITIES) graph.set(c, new Map());
  for (const f of sources) {
    const from = unitOf(f.path);
    if (!CAPABILITIES.has(from)) continue;
    for (const i of f.imports) {
      const to = unitOf(i.target);
      if (to === from || !CAPABILITIES.has(to)) continue;
      const edges = graph.get(from)!;
      if (!edges.has(to)) edges.set(to, `${f.path} → ${i.target}`);
    }
  }
  return graph;
}

/** Tarjan's strongly connected components; each one larger than a node is a cycle. */
function stronglyConnected(graph: Map<string, Map<string, string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!.keys()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components.filter((c) => c.length > 1);
}

/** One cycle through a component, each step with an import that makes it. */
function describeCycle(graph: Map<string, Map<string, string>>, component: string[]): string {
  const inside = new Set(component);
  const start = component[0]!;
  // Breadth-first from start back to start, inside the component: the shortest cycle through it.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v)!.keys()) {
      if (!inside.has(w) || previous.has(w)) continue;
      previous.set(w, v);
      if (w === start) queue.length = 0;
      else queue.push(w);
    }
  }
  const path = [start];
  for (let v = previous.get(start)!; v !== start; v = previous.get(v)!) path.unshift(v);
  path.unshift(start);
  const steps = path.slice(1).map((to, k) => graph.get(path[k]!)!.get(to)!);
  return `${path.join(' → ')}  (${steps.join('; ')})`;
}

describe('architecture', () => {
  it('finds the sources and their imports', () => {
    expect(sources.length).toBeGreaterThan(100);
    expect(byPath.get('auth/login.ts')?.imports.length).toBeGreaterThan(5);
  });

  it('classifies every folder and top-level file of src/', () => {
    const units = new Set(sources.map((f) => unitOf(f.path)));
    const known = new Set([...FOUNDATION, ...CAPABILITIES, ...COMPOSITION, TEST_SUPPORT]);
    expect([...units].filter((u) => !known.has(u))).toEqual([]);
  });

  it('foundation imports no capability, no composition and no test support', () => {
    const bad = crossings(
      (f, i) => FOUNDATION.has(unitOf(f.path)) && !FOUNDATION.has(unitOf(i.target)),
    );
    expect(bad).toEqual([]);
  });

  it('only the composition imports the composition; nothing but tests import test support', () => {
    const bad = crossings((f, i) => {
      const from = unitOf(f.path);
      const to = unitOf(i.target);
      if (to === TEST_SUPPORT) return from !== TEST_SUPPORT;
      return COMPOSITION.has(to) && !COMPOSITION.has(from) && from !== TEST_SUPPORT
        ? !COMPOSES_THE_APP.has(f.path)
        : false;
    });
    expect(bad).toEqual([]);
  });

  it('no cycle between capability folders', () => {
    const graph = capabilityGraph();
    const cycles = stronglyConnected(graph).map((c) => describeCycle(graph, c));
    expect(cycles).toEqual([]);
  });

  it('only routes and the composition import a routes file', () => {
    const bad = crossings(
      (f, i) =>
        kindOf(i.target) === 'routes' &&
        kindOf(f.path) !== 'routes' &&
        !COMPOSITION.has(unitOf(f.path)) &&
        unitOf(f.path) !== TEST_SUPPORT,
    );
    expect(bad).toEqual([]);
  });

  it('no routes file imports another (what two answer alike lives in a shared module)', () => {
    const bad = crossings(
      (f, i) => f.path.endsWith('.routes.ts') && i.target.endsWith('.routes.ts'),
    );
    expect(bad).toEqual([]);
  });

  it('routes open no transaction and use repositories for their types only', () => {
    const bad = crossings(
      (f, i) =>
        kindOf(f.path) === 'routes' &&
        ((kindOf(i.target) === 'repository' && !i.typeOnly) ||
          i.names.some((n) => TRANSACTION_OPENERS.has(n))),
    );
    expect(bad).toEqual([]);
  });

  it('repositories import no routes and no services (they take the transaction, never open one)', () => {
    const bad = crossings(
      (f, i) =>
        kindOf(f.path) === 'repository' &&
        (['routes', 'service'].includes(kindOf(i.target)) ||
          opensTransactions(i.target) ||
          i.names.some((n) => TRANSACTION_OPENERS.has(n))),
    );
    expect(bad).toEqual([]);
  });
});
