import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';

/**
 * Copies the live database to `path` with SQLite's online backup API (pages are copied in steps
 * between other work; writes made meanwhile restart the affected steps, so the copy is one
 * consistent snapshot). The copy is written beside `path` and renamed over it, so `path` is
 * never a half-written file, and an older backup there is replaced whole.
 */
export async function backupDatabase(db: Database.Database, path: string): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  const real = join(realpathSync(dir), basename(target));
  // Dangerous: renaming over the live file (or its WAL) would swap the database under the process.
  if (!db.memory && isSameFile(real, db.name)) throw new Error(`backup path ${path} is the live database`);

  const temp = `${real}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await db.backup(temp);
    // A -wal/-shm left by whoever last opened the old backup would be replayed onto the new one.
    for (const suffix of ['-wal', '-shm']) rmSync(`${real}${suffix}`, { force: true });
    renameSync(temp, real);
  } finally {
    for (const suffix of ['', '-journal', '-wal', '-shm']) {
      if (existsSync(`${temp}${suffix}`)) rmSync(`${temp}${suffix}`, { force: true });
    }
  }
}

function isSameFile(target: string, liveName: string): boolean {
  let live: string;
  try {
    live = realpathSync(liveName);
  } catch {
    live = resolve(liveName);
  }
  return [live, `${live}-wal`, `${live}-shm`].includes(target);
}
