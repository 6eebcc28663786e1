import type { PruneRequest } from '../types';
import { decodePruneCursor, pruneCursor } from './cursor';

/*
 * Retention (Store.pruneFinished), the part every backend shares. A sweep walks events oldest
 * first by (created_at, seq), a batch of `limit` rows per call, each batch one short write
 * transaction. Events that must stay (still waiting, or not old enough for their outcome) are
 * passed over by the cursor, so a million deliveries held by a disabled subscription cost one pass
 * per sweep. Each backend's window query returns WindowRow: the events after the cursor created
 * before the cutoff, with whether one of their deliveries is still open or went badly.
 */

/** A row of a backend's prune window; `open` and `bad` are 0/1 in SQLite and booleans in Postgres. */
export interface WindowRow {
  seq: number;
  created_at: number;
  /** A delivery still waits or runs. */
  open: 0 | 1 | boolean;
  /** A delivery failed or was cancelled: the `failed` limit applies. */
  bad: 0 | 1 | boolean;
}

/**
 * One batch of a sweep: the window query's parameters (`cutoff`, `afterCreatedAt`, `afterSeq`,
 * `limit`), which of its rows to delete, and where the next batch starts (null once the window
 * came back short).
 */
export function planPrune(req: PruneRequest) {
  const after = req.after === undefined ? { createdAt: Number.MIN_SAFE_INTEGER, seq: 0 } : decodePruneCursor(req.after);
  const limit = Math.max(1, Math.floor(req.limit));
  return {
    params: {
      cutoff: Math.round(Math.max(req.succeededBefore, req.failedBefore)),
      afterCreatedAt: after.createdAt,
      afterSeq: after.seq,
      limit,
    },
    doomed: (rows: WindowRow[]): number[] =>
      rows.filter((row) => !row.open && row.created_at < (row.bad ? req.failedBefore : req.succeededBefore)).map((row) => row.seq),
    next: (rows: WindowRow[]): string | null => {
      const last = rows.at(-1);
      return rows.length < limit || !last ? null : pruneCursor({ createdAt: last.created_at, seq: last.seq });
    },
  };
}
