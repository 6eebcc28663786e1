import type Database from 'better-sqlite3';
import type { AttemptResult, ClaimRequest, NewEvent, OperationalHooks } from '../types';
import { HealthTally } from '../sql/health-tally';
import { claimDue, makeDueNow, nextDueAt, waitingSubscriptions } from './claims';
import { completeAttempt, flushHealth } from './completion';
import { ingestRequest } from './ingest';
import { announceDisabled, checkBacklog, reportDueFailures, reportFailures } from './operational';
import { prepareStatements } from './statements';
import type { ErasingTenants } from './erasure';
import type { Leases } from './leases';
import { immediateWriter, relaxedWriter } from './write-transaction';

/**
 * The hot paths: statements prepared once, each write one BEGIN IMMEDIATE transaction
 * (immediateWriter). Built after migrate(), since statements can only be prepared against
 * existing tables. Leases are in memory (leases.ts): a claim only reads, and a completion ends
 * its leases once its transaction has committed (a failed one is tried again with them).
 */
export function createHotPaths(db: Database.Database, synchronous: 'full' | 'normal', leases: Leases, erasing: ErasingTenants) {
  const s = prepareStatements(db);
  const write = immediateWriter(db);
  // Dispatch bookkeeping need not be fsynced: see relaxedWriter.
  const lazy = relaxedWriter(db, synchronous);
  const completeAll = lazy((results: AttemptResult[], now: number, hooks?: OperationalHooks) => {
    const health = new HealthTally();
    const ops = hooks && { hooks, reports: new Set<string>() };
    const written = results.map((r) => completeAttempt(s, leases, r, now, health, erasing, ops));
    flushHealth(s, health, now, hooks);
    // A subscription's first failure for good in a window is reported at once; later ones wait for the window.
    if (ops) for (const id of ops.reports) reportFailures(s, ops.hooks, id, now);
    return written;
  });
  // Rows a version that leased in the database left `delivering`: every one is given back at the
  // first rescue after start (this process owns the file, so none is still being attempted).
  let legacyLeases = true;
  const dueNow = lazy((ids: readonly string[], now: number) => makeDueNow(s, ids, now));
  // Leases given back or expired: their rows are written due now, then the leases end (a failed
  // write leaves them as they were). No transaction when there is none.
  const giveBack = (ids: string[], now: number): number => {
    if (ids.length === 0) return 0;
    dueNow(ids, now);
    for (const id of ids) leases.drop(id);
    return ids.length;
  };
  const rescueLegacy = lazy((now: number) => s.rescueExpired.run({ now, expiredBy: Number.MAX_SAFE_INTEGER }).changes);
  return {
    // Committed without fsync; the store flushes the WAL off the event loop before answering
    // (wal-sync.ts), so an acknowledged event is as durable as with synchronous = FULL.
    ingest: lazy((requests: NewEvent[][]) => requests.map((events) => ingestRequest(s, events))),
    claimDue: (requests: ClaimRequest[], owner: string, now: number) => claimDue(s, leases, erasing, requests, owner, now),
    complete(results: AttemptResult[], now: number, hooks?: OperationalHooks): boolean[] {
      const written = completeAll(results, now, hooks);
      for (const r of results) leases.drop(r.deliveryId, r.leaseOwner);
      return written;
    },
    reportFailedDeliveries: lazy((now: number, hooks: OperationalHooks) => reportDueFailures(s, hooks, now)),
    checkBacklog: lazy((now: number, ageMs: number, hooks: OperationalHooks) => checkBacklog(s, hooks, now, ageMs, leases.heldJson())),
    release: (ids: string[], owner: string, now: number) => giveBack(leases.ownedBy(ids, owner), now),
    rescueExpired(now: number, expiredBy: number): number {
      let rescued = giveBack(leases.expired(expiredBy), now);
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
