import type { Config } from '../config/schema';
import { subscriptionSchema } from '../config/schema';
import type { Logger } from '../lib/logger';
import type { Store } from '../store/types';
import { compileTarget, type DeliveryDefaults, type Target } from './registry';

/** The delivery-wide defaults a subscription falls back to. */
export function deliveryDefaults(config: Config): DeliveryDefaults {
  return {
    timeoutMs: config.delivery.timeout,
    retryScheduleMs: config.delivery.retry_schedule,
    jitter: config.delivery.jitter,
    disableAfterMs: config.delivery.disable_after,
  };
}

/**
 * Every subscription to dispatch: those of the config file, then those created over the admin API
 * (stored in the database). An API subscription whose id is now declared in the config is
 * shadowed by it (logged); one whose stored definition no longer validates is skipped (logged),
 * never fatal, so a relay upgrade cannot refuse to start over one stored row.
 */
export async function loadTargets(config: Config, store: Store, logger: Logger): Promise<Target[]> {
  const defaults = deliveryDefaults(config);
  const targets = config.subscriptions.map((s) => compileTarget(s, defaults, 'config'));
  const declared = new Set(targets.map((t) => t.id));
  for (const stored of await store.listApiSubscriptions()) {
    if (declared.has(stored.id)) {
      logger.warn({ subscription: stored.id }, 'an API subscription has the id of a config subscription; the config one wins');
      continue;
    }
    const parsed = subscriptionSchema.safeParse(stored.spec);
    if (!parsed.success) {
      logger.error(
        { subscription: stored.id, issues: parsed.error.issues.map((i) => i.message) },
        'stored API subscription no longer validates; skipped',
      );
      continue;
    }
    targets.push(compileTarget(parsed.data, defaults, 'api'));
  }
  return targets;
}
