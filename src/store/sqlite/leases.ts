import type { ClaimRequest, ClaimedDelivery } from '../types';
import type { DueRow, Statements } from './statements';

/** Leases due deliveries, per subscription, oldest due first; runs inside one IMMEDIATE transaction. */
export function claimDeliveries(s: Statements, requests: ClaimRequest[], owner: string, now: number): ClaimedDelivery[] {
  const claimed: ClaimedDelivery[] = [];
  for (const request of requests) {
    const limit = Math.floor(request.limit);
    if (limit <= 0) continue;
    const rows = request.fifo
      ? dueHead(s, request.subscriptionId, now)
      : s.selectDue.all({ subscriptionId: request.subscriptionId, now, limit });
    const leaseExpiresAt = Math.round(request.leaseExpiresAt);
    for (const row of rows) {
      s.lease.run({ id: row.id, owner, leaseExpiresAt, now });
      claimed.push({
        id: row.id,
        subscriptionId: row.subscription_id,
        attempts: row.attempts,
        event: { id: row.event_id, type: row.event_type, data: row.event_data, createdAt: row.event_created_at },
      });
    }
  }
  return claimed;
}

/** A fifo subscription's head if it is waiting and due; [] while it is delivering or waits for a retry. */
function dueHead(s: Statements, subscriptionId: string, now: number): DueRow[] {
  const head = s.fifoHead.get({ subscriptionId });
  if (head === undefined || head.status === 'delivering' || head.next_attempt_at === null || head.next_attempt_at > now) return [];
  return [head];
}

/** Gives back leases this owner still holds; returns how many. */
export function releaseDeliveries(s: Statements, ids: string[], owner: string, now: number): number {
  let released = 0;
  for (const id of ids) released += s.release.run({ id, owner, now }).changes;
  return released;
}

/**
 * Earliest due time among waiting deliveries of these subscriptions (one index probe each); for
 * fifo ones, the due time of the head alone (none while it is delivering).
 */
export function nextDueAt(s: Statements, subscriptionIds: string[], fifo: ReadonlySet<string> = new Set()): number | null {
  let earliest: number | null = null;
  for (const subscriptionId of new Set(subscriptionIds)) {
    const at = fifo.has(subscriptionId) ? headDueAt(s, subscriptionId) : (s.nextDue.get({ subscriptionId })?.at ?? null);
    if (at !== null && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest;
}

function headDueAt(s: Statements, subscriptionId: string): number | null {
  const head = s.fifoHead.get({ subscriptionId });
  return head === undefined || head.status === 'delivering' ? null : head.next_attempt_at;
}
