/** A failed attempt as the health tally keeps it: what `hookrelay.subscription.failing` reports. */
export interface TalliedFailure {
  status: number | null;
  error: string | null;
  /** false for a delivery of a `hookrelay.*` event: it counts in the streak but never alerts (no loops). */
  alerting: boolean;
}

interface Entry {
  success: boolean;
  failures: number;
  /** The last failure after the last success. */
  last: TalliedFailure | null;
  /** Some failure after the last success may alert. */
  alerting: boolean;
}

/**
 * Health updates of one batch of attempt results, folded per subscription: one upsert per
 * subscription instead of one per attempt. Order within the batch is kept where it matters: a
 * success resets the streak, and only the failures after the last success count.
 */
export class HealthTally {
  private readonly bySubscription = new Map<string, Entry>();

  count(subscriptionId: string, success: boolean, failure?: TalliedFailure): void {
    const entry = this.bySubscription.get(subscriptionId) ?? { success: false, failures: 0, last: null, alerting: false };
    if (success) {
      entry.success = true;
      entry.failures = 0;
      entry.last = null;
      entry.alerting = false;
    } else {
      entry.failures++;
      entry.last = failure ?? null;
      entry.alerting ||= failure?.alerting ?? false;
    }
    this.bySubscription.set(subscriptionId, entry);
  }

  /** The folded updates so far, emptied: a success to record, then failures after it. */
  drain(): ({ id: string } & Entry)[] {
    const entries = [...this.bySubscription].map(([id, e]) => ({ id, ...e }));
    this.bySubscription.clear();
    return entries;
  }
}
