import { type ChangeBoundsRow, type ChangedIdRow, changesPage } from '../sql/subscription-changes';
import type { SubscriptionChanges } from '../types';
import type { Runner } from './run';

/** SQL of the subscription change log in Postgres. */
export const CHANGES_SQL = {
  /**
   * Dangerous without it: Postgres hands out seqs in insert order, but readers see rows in commit
   * order, so a reader could see seq 11 before seq 10 commits and skip 10 for good. The table lock
   * makes appenders take turns until they commit, so seqs become visible in order. Readers are not
   * blocked (EXCLUSIVE lets plain SELECTs through), and changes are rare.
   */
  lock: `LOCK TABLE subscription_changes IN EXCLUSIVE MODE`,
  append: `INSERT INTO subscription_changes (subscription_id, changed_at) SELECT unnest(@ids::text[]), @now`,
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
 * Logs that these subscriptions changed; call it last in the writing transaction (after every
 * other row it locks), so no one waits for the table lock while holding something its holder
 * needs: no deadlock. `notify` tells the other instances once the transaction commits.
 */
export async function appendChanges(tx: Runner, ids: string[], now: number, notify: (tx: Runner) => Promise<void>): Promise<void> {
  if (ids.length === 0) return;
  await tx.count(CHANGES_SQL.lock);
  await tx.count(CHANGES_SQL.append, { ids, now });
  await notify(tx);
}

/** The newest change seq, 0 when none. */
export async function latestChange(run: Runner): Promise<number> {
  return (await run.rows<{ seq: number }>(CHANGES_SQL.latest))[0]!.seq;
}

/** Ids first, bounds after (see changesPage): each statement sees what committed before it began. */
export async function changesSince(run: Runner, afterSeq: number): Promise<SubscriptionChanges> {
  const rows = await run.rows<ChangedIdRow>(CHANGES_SQL.since, { after: afterSeq });
  const [bounds] = await run.rows<ChangeBoundsRow>(CHANGES_SQL.bounds);
  return changesPage(afterSeq, rows, bounds!);
}

/** Deletes changes older than `before` (database clock), keeping the newest; returns how many. */
export async function pruneChanges(run: Runner, before: number): Promise<number> {
  return run.count(CHANGES_SQL.prune, { before });
}
