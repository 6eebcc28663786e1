import { newEventId } from '../lib/ids';
import type { NewEvent } from '../store/types';
import { envelopeValue } from '../subscriptions/envelope';
import type { Fanout } from '../subscriptions/live-set';
import { contentHash } from './canonical-json';
import type { EventInput } from './event-input';

/** A validated event and the exact JSON text of its `data` in the request (undefined when it has none). */
export interface IngestEvent extends EventInput {
  dataText: string | undefined;
}

/** Finds the fan-out of an event type for a tenant (undefined: none); calls `envelope` only if a filter must see it. */
export type MatchFn = (type: string, envelope: () => unknown, tenant: string | undefined) => Fanout;

/**
 * Turns a validated event into the row to store: id, content hash and the subscriptions it fans out
 * to (the tenant's own apart: the store decides in its transaction whether the tenant gets them).
 * `data` is stored as the text it was sent in (SPEC 5); filters judge the parsed copy.
 */
export function prepareEvent(input: IngestEvent, opts: { idempotencyKey?: string | undefined; now: number; match: MatchFn }): NewEvent {
  const data = input.data === undefined ? {} : input.data;
  const dataText = input.dataText ?? '{}';
  const givenId = input.id ?? opts.idempotencyKey;
  const id = givenId ?? newEventId(opts.now);
  // The envelope a filter sees is the one a receiver gets (SPEC 5), built only if a filter asks.
  const envelope = () => envelopeValue({ id, type: input.type, createdAt: opts.now, tenant: input.tenant }, data);
  const fanout = opts.match(input.type, envelope, input.tenant);
  return {
    id,
    type: input.type,
    data: dataText,
    contentHash: contentHash({ type: input.type, tenant: input.tenant, dataText }),
    createdAt: opts.now,
    ...(givenId === undefined && { freshId: true }),
    ...(input.tenant !== undefined && { tenant: input.tenant, tenantSubscriptionIds: fanout.tenant }),
    subscriptionIds: fanout.platform,
  };
}
