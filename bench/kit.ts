// What the benchmarks share. A target runs in its own process (its CPU and memory apart from the
// load generator's) and prints one JSON line once it listens: what the scenario needs to reach it.
// Every load scenario reports one row.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import autocannon from 'autocannon';
import { BENCH_DIST, ensureBenchBuild, withServerEnv } from '../scripts/build-server.ts';
import { type CpuSplit, cpuPerRequest, cpuSnapshot } from './cpu.ts';

export interface BenchServer<T> {
  /** The line the server printed once it listened. */
  info: T;
  child: ChildProcess;
  /** The server's later stdout lines. */
  lines: Interface;
  /** SIGTERM (SIGKILL after 15 s); resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `script` (a bench/*.ts path) as the compiled JavaScript production would run: tsc's
 * output in .dist-bench/, built first when missing or older than its sources; no tsx.
 */
export async function startBenchServer<T>(
  script: string,
  args: string[] = [],
  opts: { nodeArgs?: string[]; stdin?: boolean } = {},
): Promise<BenchServer<T>> {
  await ensureBenchBuild();
  const compiled = join(BENCH_DIST, script.replace(/\.ts$/, '.js'));
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), compiled, ...args], {
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'],
    // The server's environment (two malloc arenas), as npm start gives it; the peer gets it too.
    env: { ...withServerEnv(), NODE_ENV: 'test' },
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
  });
  return {
    info: JSON.parse(first) as T,
    child,
    lines,
    // SIGTERM, and SIGKILL if the server has not exited 15 s later: a run always ends.
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** One load scenario's result: requests per second, latency percentiles (ms), errors. */
export interface LoadRow {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Where the measured load's CPU went, per request (when the server's pid was given). */
  cpu?: CpuSplit;
}

/**
 * Loads the target with `options` for 2 s (warm-up: JIT, caches, pool), then measures it for
 * `duration` s; the row is also logged as it finishes.
 */
export async function measureLoad(
  scenario: string,
  options: autocannon.Options,
  duration: number,
  serverPid?: number,
): Promise<LoadRow> {
  await autocannon({ ...options, duration: 2 });
  const before = serverPid ? cpuSnapshot(serverPid) : null;
  const r = await autocannon({ ...options, duration });
  const cpu = serverPid
    ? cpuPerRequest(before, cpuSnapshot(serverPid), r.requests.total)
    : undefined;
  const errors = r.non2xx + r.errors + r.timeouts;
  console.log(
    `${scenario}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms, non-2xx ${errors}`,
  );
  return {
    scenario,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors,
    ...(cpu ? { cpu } : {}),
  };
}

/**
 * Alternating turns per side where two servers are compared in one run (tenant reads, the peer):
 * a change in the machine's load during the run reaches both sides alike instead of one.
 */
export const ROUNDS = 3;

/** The turn of median throughput, with every turn's errors. */
export function medianTurn(turns: readonly LoadRow[]): LoadRow {
  const sorted = [...turns].sort((a, b) => a.rps - b.rps);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return { ...mid, errors: turns.reduce((n, t) => n + t.errors, 0) };
}

/**
 * Loads measured in ROUNDS alternating turns of `duration / ROUNDS` s each, every target up at
 * once: what the comparison is between (two servers, two routes of one server) sees the same
 * machine. Each load's row is its median turn, in the order given.
 */
export async function inTurns(
  loads: readonly ((turnSeconds: number) => Promise<LoadRow>)[],
  duration: number,
): Promise<LoadRow[]> {
  const turn = Math.max(2, Math.round(duration / ROUNDS));
  const turns = loads.map((): LoadRow[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, load] of loads.entries()) turns[i]!.push(await load(turn));
  }
  return turns.map(medianTurn);
}
