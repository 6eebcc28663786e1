import pRetry from 'p-retry';
import type { Logger } from '../lib/logger';
import type { AttemptResult, Store } from '../store/types';

/**
 * Batches finished attempts into one `store.complete` call per event-loop turn, so a burst of
 * completions costs one transaction and one fsync. A failed write is retried a few times (a busy or
 * briefly unavailable store); if it still fails, the deliveries keep their lease and are rescued
 * once it expires, so the attempt is repeated rather than lost.
 */
export function createCompletionWriter(store: Store, logger: Logger, now: () => number) {
  let queue: { result: AttemptResult; done: (written: boolean) => void }[] = [];
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
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
      logger.error({ err, deliveries: batch.length }, 'could not record attempt results; they will be retried after their lease expires');
      for (const b of batch) b.done(false);
    }
  }

  return {
    /** Queue a result; resolves true once written, false if the lease was lost or the write failed. */
    write(result: AttemptResult): Promise<boolean> {
      return new Promise((done) => {
        queue.push({ result, done });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            chain = chain.then(flush);
          });
        }
      });
    },
    /** Resolves after everything queued so far is written. */
    async drain(): Promise<void> {
      while (queue.length > 0 || scheduled) {
        await new Promise((r) => setImmediate(r));
        await chain;
      }
      await chain;
    },
  };
}
