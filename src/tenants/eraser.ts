import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { Store } from '../store/types';

/** Deliveries or events erased per write transaction: a few milliseconds, so ingest and delivery never wait long. */
export const ERASE_BATCH = 500;

export interface EraserOptions {
  /** Time between looks for erasures under way (ms): other instances' DELETEs, and a failed pass tried again. */
  intervalMs: number;
  /** Rows per batch (see ERASE_BATCH). */
  batchSize?: number;
}

/**
 * The erasure worker (SPEC 9): a pass asks the store which tenants are being erased and runs
 * their batches, one short transaction each, yielding to the event loop between them. It passes
 * at start (so an erasure cut short by a restart goes on), when nudged (a DELETE on this
 * instance), and every `intervalMs` (a DELETE on another instance, a pass that failed). Passes
 * never overlap; stop() ends a pass after its current batch, and the next start resumes it.
 */
export function createEraser(deps: { store: Store; clock: Clock; logger: Logger }, opts: EraserOptions) {
  const { store, clock, logger } = deps;
  const batchSize = opts.batchSize ?? ERASE_BATCH;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let chain: Promise<unknown> = Promise.resolve();
  // A nudge while a pass runs asks for one more pass after it, not one per nudge.
  let queued: Promise<void> | undefined;

  async function eraseTenant(tenant: string): Promise<void> {
    const started = performance.now();
    for (;;) {
      const erasure = await store.eraseTenantBatch(tenant, batchSize, clock.now());
      if (erasure === null || stopped) return;
      if (erasure.state === 'done') {
        const { events, deliveries, attempts } = erasure;
        logger.info({ tenant, events, deliveries, attempts, duration_ms: Math.round(performance.now() - started) }, 'tenant erased');
        return;
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  async function pass(): Promise<void> {
    for (const tenant of await store.erasingTenants()) {
      if (stopped) return;
      await eraseTenant(tenant);
    }
  }

  /** One pass after those already running or queued. */
  function runPass(): Promise<void> {
    queued ??= chain.then(() => {
      queued = undefined;
      return pass();
    });
    const next = queued;
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      runPass()
        .catch((err: unknown) => logger.warn({ err }, 'tenant erasure pass failed; trying again at the next one'))
        .finally(() => schedule(opts.intervalMs));
    }, delayMs);
    timer.unref();
  }

  return {
    /** Resumes erasures under way at once, then looks again every `intervalMs`. */
    start(): void {
      stopped = false;
      schedule(0);
    },
    /** An erasure was just started here: a pass now instead of at the next look. */
    nudge(): void {
      if (stopped) return;
      runPass().catch((err: unknown) => logger.warn({ err }, 'tenant erasure pass failed; trying again at the next one'));
    },
    /** Stops the timer and waits for a pass in progress to end (after its current batch). */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await chain;
    },
    /** One pass now (tests); never overlaps another. */
    runOnce: (): Promise<void> => runPass(),
  };
}

/** The erasure worker of one relay. */
export type Eraser = ReturnType<typeof createEraser>;
