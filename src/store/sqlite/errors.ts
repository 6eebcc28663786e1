/** SQLite result codes (and prefixes of extended ones) that mean "storage cannot take writes right now". */
const UNAVAILABLE = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  // Flushing the WAL file ourselves (wal-sync.ts) fails with the file system's own codes.
  'EIO',
  'ENOSPC',
  'EDQUOT',
  // A volume mounted read-only (or not mounted read-write yet) at start.
  'EROFS',
];

/** The SQLite store's Store.isUnavailable: true for errors a client should retry later (503 with Retry-After), not bugs. */
export function isSqliteUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNAVAILABLE.some((c) => code === c || code.startsWith(`${c}_`));
}
