import type { Config } from '../config/schema';
import { subscriptionSchema } from '../config/schema';
import { AppError } from '../lib/app-error';
import type { Logger } from '../lib/logger';
import type { StoredApiSubscription } from '../store/types';
import type { DeclaredSubscription } from './target';

/**
 * A stored API subscription as declared, or null when it must not be in force: the config declares
 * its id (the config one wins), or its stored definition no longer validates or its secrets cannot
 * be decrypted (logged, never fatal, so a relay upgrade or a wrong key cannot refuse to start over
 * one stored row).
 */
export function declaredSubscription(config: Config, row: StoredApiSubscription, logger: Logger): DeclaredSubscription | null {
  if (config.subscriptions.some((s) => s.id === row.id)) return null;
  if (row.unreadable !== undefined) {
    logger.error({ subscription: row.id, error: row.unreadable }, 'stored API subscription cannot be decrypted; skipped');
    return null;
  }
  const parsed = subscriptionSchema.safeParse(row.spec);
  if (!parsed.success) {
    logger.error(
      { subscription: row.id, issues: parsed.error.issues.map((i) => i.message) },
      'stored API subscription no longer validates; skipped',
    );
    return null;
  }
  return { def: parsed.data, source: 'api', createdAt: row.createdAt, updatedAt: row.updatedAt, tenant: row.tenant };
}

/** 409 for a stored API subscription whose secrets cannot be decrypted: it can only be deleted until its key is configured. */
export function assertReadable(row: StoredApiSubscription): void {
  if (row.unreadable === undefined) return;
  throw new AppError(409, 'subscription_unreadable', {
    detail: `subscription '${row.id}' cannot be read: ${row.unreadable}; configure that key (storage.previous_encryption_keys) or delete the subscription`,
  });
}
