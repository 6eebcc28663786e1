import type { Clock } from '../lib/clock';
import { formatDuration } from '../lib/durations';
import type { Logger } from '../lib/logger';
import type { Store } from '../store/types';
import type { LiveSubscriptions } from '../subscriptions/live-set';

/** Longest pause between two maintenance ticks, ms. */
export const MAX_MAINTENANCE_INTERVAL_MS = 60_000;
/** Shortest pause between two ticks, ms (reached only with a tiny `disable_after`, as in tests). */
const MIN_MAINTENANCE_INTERVAL_MS = 20;

export interface MaintenanceDeps {
  store: Store;
  /** Errors that mean storage cannot answer now: not logged per tick. */
  isUnavailable: (err: unknown) => boolean;
  subscriptions: LiveSubscriptions;
  clock: Clock;
  logger: Logger;
  /** Called when expired leases were given back: there is work to claim. */
  onRescued: () => void;
  /** Longest pause between ticks, ms (default MAX_MAINTENANCE_INTERVAL_MS); a shared database takes dead instances' work over sooner. */
  maxIntervalMs?: number;
}

/** What one tick did. */
export interface MaintenanceResult {
  /** Deliveries whose lease had expired, given back. */
  rescued: number;
  /** Subscriptions disabled by `delivery.disable_after`. */
  disabled: string[];
}

/**
 * A slow periodic tick beside the dispatch loop. It gives back leases that expired (an attempt
 * whose result could not be written; on a shared database, a dead process) and disables
 * subscriptions that have failed for `delivery.disable_after` without one success, measured from
 * the store's `failingSince` so it holds across restarts. The tick runs every tenth of the
 * shortest `disable_after`, at most every MAX_MAINTENANCE_INTERVAL_MS.
 */
export function createMaintenance(deps: MaintenanceDeps) {
  const { store, subscriptions, clock, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let running: Promise<unknown> = Promise.resolve();

  async function runOnce(): Promise<MaintenanceResult> {
    const now = clock.now();
    const rescued = await store.rescueExpired(now);
    if (rescued > 0) {
      logger.warn({ deliveries: rescued }, 'leases expired without a recorded result; deliveries will be tried again');
      deps.onRescued();
    }
    return { rescued, disabled: await disableFailing(now) };
  }

  /** Disables every enabled subscription whose failures started at least `disableAfterMs` ago. */
  async function disableFailing(now: number): Promise<string[]> {
    const disabled: string[] = [];
    const shortest = subscriptions.shortestDisableAfter();
    if (shortest === Infinity) return disabled;
    // Only those failing at least as long as the shortest disable_after: not one row per subscription.
    for (const state of await store.failingSubscriptionStates(now - shortest)) {
      const target = subscriptions.get(state.id);
      if (!target?.enabled || state.failingSince === null || now - state.failingSince < target.disableAfterMs) continue;
      const since = new Date(state.failingSince).toISOString();
      const reason = `no successful delivery since ${since} (delivery.disable_after ${formatDuration(target.disableAfterMs)})`;
      await store.setSubscriptionEnabled(state.id, false, reason, now);
      disabled.push(state.id);
      logger.warn(
        { subscription: state.id, failing_since: since, failure_streak: state.failureStreak, disable_after_ms: target.disableAfterMs },
        'subscription disabled: no successful delivery within delivery.disable_after',
      );
    }
    if (disabled.length > 0) await subscriptions.refresh();
    return disabled;
  }

  function intervalMs(): number {
    return Math.min(
      deps.maxIntervalMs ?? MAX_MAINTENANCE_INTERVAL_MS,
      Math.max(MIN_MAINTENANCE_INTERVAL_MS, subscriptions.shortestDisableAfter() / 10),
    );
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        // During a storage outage the dispatcher has said so once already; a tick per second would repeat it.
        .catch((err) =>
          deps.isUnavailable(err) ? undefined : logger.error({ err }, 'maintenance tick failed; trying again at the next one'),
        )
        .finally(schedule);
    }, intervalMs());
    timer.unref();
  }

  return {
    runOnce,
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    /** Stops ticking; resolves once a tick in progress is over. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
