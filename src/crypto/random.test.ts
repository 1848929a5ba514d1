import { describe, expect, it, vi } from 'vitest';

// Every refill of the pool, counted (the real function still fills it).
const csprng = vi.hoisted(() => ({ fills: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    randomFillSync: ((buf: Buffer) => {
      csprng.fills++;
      return real.randomFillSync(buf);
    }) as typeof real.randomFillSync,
  };
});

const { randomBytesPooled } = await import('./random.ts');

describe('randomBytesPooled', () => {
  it('hands out fresh bytes every time, across many refills of the pool', () => {
    const seen = new Set<string>();
    const histogram = new Array(256).fill(0);
    for (let i = 0; i < 4096; i++) {
      const b = randomBytesPooled(16);
      expect(b).toHaveLength(16);
      seen.add(b.toString('hex'));
      for (const byte of b) histogram[byte]++;
    }
    // 64 KiB drawn: no piece twice (a pool handed out again, or never refilled, would repeat),
    // and every byte value present (zeroed or constant bytes would not be).
    expect(seen.size).toBe(4096);
    expect(histogram.every((n) => n > 0)).toBe(true);
  });

  it('refills from the CSPRNG once per 4 KiB, not once per call', () => {
    randomBytesPooled(4096 - 1); // past the pooled size: drawn directly, the pool untouched
    const before = csprng.fills;
    for (let i = 0; i < 256 * 3; i++) randomBytesPooled(16);
    expect(csprng.fills - before).toBeGreaterThanOrEqual(3);
    expect(csprng.fills - before).toBeLessThanOrEqual(4);
  });

  it('returns a copy the caller owns', () => {
    const a = randomBytesPooled(32);
    const kept = Buffer.from(a);
    a.fill(0);
    const b = randomBytesPooled(32);
    expect(b.equals(Buffer.alloc(32))).toBe(false);
    expect(b.equals(kept)).toBe(false);
  });

  it('serves sizes above the pooled maximum straight from the CSPRNG', () => {
    const big = randomBytesPooled(1024);
    expect(big).toHaveLength(1024);
    expect(big.equals(Buffer.alloc(1024))).toBe(false);
  });
});
