import type { Config } from '../config/schema';
import { createPostgresStore } from './postgres/postgres-store';
import { createSqliteStore } from './sqlite/sqlite-store';
import type { Store } from './types';

/**
 * Opens the configured backend (not migrated yet). `serve`: this process serves the store (a
 * single-owner backend then refuses a second server: DatabaseInUseError); readers (backup,
 * migrate) leave it out.
 */
export function openStore(storage: Config['storage'], opts: { serve?: boolean } = {}): Store {
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
