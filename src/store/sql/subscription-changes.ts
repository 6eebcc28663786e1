import type { SubscriptionChanges } from '../types';

/*
 * The subscription change log (Store.subscriptionChangesSince), the part every backend shares: how
 * a page is made of the rows a backend read. Each backend reads, for `afterSeq`, the changed ids
 * with their newest seq (ChangedIdRow) and then the log's bounds (ChangeBoundsRow).
 */

/** One changed id, with the newest seq that changed it. */
export interface ChangedIdRow {
  id: string;
  seq: number;
}

/** The oldest and newest seq kept: both null when the log is empty. */
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
