// Password hashing: argon2id in PHC string format. Passwords are compared exactly as typed after
// NFKC, so the same password entered from another keyboard or input method still matches.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Algorithm, Options } from '@node-rs/argon2';
import { hash, verify } from '@node-rs/argon2';
import { normalizePassword } from '../security/password-policy.ts';

export interface Argon2Params {
  /** KiB of memory per lane */
  memoryCost: number;
  /** passes over memory */
  timeCost: number;
  /** lanes */
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1. */
export const DEFAULT_ARGON2: Readonly<Argon2Params> = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

// The package's `Algorithm` is a const enum that its runtime does not export, so the value is
// spelled out; needsRehash() checks that what comes out really says argon2id.
const ARGON2ID = 2 as Algorithm;
const PHC_ALGORITHM = 'argon2id';
const PHC_VERSION = 19;

function toOptions(params: Argon2Params): Options {
  return {
    algorithm: ARGON2ID,
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
}

// Threat: argon2 runs on Node's thread pool (libuv, UV_THREADPOOL_SIZE threads, 4 by default),
// which file reads, DNS and WebCrypto (signing a login's access token) share. A burst of logins,
// wrong passwords included, would fill every thread with ~10-15 ms hashes and queue that other
// work behind them; and more hashes at once than cores only time-slice each other, finishing
// none sooner. So at most one hash per core runs at a time, and never on the pool's last thread;
// the rest wait here, in order of arrival. The pool is the process's: so is this limit.
/** How many argon2 jobs may run at once on `cores` cores with `poolThreads` in the pool. */
export function hashConcurrency(cores: number, poolThreads: number): number {
  return Math.max(1, Math.min(cores, poolThreads - 1));
}

/** Sets the limit from the configured pool (auth-context.ts, at start). */
export function limitHashConcurrency(poolThreads: number): void {
  hashLimit = hashConcurrency(availableParallelism(), poolThreads);
  startWaiting();
}

let hashLimit = hashConcurrency(availableParallelism(), 4);
let hashesRunning = 0;
const waiting: (() => void)[] = [];

function startWaiting(): void {
  while (hashesRunning < hashLimit && waiting.length > 0) {
    hashesRunning++;
    waiting.shift()!();
  }
}

async function inHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashesRunning < hashLimit && waiting.length === 0) hashesRunning++;
  // Its slot is taken for it by startWaiting.
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    hashesRunning--;
    startWaiting();
  }
}

export function hashPassword(password: string, params: Argon2Params): Promise<string> {
  return inHashSlot(() => hash(normalizePassword(password), toOptions(params)));
}

/** A stored hash that cannot be parsed is a failed login, not a server error. */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    return await inHashSlot(() => verify(storedHash, normalizePassword(password)));
  } catch {
    return false;
  }
}

interface PhcParams extends Argon2Params {
  algorithm: string;
  version: number;
}

const PHC_PATTERN =
  /^\$([a-z0-9-]+)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

function parsePhc(storedHash: string): PhcParams | null {
  const match = PHC_PATTERN.exec(storedHash);
  if (!match) return null;
  const [, algorithm, version, m, t, p] = match;
  return {
    algorithm: algorithm!,
    version: Number(version),
    memoryCost: Number(m),
    timeCost: Number(t),
    parallelism: Number(p),
  };
}

/** True when the stored hash was not made with argon2id at exactly `params` (rehash on login). */
export function needsRehash(storedHash: string, params: Argon2Params): boolean {
  const stored = parsePhc(storedHash);
  return (
    stored === null ||
    stored.algorithm !== PHC_ALGORITHM ||
    stored.version !== PHC_VERSION ||
    stored.memoryCost !== params.memoryCost ||
    stored.timeCost !== params.timeCost ||
    stored.parallelism !== params.parallelism
  );
}

// One hash of an unguessable value per parameter set: verifying against it costs what a real
// verification costs, so "no such user" cannot be told apart from "wrong password" by timing.
const dummyHashes = new Map<string, Promise<string>>();

function dummyHashFor(params: Argon2Params): Promise<string> {
  const key = `${params.memoryCost}:${params.timeCost}:${params.parallelism}`;
  let cached = dummyHashes.get(key);
  if (!cached) {
    cached = hashPassword(randomBytes(32).toString('base64url'), params);
    cached.catch(() => dummyHashes.delete(key));
    dummyHashes.set(key, cached);
  }
  return cached;
}

/** Computes the dummy hash ahead of time so the first unknown-email login is not slower. */
export async function primeDummyHash(params: Argon2Params): Promise<void> {
  await dummyHashFor(params);
}

/** Spends one verification's worth of time for a login whose account does not exist. */
export async function dummyVerify(password: string, params: Argon2Params): Promise<false> {
  await verifyPassword(await dummyHashFor(params), password);
  return false;
}
