import { planPrune, type WindowRow } from '../sql/prune-plan';
import type { PruneBatch, PruneRequest } from '../types';
import type { Runner } from './run';

/*
 * Retention in Postgres (the sweep's plan is shared: sql/prune-plan.ts). The window walks
 * `events_created`; deleting an event cascades to its deliveries and their attempts.
 */
export const PRUNE_SQL = {
  // `open`: a delivery still waits or runs; `bad`: one failed or was cancelled (the `failed` limit applies).
  window: `SELECT e.seq, e.created_at,
      EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
        AND d.status IN ('pending', 'retrying', 'delivering')) AS open,
      EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
        AND d.status IN ('failed', 'cancelled')) AS bad
    FROM events e
    WHERE e.created_at < @cutoff AND (e.created_at, e.seq) > (@afterCreatedAt, @afterSeq)
    ORDER BY e.created_at, e.seq
    LIMIT @limit`,
  deleteEvents: `DELETE FROM events WHERE seq = ANY(@seqs)`,
} as const;

/** One batch of a sweep in the caller's transaction; the request's times are on the database clock already. */
export async function pruneBatch(tx: Runner, request: PruneRequest): Promise<PruneBatch> {
  const plan = planPrune(request);
  const rows = await tx.rows<WindowRow>(PRUNE_SQL.window, plan.params);
  const doomed = plan.doomed(rows);
  const deleted = doomed.length === 0 ? 0 : await tx.count(PRUNE_SQL.deleteEvents, { seqs: doomed });
  return { deleted, next: plan.next(rows) };
}
