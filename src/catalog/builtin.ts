// The relay's own event types (SPEC 12) as read-only catalog entries: subscribers find them in the
// catalog with what their `data` holds; producers still cannot ingest them (SPEC 3).

/** A built-in type: a description and an example `data`. */
export interface BuiltinEventType {
  name: string;
  description: string;
  example: Record<string, unknown>;
}

/** SPEC 12's operational event types. */
export const BUILTIN_EVENT_TYPES: readonly BuiltinEventType[] = [
  {
    name: 'hookrelay.backlog.delayed',
    description:
      "A subscription's oldest waiting delivery is older than alerts.backlog_age; sent once until no waiting delivery is older than that.",
    example: { subscription: 'billing', tenant: null, oldest_waiting_age_ms: 960_000, backlog: 1250 },
  },
  {
    name: 'hookrelay.delivery.failed',
    description:
      'Deliveries to a subscription failed for good (the retry schedule is spent); at most one event per subscription per minute, with the first ten deliveries.',
    example: {
      subscription: 'billing',
      tenant: null,
      count: 1,
      deliveries: [
        {
          id: 'dlv_01JD5Z0J6V4Q8Y2N3M4P5R6S7T',
          event_id: 'evt_01JD5YZZ0Q8Y2N3M4P5R6S7T8V',
          event_type: 'invoice.paid',
          attempts: 8,
          last_status: 500,
          last_error: 'HTTP 500',
        },
      ],
    },
  },
  {
    name: 'hookrelay.subscription.disabled',
    description:
      'A subscription was disabled: its receiver answered 410 Gone, it failed for delivery.disable_after without a success, or over the API.',
    example: { subscription: 'billing', tenant: null, reason: 'receiver answered 410 Gone' },
  },
  {
    name: 'hookrelay.subscription.failing',
    description: "A subscription's consecutive failed attempts reached alerts.failing_after.",
    example: { subscription: 'billing', tenant: null, failure_streak: 10, last_status: 503, last_error: 'HTTP 503' },
  },
  {
    name: 'hookrelay.subscription.recovered',
    description: 'The first successful attempt to a subscription after a hookrelay.subscription.failing was sent.',
    example: { subscription: 'billing', tenant: null, failed_for_ms: 1_860_000 },
  },
];
