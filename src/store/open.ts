import type { Config } from '../config/schema';
import { createPostgresStore } from './postgres/postgres-store';
import { withSealedSpecs } from './sealed-specs';
import { createSecretBox, type SecretBox } from './secret-box';
import { createSqliteStore } from './sqlite/sqlite-store';
import type { Store } from './types';

/**
 * Opens the configured backend (not migrated yet), with the secrets of API subscriptions sealed
 * at rest by `storage.encryption_key` (sealed-specs.ts). `serve`: this process serves the store
 * (a single-owner backend then refuses a second server: DatabaseInUseError); readers (backup,
 * migrate) leave it out.
 */
export function openStore(storage: Config['storage'], opts: { serve?: boolean } = {}): Store {
  return withSealedSpecs(openBackend(storage, opts), secretBoxOf(storage));
}

/** The keys of `storage.encryption_key` and `storage.previous_encryption_keys`. */
export function secretBoxOf(storage: Config['storage']): SecretBox {
  return createSecretBox({ current: storage.encryption_key, previous: storage.previous_encryption_keys });
}

/** The configured backend itself: specs as stored (sealed or not). For `hookrelay reencrypt`; the relay uses openStore. */
export function openBackend(storage: Config['storage'], opts: { serve?: boolean } = {}): Store {
  if (storage.postgres) {
    const { url, max_connections, lease_margin, connect_timeout, statement_timeout } = storage.postgres;
    return createPostgresStore({
      url,
      maxConnections: max_connections,
      leaseMarginMs: lease_margin,
      connectTimeoutMs: connect_timeout,
      statementTimeoutMs: statement_timeout,
    });
  }
  const sqlite = storage.sqlite ?? { path: './data/hookrelay.db', synchronous: 'full' as const };
  return createSqliteStore({ path: sqlite.path, synchronous: sqlite.synchronous, ...(opts.serve && { exclusive: true }) });
}
