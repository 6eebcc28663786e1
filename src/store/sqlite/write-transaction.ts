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
