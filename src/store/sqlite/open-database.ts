import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** How to open the SQLite file (config `storage.sqlite`). */
export interface SqliteOptions {
  /** File path, created with its parent directory if missing; ':memory:' for tests. */
  path: string;
  /** `full` syncs every commit (an acknowledged event survives power loss); `normal` syncs at checkpoints. */
  synchronous: 'full' | 'normal';
}

/** Milliseconds a writer waits for another connection's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** Opens the database file with the PRAGMAs every connection of the relay needs. */
export function openDatabase(opts: SqliteOptions): Database.Database {
  if (!isInMemory(opts.path)) mkdirSync(dirname(resolve(opts.path)), { recursive: true });
  const db = new Database(opts.path, { timeout: BUSY_TIMEOUT_MS });
  try {
    // WAL: readers never block the writer, and a commit is one append (plus fsync when FULL).
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function isInMemory(path: string): boolean {
  return path === ':memory:' || path === '' || path.startsWith('file:');
}
