import type Database from 'better-sqlite3';
import type { AttemptResult, ClaimRequest, NewEvent, OperationalHooks } from '../types';
import { HealthTally } from '../sql/health-tally';
import { claimDue, expiredLeases, nextDueAt, releaseDeliveries, waitingSubscriptions } from './claims';
import { completeAttempt, flushHealth } from './completion';
import { ingestRequest } from './ingest';
import { announceDisabled, checkBacklog, reportDueFailures, reportFailures } from './operational';
import { prepareStatements } from './statements';
import type { Leases } from './leases';
import { immediateWriter, relaxedWriter } from './write-transaction';

/**
 * The hot paths: statements prepared once, each write one BEGIN IMMEDIATE transaction
 * (immediateWriter). Built after migrate(), since statements can only be prepared against
 * existing tables. Leases are in memory (leases.ts): a claim only reads, and a completion ends
 * its leases once its transaction has committed (a failed one is tried again with them).
 */
export function createHotPaths(db: Database.Database, synchronous: 'full' | 'normal', leases: Leases) {
  const s = prepareStatements(db);
  const write = immediateWriter(db);
  // Dispatch bookkeeping need not be fsynced: see relaxedWriter.
  const lazy = relaxedWriter(db, synchronous);
  const completeAll = lazy((results: AttemptResult[], now: number, hooks?: OperationalHooks) => {
    const health = new HealthTally();
    const ops = hooks && { hooks, reports: new Set<string>() };
    const written = results.map((r) => completeAttempt(s, leases, r, now, health, ops));
    flushHealth(s, health, now, hooks);
    // A subscription's first failure for good in a window is reported at once; later ones wait for the window.
    if (ops) for (const id of ops.reports) reportFailures(s, ops.hooks, id, now);
    return written;
  });
  // Rows a version that leased in the database left `delivering`: every one is given back at the
  // first rescue after start (this process owns the file, so none is still being attempted).
  let legacyLeases = true;
  const releaseAll = lazy((ids: string[], owner: string, now: number) => releaseDeliveries(s, leases, ids, owner, now));
  const expireAll = lazy((expiredBy: number, now: number) => expiredLeases(s, leases, expiredBy, now));
  const rescueLegacy = lazy((now: number) => s.rescueExpired.run({ now, expiredBy: Number.MAX_SAFE_INTEGER }).changes);
  return {
    // Committed without fsync; the store flushes the WAL off the event loop before answering
    // (wal-sync.ts), so an acknowledged event is as durable as with synchronous = FULL.
    ingest: lazy((requests: NewEvent[][]) => requests.map((events) => ingestRequest(s, events))),
    claimDue: (requests: ClaimRequest[], owner: string, now: number) => claimDue(s, leases, requests, owner, now),
    complete(results: AttemptResult[], now: number, hooks?: OperationalHooks): boolean[] {
      const written = completeAll(results, now, hooks);
      for (const r of results) leases.drop(r.deliveryId, r.leaseOwner);
      return written;
    },
    reportFailedDeliveries: lazy((now: number, hooks: OperationalHooks) => reportDueFailures(s, hooks, now)),
    checkBacklog: lazy((now: number, ageMs: number, hooks: OperationalHooks) => checkBacklog(s, hooks, now, ageMs, leases.heldJson())),
    // The leases end once the rows are written due now (a failed write leaves them as they were).
    release(ids: string[], owner: string, now: number): number {
      const released = releaseAll(ids, owner, now);
      for (const id of ids) leases.drop(id, owner);
      return released;
    },
    rescueExpired(now: number, expiredBy: number): number {
      const expired = leases.size === 0 ? [] : expireAll(expiredBy, now);
      for (const id of expired) leases.drop(id);
      let rescued = expired.length;
      if (legacyLeases) {
        rescued += rescueLegacy(now);
        legacyLeases = false;
      }
      return rescued;
    },
    setEnabled: write((id: string, enabled: boolean | null, reason: string | null, now: number, hooks?: OperationalHooks) => {
      if (hooks && enabled === false) announceDisabled(s, hooks, id, reason ?? 'disabled', now);
      s.setEnabled.run({ id, enabled: enabled === null ? null : enabled ? 1 : 0, reason, now });
      s.recordChange.run({ id, now });
    }),
    waitingSubscriptions: () => waitingSubscriptions(s, leases),
    nextDueAt: (subscriptionIds: string[], fifo: string[]) => nextDueAt(s, leases, subscriptionIds, new Set(fifo)),
  };
}

/** The hot paths of one store. */
export type HotPaths = ReturnType<typeof createHotPaths>;
