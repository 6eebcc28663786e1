import { constants, copyFileSync, linkSync, mkdtempSync, realpathSync, renameSync, rmSync } from 'node:fs';
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
 * (replacing a symlink itself, never its target). On a file system without hard links (FAT, some
 * network shares) the copy is copied to `path` instead, created exclusively (O_EXCL: still never
 * over anything, nor through a symlink), so only there can a crash mid-copy leave a partial file.
 * `path`'s directory must exist (ENOENT otherwise); the live database, its WAL, SHM, journal and
 * lock are refused (code LIVE_DATABASE).
 */
export async function backupDatabase(
  db: Database.Database,
  path: string,
  opts: { overwrite?: boolean; link?: (from: string, to: string) => void } = {},
): Promise<void> {
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
      placeWithoutOverwriting(temp, real, opts.link ?? linkSync);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Errors of link() that say the file system has no hard links here (not that `to` exists). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

function placeWithoutOverwriting(from: string, to: string, link: (from: string, to: string) => void): void {
  try {
    link(from, to);
  } catch (err) {
    if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    copyFileSync(from, to, constants.COPYFILE_EXCL);
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
