import type { Config } from '../config/schema';
import { subscriptionSchema } from '../config/schema';
import type { Logger } from '../lib/logger';
import type { StoredApiSubscription } from '../store/types';
import type { DeclaredSubscription } from './target';

/**
 * A stored API subscription as declared, or null when it must not be in force: the config declares
 * its id (the config one wins), or its stored definition no longer validates (logged, never fatal,
 * so a relay upgrade cannot refuse to start over one stored row).
 */
export function declaredSubscription(config: Config, row: StoredApiSubscription, logger: Logger): DeclaredSubscription | null {
  if (config.subscriptions.some((s) => s.id === row.id)) return null;
  const parsed = subscriptionSchema.safeParse(row.spec);
  if (!parsed.success) {
    logger.error(
      { subscription: row.id, issues: parsed.error.issues.map((i) => i.message) },
      'stored API subscription no longer validates; skipped',
    );
    return null;
  }
  return { def: parsed.data, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt };
}
