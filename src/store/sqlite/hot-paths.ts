import type Database from 'better-sqlite3';
import type { AttemptResult, ClaimRequest, NewEvent } from '../types';
import { completeAttempt } from './complete';
import { ingestRequest } from './ingest';
import { claimDeliveries, nextDueAt, releaseDeliveries } from './leases';
import { prepareStatements } from './statements';
import { immediateWriter } from './write-transaction';

/**
 * The hot paths: statements prepared once, each write one BEGIN IMMEDIATE transaction
 * (immediateWriter). Built after migrate(), since statements can only be prepared against
 * existing tables.
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
