import { newDeliveryId } from '../../lib/ids';
import type { IngestResult, IngestedEvent, NewEvent } from '../types';
import type { Statements } from './statements';

/**
 * Stores one ingest request; runs inside the group's transaction. All checks come before the first
 * write, so a conflicting request writes nothing and the rest of the group is untouched.
 */
export function ingestRequest(s: Statements, events: NewEvent[]): IngestResult {
  // id -> delivery count of the event already stored (in the database or earlier in this request)
  const known = new Map<string, number>();
  const firstHash = new Map<string, string>();
  for (const event of events) {
    const seenHash = firstHash.get(event.id);
    if (seenHash !== undefined) {
      if (seenHash !== event.contentHash) return { kind: 'conflict', id: event.id };
      continue;
    }
    firstHash.set(event.id, event.contentHash);
    if (event.freshId) continue;
    const stored = s.findEvent.get({ id: event.id });
    if (stored === undefined) continue;
    if (stored.content_hash !== event.contentHash) return { kind: 'conflict', id: event.id };
    known.set(event.id, stored.delivery_count);
  }
  const results = events.map((event): IngestedEvent => {
    const stored = known.get(event.id);
    // A replay, or the same id again inside this request: counted once, answered like the first.
    if (stored !== undefined) return { id: event.id, deliveries: stored, created: false };
    insertEvent(s, event);
    known.set(event.id, event.subscriptionIds.length);
    return { id: event.id, deliveries: event.subscriptionIds.length, created: true };
  });
  return { kind: 'ok', events: results };
}

function insertEvent(s: Statements, event: NewEvent): void {
  const createdAt = Math.round(event.createdAt);
  s.insertEvent.run({
    id: event.id,
    type: event.type,
    data: event.data,
    contentHash: event.contentHash,
    createdAt,
    deliveryCount: event.subscriptionIds.length,
  });
  for (const subscriptionId of event.subscriptionIds) {
    s.insertDelivery.run({
      id: newDeliveryId(createdAt),
      eventId: event.id,
      subscriptionId,
      eventType: event.type,
      createdAt,
    });
  }
}
