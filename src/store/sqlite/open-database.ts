import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadEmbeddedAddon } from './embedded-addon';
import { createPrivateDir, prepareDatabaseFile } from './private-files';

/** Set to true by build.mjs: the bundle loads better-sqlite3's addon from beside itself. */
declare const __HOOKRELAY_BUNDLE__: boolean | undefined;
/** Set to true by scripts/build-binary.mjs: the single executable carries the addon as an asset. */
declare const __HOOKRELAY_SEA__: boolean | undefined;

/** How to open the SQLite file (config `storage.sqlite`). */
export interface SqliteOptions {
  /** File path, created (0600) with its parent directory (0700) if missing; ':memory:' for tests. */
  path: string;
  /** `full` syncs every commit (an acknowledged event survives power loss); `normal` syncs at checkpoints. */
  synchronous: 'full' | 'normal';
  /** How long a write waits for another connection's lock before SQLITE_BUSY (ms); default BUSY_TIMEOUT_MS. */
  busyTimeoutMs?: number;
  /** Hold the file's process lock (process-lock.ts) from open to close, as the serving process does; default false. */
  exclusive?: boolean;
}

/** Milliseconds a writer waits for another connection's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** Opens the database file with the PRAGMAs every connection of the relay needs. */
export function openDatabase(opts: SqliteOptions): Database.Database {
  if (!isInMemory(opts.path)) {
    createPrivateDir(dirname(resolve(opts.path)));
    // SQLite would make it 0644; its -wal and -shm take the mode of this file.
    prepareDatabaseFile(opts.path);
  }
  const busyTimeoutMs = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  const db = new Database(opts.path, { timeout: busyTimeoutMs, ...bindingOption() });
  try {
    // Before anything is created: a new file lets retention hand freed pages back (prune.ts).
    // On an existing file this is a no-op; the store's migrate() converts it once.
    db.pragma('auto_vacuum = INCREMENTAL');
    // WAL: readers never block the writer, and a commit is one append (plus fsync when FULL).
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('foreign_keys = ON');
    // Deleted rows (a removed subscription's secrets) are overwritten with zeros, not left in free pages.
    db.pragma('secure_delete = ON');
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
 * better-sqlite3's native addon, as its `nativeBinding` option takes it:
 * - HOOKRELAY_SQLITE_ADDON if set (a path);
 * - in the single executable (build-binary.mjs), the copy embedded as an asset, written once to a
 *   cache file and loaded with process.dlopen (its require() only knows Node's built-in modules);
 * - in the bundle, `better_sqlite3.node` beside dist/hookrelay.mjs;
 * - run from source, undefined: better-sqlite3 finds its own build in node_modules.
 */
export function nativeBinding(): string | object | undefined {
  if (process.env.HOOKRELAY_SQLITE_ADDON) return process.env.HOOKRELAY_SQLITE_ADDON;
  if (typeof __HOOKRELAY_SEA__ !== 'undefined') return (embeddedAddon ??= loadEmbeddedAddon());
  if (typeof __HOOKRELAY_BUNDLE__ === 'undefined') return undefined;
  return join(dirname(fileURLToPath(import.meta.url)), 'better_sqlite3.node');
}

let embeddedAddon: object | undefined;

/** `nativeBinding` for `new Database(…)` (its types say string; better-sqlite3 also takes a loaded addon). */
export function bindingOption(): { nativeBinding?: string } {
  const addon = nativeBinding();
  return addon === undefined ? {} : { nativeBinding: addon as string };
}
