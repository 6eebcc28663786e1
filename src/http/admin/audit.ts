import type { Context } from 'hono';
import type { AdminDeps } from './deps';
import { ulid } from '../../lib/ids';
import type { AdminEnv } from './auth';

/**
 * Records one admin write: who (the token's name), what, on which id, when; in the database and
 * in the log. `details` must never hold a secret.
 */
export async function audit(
  c: Context<AdminEnv>,
  deps: AdminDeps,
  action: string,
  target: string | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  const at = deps.clock.now();
  const actor = c.get('actor').name;
  await deps.store.appendAudit({ id: `aud_${ulid(at)}`, at, actor, action, target, details });
  deps.logger.info({ audit: true, actor, action, target, details }, `admin: ${action}`);
}
