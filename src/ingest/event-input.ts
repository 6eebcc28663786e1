import { z } from 'zod';

/** SPEC 3: 1-128 characters of `A-Z a-z 0-9 . _ : -`. */
const EVENT_TYPE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Caller-chosen ids and Idempotency-Key values: 1-255 printable ASCII characters, no spaces. */
const EVENT_ID = /^[\x21-\x7e]{1,255}$/;

/** Largest `POST /ingest/batch`. */
export const MAX_BATCH = 1000;

/** One event as a producer posts it. Unknown keys are rejected so a misspelt field is not lost silently. */
export const eventInputSchema = z.strictObject({
  type: z.string({ error: 'type is required' }).regex(EVENT_TYPE, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -'),
  data: z.unknown().optional(),
  id: z.string().regex(EVENT_ID, 'must be 1-255 printable ASCII characters without spaces').optional(),
});

export const batchInputSchema = z.strictObject({
  events: z.array(eventInputSchema).min(1, 'must hold at least one event').max(MAX_BATCH, `must hold at most ${MAX_BATCH} events`),
});

export type EventInput = z.output<typeof eventInputSchema>;
export { EVENT_ID };
