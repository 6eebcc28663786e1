import { linkSync, mkdtempSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { createPrivateFile } from './private-files';

/**
 * Copies the live database to `path` with SQLite's online backup API (pages are copied in steps
 * between other work; writes made meanwhile restart the affected steps, so the copy is one
 * consistent snapshot). The copy holds every secret the store holds, so it is made mode 0600 in a
 * private directory (0700) made inside `path`'s directory, then linked to `path`: link() never
 * follows a symlink at `path` and fails with EEXIST if anything is there, so nothing is ever
 * overwritten, and `path` is never a half-written file. `overwrite` renames over `path` instead
 * (replacing a symlink itself, never its target). `path`'s directory must exist (ENOENT otherwise);
 * the live database, its WAL, SHM, journal and lock are refused (code LIVE_DATABASE).
 */
export async function backupDatabase(db: Database.Database, path: string, opts: { overwrite?: boolean } = {}): Promise<void> {
  const target = resolve(path);
  const real = join(realpathSync(dirname(target)), basename(target));
  // Dangerous: linking or renaming over the live file (or its WAL) would swap the database under the process.
  if (!db.memory && isLiveFile(real, db.name)) {
    throw Object.assign(new Error(`backup path ${path} is the live database or one of its files`), { code: 'LIVE_DATABASE' });
  }

  const work = mkdtempSync(join(dirname(real), '.hookrelay-backup-'));
  try {
    const temp = join(work, 'copy.db');
    // Created here first, so SQLite opens a file that is already 0600 (and makes its journal 0600 too).
    createPrivateFile(temp);
    await db.backup(temp);
    if (opts.overwrite) {
      // A -wal/-shm left by whoever last opened the old backup would be replayed onto the new one.
      for (const suffix of ['-wal', '-shm']) rmSync(`${real}${suffix}`, { force: true });
      renameSync(temp, real);
    } else {
      linkSync(temp, real);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function isLiveFile(target: string, liveName: string): boolean {
  let live: string;
  try {
    live = realpathSync(liveName);
  } catch {
    live = resolve(liveName);
  }
  return ['', '-wal', '-shm', '-journal', '.lock'].some((suffix) => target === `${live}${suffix}`);
}
