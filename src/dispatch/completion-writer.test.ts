import { describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger';
import type { AttemptResult, Store } from '../store/types';
import { createCompletionWriter } from './completion-writer';

/**
 * A store whose complete() records each call's delivery ids and writes everything, except that a
 * call holding a delivery named 'poison' fails (as a store that is up refusing it, or, with
 * `down`, as one that is unavailable).
 */
function recordingStore({ down = false } = {}) {
  const calls: string[][] = [];
  const store = {
    async complete(results: AttemptResult[]) {
      calls.push(results.map((r) => r.deliveryId));
      if (results.some((r) => r.deliveryId === 'poison')) throw new Error('refused');
      return results.map(() => true);
    },
    isUnavailable: () => down,
  } as unknown as Store;
  return { store, calls };
}

const result = (deliveryId: string) => ({ deliveryId }) as AttemptResult;
const logger = createLogger({ level: 'silent', format: 'json' });
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('completion writer', () => {
  it('writes results finished within its window in one call', async () => {
    const { store, calls } = recordingStore();
    const writer = createCompletionWriter(store, logger, Date.now, 50);
    const first = [writer.write(result('a')), writer.write(result('b'))];
    await nextTurn();
    await nextTurn();
    expect(calls).toEqual([]);
    const later = writer.write(result('c'));
    expect(await Promise.all([...first, later])).toEqual([true, true, true]);
    expect(calls).toEqual([['a', 'b', 'c']]);
  });

  it('writes an urgent result in the next turn, with what was waiting', async () => {
    const { store, calls } = recordingStore();
    // A window no test would wait for: only the urgent write can end it.
    const writer = createCompletionWriter(store, logger, Date.now, 600_000);
    const waiting = writer.write(result('a'));
    expect(await Promise.all([waiting, writer.write(result('fifo'), true)])).toEqual([true, true]);
    expect(calls).toEqual([['a', 'fifo']]);
  });

  it('writes the results of a batch one by one when the store refuses the batch, so one it cannot take costs only its own', async () => {
    const { store, calls } = recordingStore();
    const writer = createCompletionWriter(store, logger, Date.now, 0);
    const written = await Promise.all(['a', 'poison', 'b'].map((id) => writer.write(result(id))));
    expect(written).toEqual([true, false, true]);
    expect(calls.filter((c) => c.length === 3).length).toBeGreaterThan(1);
    expect(calls.filter((c) => c.length === 1)).toEqual([['a'], ['poison'], ['b']]);
  });

  it('does not write one by one while the store is unavailable: the batch waits for its leases to expire', async () => {
    const { store, calls } = recordingStore({ down: true });
    const writer = createCompletionWriter(store, logger, Date.now, 0);
    const written = await Promise.all(['a', 'poison'].map((id) => writer.write(result(id))));
    expect(written).toEqual([false, false]);
    expect(calls.every((c) => c.length === 2)).toBe(true);
  });

  it('drain writes what is queued without waiting for the window', async () => {
    const { store, calls } = recordingStore();
    const writer = createCompletionWriter(store, logger, Date.now, 600_000);
    const written = writer.write(result('a'));
    await writer.drain();
    expect(await written).toBe(true);
    expect(calls).toEqual([['a']]);
  });
});
