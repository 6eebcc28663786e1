import type Database from 'better-sqlite3';

/**
 * Wraps a synchronous function in its own IMMEDIATE transaction: it takes the write lock up front,
 * so it never fails half-way on a lock upgrade. Dangerous case: if a transaction is already open
 * on the connection (Kysely's Migrator holds one across awaits), better-sqlite3 would silently
 * nest ours as a SAVEPOINT inside it; refuse instead.
 */
export function immediateWriter(db: Database.Database) {
  return <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn);
    return (...args: A): R => {
      if (db.inTransaction) throw new Error('SQLite store: another transaction is open on this connection');
      return tx.immediate(...args);
    };
  };
}

/**
 * Like immediateWriter, but the commit is not fsynced even when the store runs `synchronous:
 * full`. Only for writes whose loss on power failure breaks no promise: a lost claim, attempt
 * result or release leaves the delivery waiting or leased, and it is attempted again (at least
 * once still holds). WAL keeps order: the next FULL commit (an ingest) fsyncs these frames too.
 */
export function relaxedWriter(db: Database.Database, synchronous: 'full' | 'normal') {
  const write = immediateWriter(db);
  if (synchronous === 'normal') return write;
  // Not prepared once: SQLite applies this PRAGMA when the statement is compiled, not when it
  // runs, so a prepared pair would leave the connection at whichever was prepared last.
  return <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = write(fn);
    return (...args: A): R => {
      db.exec('PRAGMA synchronous = NORMAL');
      try {
        return tx(...args);
      } finally {
        db.exec('PRAGMA synchronous = FULL');
      }
    };
  };
}
