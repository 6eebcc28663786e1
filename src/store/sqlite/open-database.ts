import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/** Set to true by build.mjs: the bundle loads better-sqlite3's addon from beside itself. */
declare const __HOOKRELAY_BUNDLE__: boolean | undefined;

/** How to open the SQLite file (config `storage.sqlite`). */
export interface SqliteOptions {
  /** File path, created with its parent directory if missing; ':memory:' for tests. */
  path: string;
  /** `full` syncs every commit (an acknowledged event survives power loss); `normal` syncs at checkpoints. */
  synchronous: 'full' | 'normal';
  /** How long a write waits for another connection's lock before SQLITE_BUSY (ms); default BUSY_TIMEOUT_MS. */
  busyTimeoutMs?: number;
}

/** Milliseconds a writer waits for another connection's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** Opens the database file with the PRAGMAs every connection of the relay needs. */
export function openDatabase(opts: SqliteOptions): Database.Database {
  if (!isInMemory(opts.path)) mkdirSync(dirname(resolve(opts.path)), { recursive: true });
  const addon = nativeBinding();
  const busyTimeoutMs = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  const db = new Database(opts.path, { timeout: busyTimeoutMs, ...(addon && { nativeBinding: addon }) });
  try {
    // Before anything is created: a new file lets retention hand freed pages back (prune.ts).
    // On an existing file this is a no-op; the store's migrate() converts it once.
    db.pragma('auto_vacuum = INCREMENTAL');
    // WAL: readers never block the writer, and a commit is one append (plus fsync when FULL).
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** ':memory:', '' and URI names: no file of our own (and no WAL file beside it). */
export function isInMemory(path: string): boolean {
  return path === ':memory:' || path === '' || path.startsWith('file:');
}

/**
 * The addon path for the bundle: HOOKRELAY_SQLITE_ADDON if set, else `better_sqlite3.node` beside
 * dist/hookrelay.mjs. Run from source, better-sqlite3 finds its own build in node_modules.
 */
export function nativeBinding(): string | undefined {
  if (process.env.HOOKRELAY_SQLITE_ADDON) return process.env.HOOKRELAY_SQLITE_ADDON;
  if (typeof __HOOKRELAY_BUNDLE__ === 'undefined') return undefined;
  return join(dirname(fileURLToPath(import.meta.url)), 'better_sqlite3.node');
}
