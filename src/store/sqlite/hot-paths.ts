import type Database from 'better-sqlite3';
import type { AttemptResult, ClaimRequest, NewEvent, OperationalHooks } from '../types';
import { HealthTally } from '../sql/health-tally';
import { claimDue, nextDueAt, releaseDeliveries, waitingSubscriptions } from './claims';
import { completeAttempt, flushHealth } from './completion';
import { ingestRequest } from './ingest';
import { announceDisabled, checkBacklog, reportDueFailures, reportFailures } from './operational';
import { prepareStatements } from './statements';
import { immediateWriter, relaxedWriter } from './write-transaction';

/**
 * The hot paths: statements prepared once, each write one BEGIN IMMEDIATE transaction
 * (immediateWriter). Built after migrate(), since statements can only be prepared against
 * existing tables.
 */
export function createHotPaths(db: Database.Database, synchronous: 'full' | 'normal') {
  const s = prepareStatements(db);
  const write = immediateWriter(db);
  // Dispatch bookkeeping need not be fsynced: see relaxedWriter.
  const lazy = relaxedWriter(db, synchronous);
  return {
    // Committed without fsync; the store flushes the WAL off the event loop before answering
    // (wal-sync.ts), so an acknowledged event is as durable as with synchronous = FULL.
    ingest: lazy((requests: NewEvent[][]) => requests.map((events) => ingestRequest(s, events))),
    claimDue: lazy((requests: ClaimRequest[], owner: string, now: number) => claimDue(s, requests, owner, now)),
    complete: lazy((results: AttemptResult[], now: number, hooks?: OperationalHooks) => {
      const health = new HealthTally();
      const ops = hooks && { hooks, reports: new Set<string>() };
      const written = results.map((r) => completeAttempt(s, r, now, health, ops));
      flushHealth(s, health, now, hooks);
      // A subscription's first failure for good in a window is reported at once; later ones wait for the window.
      if (ops) for (const id of ops.reports) reportFailures(s, ops.hooks, id, now);
      return written;
    }),
    reportFailedDeliveries: lazy((now: number, hooks: OperationalHooks) => reportDueFailures(s, hooks, now)),
    checkBacklog: lazy((now: number, ageMs: number, hooks: OperationalHooks) => checkBacklog(s, hooks, now, ageMs)),
    release: lazy((ids: string[], owner: string, now: number) => releaseDeliveries(s, ids, owner, now)),
    rescueExpired: lazy((now: number, expiredBy: number) => s.rescueExpired.run({ now, expiredBy }).changes),
    setEnabled: write((id: string, enabled: boolean | null, reason: string | null, now: number, hooks?: OperationalHooks) => {
      if (hooks && enabled === false) announceDisabled(s, hooks, id, reason ?? 'disabled', now);
      s.setEnabled.run({ id, enabled: enabled === null ? null : enabled ? 1 : 0, reason, now });
      s.recordChange.run({ id, now });
    }),
    waitingSubscriptions: () => waitingSubscriptions(s),
    nextDueAt: (subscriptionIds: string[], fifo: string[]) => nextDueAt(s, subscriptionIds, new Set(fifo)),
  };
}

/** The hot paths of one store. */
export type HotPaths = ReturnType<typeof createHotPaths>;
