import { z } from 'zod';
import { tenantIdSchema } from '../tenants/tenant-id';
import { EVENT_TYPE, RESERVED_TYPE_PREFIX } from './event-type';

/** Caller-chosen ids and Idempotency-Key values: 1-255 printable ASCII characters, no spaces. */
const EVENT_ID = /^[\x21-\x7e]{1,255}$/;

/** Largest `POST /ingest/batch`. */
export const MAX_BATCH = 1000;

/** One event as a producer posts it. Unknown keys are rejected so a misspelt field is not lost silently. */
export const eventInputSchema = z.strictObject({
  type: z
    .string({ error: 'type is required' })
    .regex(EVENT_TYPE, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')
    // SPEC 3 and 12: the relay's own types are never ingested.
    .refine((t) => !t.startsWith(RESERVED_TYPE_PREFIX), `types starting '${RESERVED_TYPE_PREFIX}' are the relay's own`),
  data: z.unknown().optional(),
  id: z.string().regex(EVENT_ID, 'must be 1-255 printable ASCII characters without spaces').optional(),
  /** The platform customer the event belongs to (SPEC 9). */
  tenant: tenantIdSchema.optional(),
});

export const batchInputSchema = z.strictObject({
  events: z.array(eventInputSchema).min(1, 'must hold at least one event').max(MAX_BATCH, `must hold at most ${MAX_BATCH} events`),
});

export type EventInput = z.output<typeof eventInputSchema>;
export { EVENT_ID };
