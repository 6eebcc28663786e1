import { z } from '@hono/zod-openapi';
import type { AttemptRecord, DeliveryStatus, StoredDelivery } from '../../store/types';
import { iso } from './schemas';

/** SPEC 4 statuses, in lifecycle order. */
export const DELIVERY_STATUSES = [
  'pending',
  'retrying',
  'delivering',
  'succeeded',
  'failed',
  'cancelled',
] as const satisfies readonly DeliveryStatus[];

/** One delivery (one event to one subscription) as the admin API shows it. */
export const DeliverySchema = z
  .object({
    id: z.string().openapi({ example: 'dlv_01JD5Z0J6V4Q8Y2N3M4P5R6S7T' }),
    event_id: z.string(),
    subscription: z.string().openapi({ description: 'subscription id' }),
    tenant: z.string().nullable().openapi({ description: "its event's tenant; null for the platform's own events", example: 'acct_42' }),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int().openapi({ description: 'attempts made so far' }),
    next_attempt_at: z.string().nullable().openapi({ description: 'when the next attempt is due; null unless waiting' }),
    last_status_code: z.number().int().nullable().openapi({ description: "HTTP status of the last attempt's answer" }),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Delivery');

/** A delivery in listings: also its event's type. */
export const DeliveryItemSchema = DeliverySchema.extend({ event_type: z.string() }).openapi('DeliveryItem');

/** One HTTP attempt, with what was sent and what came back. */
export const AttemptSchema = z
  .object({
    id: z.string().openapi({ description: 'the <prefix>Delivery header of this attempt', example: 'att_01JD5Z0J6V4Q8Y2N3M4P5R6S7T' }),
    attempt: z.number().int().openapi({ description: '1 for the first' }),
    started_at: z.string(),
    duration_ms: z.number().int(),
    request: z.object({ url: z.string(), headers: z.record(z.string(), z.string()) }),
    response: z
      .object({
        status: z.number().int(),
        headers: z.record(z.string(), z.string()),
        body: z.string().nullable().openapi({ description: 'cut at delivery.max_response_body bytes' }),
      })
      .nullable()
      .openapi({ description: 'null when no answer came (timeout, network error)' }),
    error: z.string().nullable(),
  })
  .openapi('Attempt');

/** A delivery with its whole attempt history, oldest first. `attempts` stays the count, as in listings. */
export const DeliveryDetailSchema = DeliveryItemSchema.extend({ attempt_log: z.array(AttemptSchema) }).openapi('DeliveryDetail');

export type DeliveryView = z.infer<typeof DeliverySchema>;

export function deliveryView(d: StoredDelivery): DeliveryView {
  return {
    id: d.id,
    event_id: d.eventId,
    subscription: d.subscriptionId,
    tenant: d.tenant ?? null,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: iso(d.nextAttemptAt),
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    created_at: iso(d.createdAt)!,
    updated_at: iso(d.updatedAt)!,
  };
}

export function attemptView(a: AttemptRecord): z.infer<typeof AttemptSchema> {
  return {
    id: a.id,
    attempt: a.attempt,
    started_at: iso(a.startedAt)!,
    duration_ms: a.durationMs,
    request: { url: a.requestUrl, headers: a.requestHeaders },
    response: a.responseStatus === null ? null : { status: a.responseStatus, headers: a.responseHeaders ?? {}, body: a.responseBody },
    error: a.error,
  };
}
