/**
 * The relay's own event types (SPEC 12): what each means and an example of its `data`, in one
 * place so an event-type catalog can list them as built-in, read-only entries.
 */

/** The five reserved types. */
export const OPERATIONAL_TYPES = [
  'hookrelay.subscription.disabled',
  'hookrelay.subscription.failing',
  'hookrelay.subscription.recovered',
  'hookrelay.delivery.failed',
  'hookrelay.backlog.delayed',
] as const;

/** One of the reserved types. */
export type OperationalType = (typeof OPERATIONAL_TYPES)[number];

/** A reserved type as a catalog shows it. */
export interface OperationalTypeDoc {
  name: OperationalType;
  description: string;
  example: Record<string, unknown>;
}

/** Every reserved type with its description and example `data` (README "Operational events" shows the same). */
export const OPERATIONAL_TYPE_DOCS: readonly OperationalTypeDoc[] = [
  {
    name: 'hookrelay.subscription.disabled',
    description:
      'A subscription was disabled: its receiver answered 410 Gone, it failed for delivery.disable_after, or it was disabled over the API.',
    example: { subscription: 'billing', tenant: null, reason: 'receiver answered 410 Gone at 2026-11-23T10:00:00.000Z' },
  },
  {
    name: 'hookrelay.subscription.failing',
    description: "A subscription's consecutive failed attempts reached alerts.failing_after.",
    example: { subscription: 'billing', tenant: null, failure_streak: 10, last_status: 503, last_error: 'HTTP 503' },
  },
  {
    name: 'hookrelay.subscription.recovered',
    description: 'The first successful attempt of a subscription after hookrelay.subscription.failing was sent.',
    example: { subscription: 'billing', tenant: null, failed_for_ms: 1_260_000 },
  },
  {
    name: 'hookrelay.delivery.failed',
    description:
      'Deliveries failed for good (their retry schedule was spent); at most one event per subscription per minute, listing the first ten.',
    example: {
      subscription: 'billing',
      tenant: null,
      count: 1,
      deliveries: [
        {
          id: 'dlv_01JD0000000000000000000000',
          event_id: 'evt_01JD0000000000000000000000',
          event_type: 'invoice.paid',
          attempts: 8,
          last_status: 500,
          last_error: 'HTTP 500',
        },
      ],
    },
  },
  {
    name: 'hookrelay.backlog.delayed',
    description: "A subscription's oldest waiting delivery is older than alerts.backlog_age; sent once until it catches up.",
    example: { subscription: 'billing', tenant: null, oldest_waiting_age_ms: 960_000, backlog: 1_250 },
  },
];
