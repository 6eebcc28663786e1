import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { Store } from '../store/types';
import type { AlertSettings, OperationalEvents } from './events';

/** Longest pause between two looks at late backlogs and due failure reports, ms. */
const MAX_TICK_MS = 15_000;
/** Shortest pause, ms (reached only with a tiny `alerts.backlog_age`, as in tests). */
const MIN_TICK_MS = 20;

export interface OperationalTickerDeps {
  store: Store;
  events: OperationalEvents;
  clock: Clock;
  logger: Logger;
  alerts: () => AlertSettings;
  isUnavailable: (err: unknown) => boolean;
}

/**
 * The periodic half of operational events: failure reports held back by the one-a-minute rule,
 * and backlogs that grew late (both decided in the store, once across instances). Ticks every
 * tenth of `alerts.backlog_age`, at most every MAX_TICK_MS.
 */
export function createOperationalTicker(deps: OperationalTickerDeps) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let running: Promise<unknown> = Promise.resolve();

  /** One look now; resolves with the events emitted. */
  async function runOnce(): Promise<number> {
    const reports = deps.events.forWrite();
    let emitted = await deps.store.reportFailedDeliveries(deps.clock.now(), reports.hooks);
    deps.events.committed(reports);
    const backlogs = deps.events.forWrite();
    emitted += await deps.store.checkBacklog(deps.clock.now(), deps.alerts().backlog_age, backlogs.hooks);
    deps.events.committed(backlogs);
    return emitted;
  }

  function schedule(): void {
    if (stopped) return;
    const interval = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, deps.alerts().backlog_age / 10));
    timer = setTimeout(() => {
      running = runOnce()
        .catch((err) =>
          deps.isUnavailable(err) ? undefined : deps.logger.error({ err }, 'operational events tick failed; trying again at the next one'),
        )
        .finally(schedule);
    }, interval);
    timer.unref();
  }

  return {
    runOnce,
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
