import type { AttemptResult } from '../types';
import type { Statements } from './statements';

/**
 * Records one finished attempt if the lease is still `owner`'s; runs inside the group's transaction.
 * The guarded update comes first, so a lost lease writes nothing at all.
 */
export function completeAttempt(s: Statements, result: AttemptResult, now: number, health: HealthTally): boolean {
  const { record, next } = result;
  const finished = s.finish.get({
    id: result.deliveryId,
    owner: result.leaseOwner,
    status: next.status,
    nextAttemptAt: next.status === 'retrying' ? Math.round(next.nextAttemptAt) : null,
    lastStatusCode: record.responseStatus,
    lastError: record.error,
    now,
  });
  if (finished === undefined) return false;

  s.insertAttempt.run({
    id: record.id,
    deliveryId: result.deliveryId,
    attempt: record.attempt,
    startedAt: Math.round(record.startedAt),
    durationMs: Math.round(record.durationMs),
    requestUrl: record.requestUrl,
    requestHeaders: JSON.stringify(record.requestHeaders),
    responseStatus: record.responseStatus,
    responseHeaders: record.responseHeaders === null ? null : JSON.stringify(record.responseHeaders),
    responseBody: record.responseBody,
    error: record.error,
  });
  // Health follows the stored subscription of the delivery, the row we just guarded.
  const subscriptionId = finished.subscription_id;
  // A cancelled result means the subscription is gone: no health row to bring back to life.
  if (next.status !== 'cancelled') health.count(subscriptionId, next.status === 'succeeded');
  if (result.disableSubscription !== undefined) {
    health.flush(s, now); // the disable must land after this subscription's health, as it did in order
    s.setEnabled.run({ id: subscriptionId, enabled: 0, reason: result.disableSubscription, now });
    s.recordChange.run({ id: subscriptionId, now });
  }
  return true;
}

/**
 * Health updates of one batch, folded per subscription: one upsert per subscription instead of one
 * per attempt. Order within the batch is kept where it matters: a success resets the streak, and
 * only the failures after the last success count.
 */
export class HealthTally {
  private readonly bySubscription = new Map<string, { success: boolean; failures: number }>();

  count(subscriptionId: string, success: boolean): void {
    const entry = this.bySubscription.get(subscriptionId) ?? { success: false, failures: 0 };
    if (success) {
      entry.success = true;
      entry.failures = 0;
    } else {
      entry.failures++;
    }
    this.bySubscription.set(subscriptionId, entry);
  }

  /** The folded updates so far, emptied: a success to record, then failures after it. */
  drain(): { id: string; success: boolean; failures: number }[] {
    const entries = [...this.bySubscription].map(([id, e]) => ({ id, ...e }));
    this.bySubscription.clear();
    return entries;
  }

  flush(s: Statements, now: number): void {
    for (const { id, success, failures } of this.drain()) {
      if (success) s.recordSuccess.run({ id, now });
      if (failures > 0) s.recordFailure.run({ id, now, count: failures });
    }
  }
}
