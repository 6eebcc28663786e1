/**
 * Seeded randomness for the fault-injection tests, so a failing run can be replayed exactly:
 * the seed is printed, and `CHAOS_SEED=<n>` runs with it again.
 */
export interface SeededRandom {
  seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
}

/** mulberry32: small, fast, good enough to pick kill moments and request shapes. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
  };
}

/** The seed from `CHAOS_SEED`, or a fresh one; printed so the run can be repeated. */
export function chaosSeed(label: string): number {
  const fromEnv = process.env.CHAOS_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  console.log(`[${label}] seed ${seed} (repeat with CHAOS_SEED=${seed})`);
  return seed;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
