import type { SubscriptionChanges } from '../types';

/*
 * The subscription change log (Store.subscriptionChangesSince), the part every backend shares:
 * the SQL both dialects accept as written, and how a page is made of its rows.
 */

export const CHANGES_SQL = {
  append: `INSERT INTO subscription_changes (subscription_id, changed_at) VALUES (@id, @now)`,
  latest: `SELECT COALESCE(MAX(seq), 0) AS seq FROM subscription_changes`,
  since: `SELECT subscription_id AS id, MAX(seq) AS seq FROM subscription_changes WHERE seq > @after GROUP BY subscription_id`,
  bounds: `SELECT MIN(seq) AS oldest, MAX(seq) AS newest FROM subscription_changes`,
  // The newest row stays whatever its age: it is what tells a reader how far the log went.
  prune: `DELETE FROM subscription_changes
    WHERE changed_at < @before AND seq < (SELECT MAX(seq) FROM subscription_changes)`,
} as const;

/** A row of CHANGES_SQL.since. */
export interface ChangedIdRow {
  id: string;
  seq: number;
}

/** The row of CHANGES_SQL.bounds: both null when the log is empty. */
export interface ChangeBoundsRow {
  oldest: number | null;
  newest: number | null;
}

/**
 * One page from the ids changed after `afterSeq` and the log's bounds, read after them (pruning
 * only raises the oldest seq, so bounds read later can only make `truncated` true needlessly,
 * never hide a pruned change). Truncated: rows right after `afterSeq` are gone, or `afterSeq` is
 * ahead of the newest row (a log this reader never saw: the store was replaced).
 */
export function changesPage(afterSeq: number, rows: readonly ChangedIdRow[], bounds: ChangeBoundsRow): SubscriptionChanges {
  let seq = afterSeq;
  for (const row of rows) if (row.seq > seq) seq = row.seq;
  const newest = bounds.newest ?? 0;
  const truncated = afterSeq > newest || (bounds.oldest !== null && afterSeq < bounds.oldest - 1);
  return { seq, ids: rows.map((r) => r.id), truncated };
}
