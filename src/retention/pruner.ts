import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import { SUBSCRIPTION_CHANGES_KEPT_MS, type Store } from '../store/types';

export interface PrunerOptions {
  /** `retention` from the config, read at each sweep (reload changes it), in ms. */
  retention: () => { succeeded: number; failed: number };
  /** Time between the end of one sweep and the start of the next (ms). */
  intervalMs: number;
  /** Events looked at per transaction. */
  batchSize?: number;
  /** Called with the number of events deleted by each batch that deleted some (metrics). */
  onPruned?: (events: number) => void;
}

/** Events looked at per write transaction: a few milliseconds of work, so ingest never waits long. */
export const PRUNE_BATCH = 500;

/**
 * The retention loop (SPEC `retention`): every `intervalMs` a sweep deletes finished events older
 * than their limit, with their deliveries and attempts, in batches of one short transaction each,
 * yielding to the event loop between batches so ingest and delivery go on. Sweeps never overlap; a
 * failed batch (storage busy, say) ends the sweep, and the next one starts over. A sweep also
 * trims the subscription change log to its last hour.
 */
export function createPruner(deps: { store: Store; clock: Clock; logger: Logger }, opts: PrunerOptions) {
  const { store, clock, logger } = deps;
  const batchSize = opts.batchSize ?? PRUNE_BATCH;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Sweeps run one after another, whoever starts them (the timer or runOnce).
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn);
    chain = next.catch(() => undefined);
    return next;
  };

  /** One whole sweep; resolves with the number of events deleted. */
  async function sweep(): Promise<number> {
    const { succeeded, failed } = opts.retention();
    const now = clock.now();
    const request = { succeededBefore: now - succeeded, failedBefore: now - failed, limit: batchSize };
    const started = performance.now();
    let deleted = 0;
    let after: string | undefined;
    for (;;) {
      const batch = await store.pruneFinished({ ...request, after });
      if (batch.deleted > 0) opts.onPruned?.(batch.deleted);
      deleted += batch.deleted;
      if (batch.next === null || stopped) break;
      after = batch.next;
      await new Promise((r) => setImmediate(r));
    }
    await store.pruneSubscriptionChanges(now - SUBSCRIPTION_CHANGES_KEPT_MS);
    if (deleted > 0)
      logger.info(
        { events: deleted, duration_ms: Math.round(performance.now() - started) },
        'retention: deleted finished events past their retention',
      );
    return deleted;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      exclusive(sweep)
        .catch((err: unknown) => logger.warn({ err }, 'retention sweep failed; trying again at the next one'))
        .finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  }

  return {
    start(): void {
      stopped = false;
      schedule();
    },
    /** Stops the timer and waits for a sweep in progress to end (it stops after its current batch). */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await chain;
    },
    /** One sweep now (tests); never overlaps another. Resolves with the number of events deleted. */
    runOnce: (): Promise<number> => exclusive(sweep),
  };
}
