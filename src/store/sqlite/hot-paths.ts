import type Database from 'better-sqlite3';
import type { AttemptResult, ClaimRequest, NewEvent } from '../types';
import { completeAttempt } from './complete';
import { ingestRequest } from './ingest';
import { claimDeliveries, nextDueAt, releaseDeliveries } from './leases';
import { prepareStatements } from './statements';

/**
 * The hot paths: statements prepared once, each write one BEGIN IMMEDIATE transaction (it takes
 * the write lock up front, so it never fails half-way on a lock upgrade). Built after migrate(),
 * since statements can only be prepared against existing tables.
 */
export function createHotPaths(db: Database.Database) {
  const s = prepareStatements(db);
  const write = immediateWriter(db);
  return {
    ingest: write((requests: NewEvent[][]) => requests.map((events) => ingestRequest(s, events))),
    claim: write((requests: ClaimRequest[], owner: string, now: number) =>
      claimDeliveries(s, requests, owner, now),
    ),
    complete: write((results: AttemptResult[], now: number) => results.map((r) => completeAttempt(s, r, now))),
    release: write((ids: string[], owner: string, now: number) => releaseDeliveries(s, ids, owner, now)),
    rescueExpired: write((now: number, expiredBy: number) => s.rescueExpired.run({ now, expiredBy }).changes),
    setEnabled: write((id: string, enabled: boolean | null, reason: string | null, now: number) => {
      s.setEnabled.run({ id, enabled: enabled === null ? null : enabled ? 1 : 0, reason, now });
    }),
    nextDueAt: (subscriptionIds: string[]) => nextDueAt(s, subscriptionIds),
  };
}

export type HotPaths = ReturnType<typeof createHotPaths>;

/**
 * Wraps a synchronous function in its own IMMEDIATE transaction. Dangerous case: if a transaction
 * is already open on the connection (Kysely's Migrator holds one across awaits), better-sqlite3
 * would silently nest ours as a SAVEPOINT inside it; refuse instead.
 */
function immediateWriter(db: Database.Database) {
  return <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn);
    return (...args: A): R => {
      if (db.inTransaction) throw new Error('SQLite store: another transaction is open on this connection');
      return tx.immediate(...args);
    };
  };
}
