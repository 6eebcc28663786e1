import type Database from 'better-sqlite3';
import { planPrune, type WindowRow } from '../sql/prune-plan';
import type { PruneBatch, PruneRequest } from '../types';

/*
 * Retention in SQLite (the sweep's plan is shared: sql/prune-plan.ts). The window walks
 * `events_created` (created_at, then the rowid seq). Deleting an event cascades to its deliveries
 * (deliveries_event) and their attempts (attempts_delivery).
 */

/** SQL of a retention batch in SQLite; exported so tests can EXPLAIN it. */
export const PRUNE_SQL = {
  // `open`: a delivery still waits or runs; `bad`: one failed or was cancelled (the `failed` limit applies).
  window: `SELECT e.seq, e.created_at,
      EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
        AND d.status IN ('pending', 'retrying', 'delivering')) AS open,
      EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
        AND d.status IN ('failed', 'cancelled')) AS bad
    FROM events e INDEXED BY events_created
    WHERE e.created_at < @cutoff AND (e.created_at, e.seq) > (@afterCreatedAt, @afterSeq)
    ORDER BY e.created_at, e.seq
    LIMIT @limit`,
  deleteEvent: `DELETE FROM events WHERE seq = @seq`,
} as const;

/** Pages left on the free list after a sweep: new rows reuse them instead of growing the file. */
const KEEP_FREE_PAGES = 1024;
/** Most pages handed back to the file system per sweep, so one truncation stays short. */
const VACUUM_PAGES_PER_SWEEP = 4096;

/** One prune batch per call, each its own IMMEDIATE transaction; the end of a sweep hands free pages back. */
export function createPruner(db: Database.Database) {
  const window = db.prepare<Record<string, number>, WindowRow>(PRUNE_SQL.window);
  const deleteEvent = db.prepare<{ seq: number }>(PRUNE_SQL.deleteEvent);
  const batch = db.transaction((req: PruneRequest): PruneBatch => {
    const plan = planPrune(req);
    const rows = window.all(plan.params);
    let deleted = 0;
    for (const seq of plan.doomed(rows)) deleted += deleteEvent.run({ seq }).changes;
    return { deleted, next: plan.next(rows) };
  });

  return (req: PruneRequest): PruneBatch => {
    const result = batch.immediate(req);
    if (result.next === null) handBackFreePages(db);
    return result;
  };
}

/** End of a sweep: with auto_vacuum = INCREMENTAL, return most free pages to the file system. */
function handBackFreePages(db: Database.Database): void {
  if (db.pragma('auto_vacuum', { simple: true }) !== 2) return;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const pages = Math.min(free - KEEP_FREE_PAGES, VACUUM_PAGES_PER_SWEEP);
  if (pages > 0) db.pragma(`incremental_vacuum(${pages})`);
}
