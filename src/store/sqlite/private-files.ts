import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync } from 'node:fs';

// The database, its WAL and SHM, the lock file and backups hold every secret the relay stores:
// they are made readable by the relay's user only (SPEC 13). SQLite creates a -wal, -shm or
// -journal file with the mode of its database file, so creating that file 0600 ourselves,
// before SQLite opens it, covers the files SQLite makes beside it later.

/** Mode of the files the relay creates for its SQLite store. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of the directories the relay creates for them. */
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` and its missing parents, mode 0700 (existing ones are left as they are). */
export function createPrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates `path` empty, mode 0600, unless something is there already (an existing database keeps
 * its mode). O_EXCL|O_NOFOLLOW: never opens an existing file or a symlink's target.
 */
export function createPrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  closeSync(fd);
}

/**
 * createPrivateFile for a file SQLite opens next: a failure is left for SQLite to report with its
 * own code (SQLITE_CANTOPEN, which start-up waits for), since it cannot create the file either.
 */
export function prepareDatabaseFile(path: string): void {
  try {
    createPrivateFile(path);
  } catch {
    // SQLite's open fails the same way and says so.
  }
  // A database made by an older version (SQLite's default 0644) may be readable by every user:
  // it, and the WAL and SHM SQLite gives its mode to, lose the bits of others. The owner's and the
  // group's are the operator's choice (a backup group, say) and stay.
  for (const file of [path, `${path}-wal`, `${path}-shm`]) closeToOthers(file);
}

/** Removes the permissions of others from a regular file; a symlink, a missing file or one we do not own is left alone. */
function closeToOthers(path: string): void {
  try {
    const stat = lstatSync(path);
    if (stat.isFile() && (stat.mode & 0o007) !== 0) chmodSync(path, stat.mode & 0o770);
  } catch {
    // Not there, or not ours to change: SQLite's open reports what matters.
  }
}
