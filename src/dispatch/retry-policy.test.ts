import { describe, expect, it } from 'vitest';
import { nextState, parseRetryAfter } from './retry-policy';

const policy = { scheduleMs: [5000, 300_000], jitter: 0.2 };
const now = 1_000_000;

describe('nextState', () => {
  it('succeeds on ok and fails for good on gone or fail', () => {
    expect(nextState({ attempt: 1, outcome: { kind: 'ok', status: 200 }, now, policy })).toEqual({ status: 'succeeded' });
    expect(nextState({ attempt: 1, outcome: { kind: 'gone', status: 410, error: '' }, now, policy })).toEqual({ status: 'failed' });
    expect(nextState({ attempt: 1, outcome: { kind: 'fail', status: null, error: '' }, now, policy })).toEqual({ status: 'failed' });
  });

  it('follows the schedule, then fails after 1 + length attempts', () => {
    const retry = { kind: 'retry', status: 500, error: 'HTTP 500' } as const;
    const mid = () => 0.5; // jitter factor exactly 1
    expect(nextState({ attempt: 1, outcome: retry, now, policy, random: mid })).toEqual({ status: 'retrying', nextAttemptAt: now + 5000 });
    expect(nextState({ attempt: 2, outcome: retry, now, policy, random: mid })).toEqual({
      status: 'retrying',
      nextAttemptAt: now + 300_000,
    });
    expect(nextState({ attempt: 3, outcome: retry, now, policy, random: mid })).toEqual({ status: 'failed' });
  });

  it('scales each delay by a factor within [1 - jitter, 1 + jitter]', () => {
    const retry = { kind: 'retry', status: null, error: 'x' } as const;
    const low = nextState({ attempt: 1, outcome: retry, now, policy, random: () => 0 });
    const high = nextState({ attempt: 1, outcome: retry, now, policy, random: () => 0.999999 });
    expect(low).toEqual({ status: 'retrying', nextAttemptAt: now + 4000 });
    expect(high.status === 'retrying' && high.nextAttemptAt).toBeCloseTo(now + 6000, -1);
  });

  it('waits at least Retry-After, clamped to twice the scheduled delay', () => {
    const at = (retryAfterMs: number) =>
      nextState({ attempt: 1, outcome: { kind: 'retry', status: 429, retryAfterMs, error: '' }, now, policy: { ...policy, jitter: 0 } });
    expect(at(1000)).toEqual({ status: 'retrying', nextAttemptAt: now + 5000 });
    expect(at(8000)).toEqual({ status: 'retrying', nextAttemptAt: now + 8000 });
    expect(at(3_600_000)).toEqual({ status: 'retrying', nextAttemptAt: now + 10_000 });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, ignores junk', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
