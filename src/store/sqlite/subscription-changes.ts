import type Database from 'better-sqlite3';
import { CHANGES_SQL, type ChangeBoundsRow, type ChangedIdRow, changesPage } from '../sql/subscription-changes';
import type { SubscriptionChanges } from '../types';

/**
 * Reads and retention of the subscription change log; the rows are appended by the writes that
 * change a subscription (statements.ts `recordChange`). One connection, synchronous: the ids and
 * the bounds of a page come from the same state of the log.
 */
export function createSubscriptionChanges(db: Database.Database) {
  const latest = db.prepare<[], { seq: number }>(CHANGES_SQL.latest);
  const since = db.prepare<{ after: number }, ChangedIdRow>(CHANGES_SQL.since);
  const bounds = db.prepare<[], ChangeBoundsRow>(CHANGES_SQL.bounds);
  const prune = db.prepare<{ before: number }>(CHANGES_SQL.prune);
  return {
    latest: (): number => latest.get()!.seq,
    since: (afterSeq: number): SubscriptionChanges => changesPage(afterSeq, since.all({ after: afterSeq }), bounds.get()!),
    prune: (before: number): number => prune.run({ before }).changes,
  };
}

export type SubscriptionChangeLog = ReturnType<typeof createSubscriptionChanges>;
