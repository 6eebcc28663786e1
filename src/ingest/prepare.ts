import { createHash } from 'node:crypto';
import { newEventId } from '../lib/ids';
import type { NewEvent } from '../store/types';
import { envelopeValue } from '../subscriptions/envelope';
import { canonicalJson } from './canonical-json';
import type { EventInput } from './event-input';

/** Turns a validated event into the row to store: id, content hash and the subscriptions it fans out to. */
export function prepareEvent(
  input: EventInput,
  opts: { idempotencyKey?: string | undefined; now: number; match: (type: string, envelope: () => unknown) => string[] },
): NewEvent {
  const data = input.data === undefined ? {} : input.data;
  const givenId = input.id ?? opts.idempotencyKey;
  const id = givenId ?? newEventId(opts.now);
  // The envelope a filter sees is the one a receiver gets (SPEC 5), built only if a filter asks.
  const envelope = () => envelopeValue({ id, type: input.type, createdAt: opts.now }, data);
  return {
    id,
    type: input.type,
    data: JSON.stringify(data),
    contentHash: createHash('sha256').update(input.type).update('\0').update(canonicalJson(data)).digest('base64url'),
    createdAt: opts.now,
    ...(givenId === undefined && { freshId: true }),
    subscriptionIds: opts.match(input.type, envelope),
  };
}
