/**
 * Health updates of one batch of attempt results, folded per subscription: one upsert per
 * subscription instead of one per attempt. Order within the batch is kept where it matters: a
 * success resets the streak, and only the failures after the last success count.
 */
export class HealthTally {
  private readonly bySubscription = new Map<string, { success: boolean; failures: number }>();

  count(subscriptionId: string, success: boolean): void {
    const entry = this.bySubscription.get(subscriptionId) ?? { success: false, failures: 0 };
    if (success) {
      entry.success = true;
      entry.failures = 0;
    } else {
      entry.failures++;
    }
    this.bySubscription.set(subscriptionId, entry);
  }

  /** The folded updates so far, emptied: a success to record, then failures after it. */
  drain(): { id: string; success: boolean; failures: number }[] {
    const entries = [...this.bySubscription].map(([id, e]) => ({ id, ...e }));
    this.bySubscription.clear();
    return entries;
  }
}
