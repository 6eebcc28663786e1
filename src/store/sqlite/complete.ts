import type { AttemptResult } from '../types';
import type { Statements } from './statements';

/**
 * Records one finished attempt if the lease is still `owner`'s; runs inside the group's transaction.
 * The guarded update comes first, so a lost lease writes nothing at all.
 */
export function completeAttempt(s: Statements, result: AttemptResult, now: number): boolean {
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
  if (next.status === 'succeeded') s.recordSuccess.run({ id: subscriptionId, now });
  else if (next.status !== 'cancelled') s.recordFailure.run({ id: subscriptionId, now });
  if (result.disableSubscription !== undefined) {
    s.setEnabled.run({ id: subscriptionId, enabled: 0, reason: result.disableSubscription, now });
  }
  return true;
}
