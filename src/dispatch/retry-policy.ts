import type { NextState } from '../store/types';

/** How an attempt ended, as a value (STYLE 3): deliver() never throws for a receiver's failure. */
export type Outcome =
  /** 2xx. */
  | { kind: 'ok'; status: number }
  /** Worth trying again: other status, timeout, network error; 429/503 may carry Retry-After. */
  | { kind: 'retry'; status: number | null; retryAfterMs?: number; error: string }
  /** 410 Gone: fail for good and disable the subscription. */
  | { kind: 'gone'; status: 410; error: string }
  /** Never worth retrying (e.g. blocked destination). */
  | { kind: 'fail'; status: number | null; error: string };

export interface RetryPolicy {
  /** Delay before each retry, ms; attempts in all = 1 + length. */
  scheduleMs: readonly number[];
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

export interface NextAttemptInput {
  /** The number of the attempt that just finished, 1 for the first. */
  attempt: number;
  outcome: Outcome;
  now: number;
  policy: RetryPolicy;
  /** Uniform random number in [0, 1); injected for tests. */
  random?: () => number;
}

/**
 * What follows an attempt (pure). A Retry-After from a 429/503 waits at least that long, clamped to
 * twice the scheduled delay so a receiver cannot park a delivery for days.
 */
export function nextState({ attempt, outcome, now, policy, random = Math.random }: NextAttemptInput): NextState {
  if (outcome.kind === 'ok') return { status: 'succeeded' };
  if (outcome.kind !== 'retry') return { status: 'failed' };
  const scheduled = policy.scheduleMs[attempt - 1];
  if (scheduled === undefined) return { status: 'failed' };
  let delay = scheduled * (1 + policy.jitter * (2 * random() - 1));
  if (outcome.retryAfterMs !== undefined) {
    delay = Math.max(delay, Math.min(outcome.retryAfterMs, 2 * scheduled));
  }
  return { status: 'retrying', nextAttemptAt: now + Math.round(delay) };
}

/** Parses a Retry-After header (seconds or HTTP date) into ms from `now`; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
