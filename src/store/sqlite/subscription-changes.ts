import type Database from 'better-sqlite3';
import { type ChangeBoundsRow, type ChangedIdRow, changesPage } from '../sql/subscription-changes';
import type { SubscriptionChanges } from '../types';

/** SQL of the subscription change log; `append` runs in the writes that change a subscription (statements.ts `recordChange`). */
export const CHANGES_SQL = {
  append: `INSERT INTO subscription_changes (subscription_id, changed_at) VALUES (@id, @now)`,
  latest: `SELECT COALESCE(MAX(seq), 0) AS seq FROM subscription_changes`,
  since: `SELECT subscription_id AS id, MAX(seq) AS seq FROM subscription_changes WHERE seq > @after GROUP BY subscription_id`,
  // Two subqueries, not MIN and MAX in one SELECT: each is then one probe at an end of the key,
  // where the pair would scan the whole log (every write of a subscription reads this).
  bounds: `SELECT (SELECT MIN(seq) FROM subscription_changes) AS oldest,
    (SELECT MAX(seq) FROM subscription_changes) AS newest`,
  // The newest row stays whatever its age: it is what tells a reader how far the log went.
  prune: `DELETE FROM subscription_changes
    WHERE changed_at < @before AND seq < (SELECT MAX(seq) FROM subscription_changes)`,
} as const;

/**
 * Reads and retention of the subscription change log. One connection, synchronous: the ids and
 * the bounds of a page come from the same state of the log, and seqs grow in commit order (one
 * writer at a time).
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

/** The change-log reads of one store. */
export type SubscriptionChangeLog = ReturnType<typeof createSubscriptionChanges>;
