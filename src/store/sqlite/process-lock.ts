import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { bindingOption } from './open-database';
import { createPrivateDir, prepareDatabaseFile } from './private-files';

/** Thrown when another process already serves the same SQLite file. */
export class DatabaseInUseError extends Error {}

/**
 * Makes this process the only relay serving `path`: one SQLite file belongs to one process (it
 * rescues every lease at start, which would steal a live process's work and deliver it twice).
 * The lock is a second, tiny SQLite file beside the database (`<path>.lock`) held open in
 * EXCLUSIVE locking mode; the kernel drops it when the process dies, even on kill -9, so a crash
 * never leaves a stale lock. Readers of the database itself (backup, the CLI) are not blocked.
 * Returns the function that releases it.
 */
export function lockDatabaseFile(path: string): () => void {
  if (path === ':memory:' || path === '') return () => {};
  const lockPath = `${resolve(path)}.lock`;
  createPrivateDir(dirname(lockPath));
  prepareDatabaseFile(lockPath);
  const db = new Database(lockPath, { timeout: 0, ...bindingOption() });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // A write takes the exclusive lock, and EXCLUSIVE locking mode keeps it until close.
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new DatabaseInUseError(
        `${path} is already served by another hookrelay process (it holds ${lockPath}); one SQLite file belongs to one process; use storage.postgres to run several instances`,
      );
    }
    throw err;
  }
  return () => db.close();
}
