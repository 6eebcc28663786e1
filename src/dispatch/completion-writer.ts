import pRetry from 'p-retry';
import type { Logger } from '../lib/logger';
import type { AttemptResult, Store } from '../store/types';

/**
 * How long a finished attempt waits for others to share its write, ms. At 1,000 deliveries/s a
 * write per event-loop turn was a transaction per delivery, each appending the same table and index
 * pages to the WAL again; gathering 5 ms of them left the main thread 15-20 % idle instead of
 * 8-10 %, and draining a backlog was no slower (its turns already held many). What it costs: a
 * delivery shows its new status up to this much later. (Its slot is freed when the receiver
 * answers, not when this write ends.)
 */
export const BATCH_WINDOW_MS = 5;

/**
 * Batches finished attempts into one `store.complete` call per BATCH_WINDOW_MS, so a burst of
 * completions costs one transaction. An `urgent` result (one that holds its slot until written: a
 * fifo subscription's, a 410's) is written in the next event-loop turn, with whatever else is
 * queued. A failed write is retried a few times (a busy or briefly unavailable store); if it still
 * fails on a store that is up, each result is written alone, so one it refuses does not take the
 * others with it. A result not written keeps its lease and is rescued once that expires, so the
 * attempt is repeated rather than lost.
 */
export function createCompletionWriter(store: Store, logger: Logger, now: () => number, windowMs = BATCH_WINDOW_MS) {
  let queue: { result: AttemptResult; done: (written: boolean) => void }[] = [];
  /** Results taken from the queue whose write has not ended yet. */
  let writing = 0;
  let chain: Promise<void> = Promise.resolve();
  let scheduled: 'soon' | 'now' | null = null;
  let timer: NodeJS.Timeout | undefined;

  const go = () => {
    chain = chain.then(flush);
  };

  function schedule(urgent: boolean): void {
    if (scheduled === 'now' || (scheduled === 'soon' && !urgent)) return;
    clearTimeout(timer);
    if (urgent || windowMs <= 0) {
      scheduled = 'now';
      setImmediate(go);
    } else {
      scheduled = 'soon';
      timer = setTimeout(go, windowMs);
    }
  }

  async function flush(): Promise<void> {
    scheduled = null;
    clearTimeout(timer);
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    writing = batch.length;
    try {
      const written = await pRetry(
        () =>
          store.complete(
            batch.map((b) => b.result),
            now(),
          ),
        {
          retries: 4,
          minTimeout: 50,
          maxTimeout: 1000,
        },
      );
      for (const [i, b] of batch.entries()) b.done(written[i] ?? false);
    } catch (err) {
      // A store that is up refused the batch: one result it cannot take must not cost the others
      // theirs (each would be sent again once its lease expires), so each is tried alone.
      if (batch.length > 1 && !store.isUnavailable(err)) {
        logger.warn({ err, deliveries: batch.length }, 'could not record a batch of attempt results; recording them one by one');
        for (const b of batch) b.done(await writeAlone(b.result));
      } else {
        logger.error({ err, deliveries: batch.length }, 'could not record attempt results; they will be retried after their lease expires');
        for (const b of batch) b.done(false);
      }
    } finally {
      writing = 0;
    }
  }

  async function writeAlone(result: AttemptResult): Promise<boolean> {
    try {
      return (await store.complete([result], now()))[0] ?? false;
    } catch (err) {
      logger.error(
        { err, delivery_id: result.deliveryId },
        'could not record an attempt result; it will be retried after its lease expires',
      );
      return false;
    }
  }

  return {
    /**
     * Queue a result; resolves true once written, false if the lease was lost or the write failed.
     * `urgent`: written in the next turn instead of within the window.
     */
    write(result: AttemptResult, urgent = false): Promise<boolean> {
      return new Promise((done) => {
        queue.push({ result, done });
        schedule(urgent);
      });
    },
    /** Results queued or being written. */
    waiting: () => queue.length + writing,
    /** Resolves after everything queued so far is written (at once: the window is not waited for). */
    async drain(): Promise<void> {
      while (queue.length > 0 || scheduled !== null) {
        if (scheduled === 'soon') schedule(true);
        await new Promise((r) => setImmediate(r));
        await chain;
      }
      await chain;
    },
  };
}
