import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Digests of a configured token list, made once per list (the config's array until a reload replaces it). */
const digestsOf = new WeakMap<readonly unknown[], Buffer[]>();

/** The token of an `Authorization: Bearer …` header, or null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match ? match[1]!.trim() : null;
}

/**
 * The first candidate whose secret equals `given`. Every candidate is compared, as a SHA-256
 * digest, in constant time: timing reveals neither which token matched nor how much of one did.
 */
export function matchToken<T>(given: string, candidates: readonly T[], secretOf: (candidate: T) => string): T | undefined {
  let digests = digestsOf.get(candidates);
  if (!digests) {
    digests = candidates.map((c) => digest(secretOf(c)));
    digestsOf.set(candidates, digests);
  }
  const g = digest(given);
  let found: T | undefined;
  digests.forEach((d, i) => {
    if (timingSafeEqual(g, d) && found === undefined) found = candidates[i];
  });
  return found;
}
