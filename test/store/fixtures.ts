import type { AttemptRecord, AttemptResult, ClaimRequest, NewEvent, NextState } from '../../src/store/types';

/* Fixtures shared by the Store contract suites. */

export const T = 1_700_000_000_000;
export const LEASE_MS = 30_000;

let counter = 0;

/** A new event for subscription `a`, due at T, with a unique id. */
export function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  const id = overrides.id ?? `evt_contract_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  return {
    id,
    type: 'payment.completed',
    data: JSON.stringify({ id: 'pay_1', amount: '100.00' }),
    contentHash: `hash-of-${id}`,
    createdAt: T,
    subscriptionIds: ['a'],
    ...overrides,
  };
}

export function claimOf(subscriptionId: string, limit = 10, leaseExpiresAt = T + LEASE_MS): ClaimRequest {
  return { subscriptionId, limit, leaseExpiresAt };
}

export function attemptRecord(attempt: number, overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    id: `att_contract_${++counter}`,
    attempt,
    startedAt: T + 1,
    durationMs: 42,
    requestUrl: 'https://receiver.example/hooks',
    requestHeaders: { 'content-type': 'application/json', 'webhook-id': 'evt_1', 'X-Hookrelay-Attempt': String(attempt) },
    responseStatus: 200,
    responseHeaders: { 'content-type': 'text/plain' },
    responseBody: 'ok',
    error: null,
    ...overrides,
  };
}

export function result(deliveryId: string, leaseOwner: string, next: NextState, overrides: Partial<AttemptResult> = {}): AttemptResult {
  const failed = next.status !== 'succeeded';
  return {
    deliveryId,
    subscriptionId: 'a',
    leaseOwner,
    next,
    record: attemptRecord(1, failed ? { responseStatus: 500, responseBody: 'boom', error: 'HTTP 500' } : {}),
    ...overrides,
  };
}
