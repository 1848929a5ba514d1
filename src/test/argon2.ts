// @node-rs/argon2 passed through with its work recorded, for tests that judge password work by
// counting it rather than timing it (timing comparisons failed on loaded CI machines). In a test:
//   const argon2 = vi.hoisted(() => ({ verified: [] as string[], running: 0, mostAtOnce: 0 }));
//   vi.mock('@node-rs/argon2', async (original) =>
//     (await import('../test/argon2.ts')).recordingArgon2(await original(), argon2));
// (vi.hoisted runs before imports, so the record is made inline.)
import type * as Argon2 from '@node-rs/argon2';

export interface Argon2Record {
  /** Every stored hash verified against, in order. */
  verified: string[];
  /** argon2 jobs (hash or verify) running now, and the most that ever ran at once. */
  running: number;
  mostAtOnce: number;
}

export function recordingArgon2(real: typeof Argon2, record: Argon2Record): typeof Argon2 {
  const job = async <T>(work: () => Promise<T>): Promise<T> => {
    record.running++;
    record.mostAtOnce = Math.max(record.mostAtOnce, record.running);
    try {
      return await work();
    } finally {
      record.running--;
    }
  };
  return {
    ...real,
    hash: (...args: Parameters<typeof real.hash>) => job(() => real.hash(...args)),
    verify: (...args: Parameters<typeof real.verify>) => {
      record.verified.push(String(args[0]));
      return job(() => real.verify(...args));
    },
  };
}

/** The `m=…,t=…,p=…` of an argon2id PHC string (undefined for anything else). */
export const phcParams = (hash: string) =>
  /^\$argon2id\$v=19\$(m=\d+,t=\d+,p=\d+)\$/.exec(hash)?.[1];
