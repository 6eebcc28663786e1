import type { Config } from '../config/schema';
import { createSqliteStore } from './sqlite/sqlite-store';
import type { Store } from './types';

/** Opens the configured backend (not migrated yet). */
export function openStore(storage: Config['storage']): Store {
  if (storage.postgres) throw new Error('storage.postgres is not supported yet');
  const sqlite = storage.sqlite ?? { path: './data/hookrelay.db', synchronous: 'full' as const };
  return createSqliteStore({ path: sqlite.path, synchronous: sqlite.synchronous });
}
