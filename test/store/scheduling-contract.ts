import { describe, expect, it } from 'vitest';
import type { ClaimRequest, NewEvent, Store } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * The scheduling part of the Store contract: `ordering: fifo` claims (only the head, the oldest
 * unfinished delivery in ingest order) and `failingSince` for auto-disable. Runs inside
 * describeStoreContract, on its fresh migrated store.
 */

const fifoOf = (subscriptionId: string, limit = 10, leaseExpiresAt = T + 30_000): ClaimRequest => ({
  ...claimOf(subscriptionId, limit, leaseExpiresAt),
  fifo: true,
});

export function describeSchedulingContract(getStore: () => Store): void {
  /** Ingests the events, one request each, in order; returns the ids of their deliveries to `a`, in that order. */
  async function ingestInOrder(events: NewEvent[]): Promise<string[]> {
    const store = getStore();
    const results = await store.ingest(events.map((e) => [e]));
    expect(results.every((r) => r.kind === 'ok')).toBe(true);
    const ids: string[] = [];
    for (const e of events) ids.push(...(await store.listDeliveriesOfEvent(e.id)).filter((d) => d.subscriptionId === 'a').map((d) => d.id));
    return ids;
  }

  describe('claim with fifo', () => {
    it('hands out only the head, in ingest order, one at a time whatever the limit', async () => {
      const store = getStore();
      // Creation times out of order on purpose: ingest order decides, not createdAt.
      const ids = await ingestInOrder([newEvent({ createdAt: T + 20 }), newEvent({ createdAt: T + 10 }), newEvent({ createdAt: T + 30 })]);

      const [first] = await store.claim([fifoOf('a', 10)], 'owner-1', T + 100);
      expect(first?.id).toBe(ids[0]);
      expect(await store.claim([fifoOf('a', 10)], 'owner-1', T + 100)).toEqual([]);
      await store.complete([result(first!.id, 'owner-1', { status: 'succeeded' })], T + 110);
      // Asked twice in one call: the second request finds the head delivering.
      const twice = await store.claim([fifoOf('a', 5), fifoOf('a', 5)], 'owner-2', T + 120);
      expect(twice.map((c) => c.id)).toEqual([ids[1]]);
      await store.complete([result(twice[0]!.id, 'owner-2', { status: 'succeeded' })], T + 130);
      expect((await store.claim([fifoOf('a')], 'owner-1', T + 140)).map((c) => c.id)).toEqual([ids[2]]);
    });

    it('keeps the order of the events of one batch', async () => {
      const store = getStore();
      const events = Array.from({ length: 5 }, () => newEvent());
      expect((await store.ingest([events]))[0]?.kind).toBe('ok');
      const order: string[] = [];
      for (let i = 0; i < events.length; i++) {
        const [head] = await store.claim([fifoOf('a')], 'owner-1', T + i);
        order.push(head!.event.id);
        await store.complete([result(head!.id, 'owner-1', { status: 'succeeded' })], T + i);
      }
      expect(order).toEqual(events.map((e) => e.id));
    });

    it('a retrying head holds the rest until it is due again, then until it fails for good', async () => {
      const store = getStore();
      const ids = await ingestInOrder([newEvent(), newEvent(), newEvent()]);
      const [head] = await store.claim([fifoOf('a')], 'owner-1', T);
      await store.complete([result(head!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 5000 })], T + 10);

      // The others are due, but the head is not: nothing, and a plain claim is not how fifo works.
      expect(await store.claim([fifoOf('a')], 'owner-1', T + 4999)).toEqual([]);
      expect(await store.nextDueAt(['a'], ['a'])).toBe(T + 5000);
      expect(await store.nextDueAt(['a'])).toBe(T);

      const [again] = await store.claim([fifoOf('a')], 'owner-1', T + 5000);
      expect(again).toMatchObject({ id: ids[0], attempts: 1 });
      // Delivering: the subscription is held, and does not look due.
      expect(await store.nextDueAt(['a'], ['a'])).toBeNull();
      await store.complete([result(again!.id, 'owner-1', { status: 'failed' })], T + 5010);

      expect(await store.nextDueAt(['a'], ['a'])).toBe(T);
      expect((await store.claim([fifoOf('a')], 'owner-1', T + 5020)).map((c) => c.id)).toEqual([ids[1]]);
    });

    it('a cancelled head lets the next one go; a failed one retried by hand is the head again', async () => {
      const store = getStore();
      const ids = await ingestInOrder([newEvent(), newEvent(), newEvent()]);
      const [head] = await store.claim([fifoOf('a')], 'owner-1', T);
      await store.complete([result(head!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 60_000 })], T + 1);
      expect((await store.cancelDelivery(ids[0]!, T + 2)).kind).toBe('ok');
      const [second] = await store.claim([fifoOf('a')], 'owner-1', T + 3);
      expect(second?.id).toBe(ids[1]);
      await store.complete([result(second!.id, 'owner-1', { status: 'failed' })], T + 4);

      // Due again and older than ids[2]: the oldest unfinished delivery is the head, whatever made it so.
      expect((await store.retryDelivery(ids[0]!, T + 5)).kind).toBe('ok');
      expect((await store.claim([fifoOf('a')], 'owner-1', T + 6)).map((c) => c.id)).toEqual([ids[0]]);
    });

    it('a head whose lease expired is still the head once rescued (a crashed process)', async () => {
      const store = getStore();
      const ids = await ingestInOrder([newEvent(), newEvent()]);
      const [head] = await store.claim([fifoOf('a', 1, T + 1000)], 'crashed', T);
      await store.complete([result(head!.id, 'crashed', { status: 'retrying', nextAttemptAt: T + 100 })], T + 1);
      await store.claim([fifoOf('a', 1, T + 1000)], 'crashed', T + 100);
      expect(await store.claim([fifoOf('a')], 'owner-2', T + 500)).toEqual([]);

      expect(await store.rescueExpired(T + 1000)).toBe(1);
      const [rescued] = await store.claim([fifoOf('a')], 'owner-2', T + 1000);
      expect(rescued).toMatchObject({ id: ids[0], attempts: 1 });
    });

    it('is per subscription: a held fifo subscription holds no other', async () => {
      const store = getStore();
      await store.ingest([[newEvent({ subscriptionIds: ['a', 'b'] })], [newEvent({ subscriptionIds: ['a', 'b'] })]]);
      const [headA] = await store.claim([fifoOf('a')], 'owner-1', T);
      expect(headA?.subscriptionId).toBe('a');
      const claimed = await store.claim([fifoOf('a'), claimOf('b', 5)], 'owner-1', T);
      expect(claimed.map((c) => c.subscriptionId)).toEqual(['b', 'b']);
      expect(await store.claim([fifoOf('c')], 'owner-1', T)).toEqual([]);
      expect(await store.nextDueAt(['c'], ['c'])).toBeNull();
    });
  });

  describe('failingSince', () => {
    it('starts at the first failure after a success, survives more failures, clears on success', async () => {
      const store = getStore();
      await store.ingest(Array.from({ length: 5 }, () => [newEvent()]));
      const state = async () => (await store.getSubscriptionStates()).find((s) => s.id === 'a');
      const attempt = async (at: number, next: Parameters<typeof result>[2]) => {
        const [claimed] = await store.claim([claimOf('a', 1)], 'owner-1', at);
        expect(await store.complete([result(claimed!.id, 'owner-1', next)], at)).toEqual([true]);
      };

      await attempt(T + 10, { status: 'retrying', nextAttemptAt: T + 1_000_000 });
      expect(await state()).toMatchObject({ failingSince: T + 10, failureStreak: 1 });
      await attempt(T + 20, { status: 'failed' });
      expect(await state()).toMatchObject({ failingSince: T + 10, failureStreak: 2, lastFailureAt: T + 20 });
      // A cancelled result (subscription removed while the attempt ran) is neither.
      await attempt(T + 25, { status: 'cancelled' });
      expect(await state()).toMatchObject({ failingSince: T + 10, failureStreak: 2 });

      await attempt(T + 30, { status: 'succeeded' });
      expect(await state()).toMatchObject({ failingSince: null, failureStreak: 0, lastSuccessAt: T + 30 });
      await attempt(T + 40, { status: 'retrying', nextAttemptAt: T + 1_000_000 });
      expect(await state()).toMatchObject({ failingSince: T + 40, failureStreak: 1 });
    });

    it('is kept by disabling (also by 410 Gone) and cleared by enabling again', async () => {
      const store = getStore();
      await store.ingest([[newEvent()]]);
      const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
      await store.complete(
        [result(claimed!.id, 'owner-1', { status: 'failed' }, { disableSubscription: 'receiver answered 410 Gone' })],
        T + 5,
      );
      expect((await store.getSubscriptionStates())[0]).toMatchObject({ enabled: false, failingSince: T + 5 });
      await store.setSubscriptionEnabled('a', false, 'disabled by ops', T + 6);
      expect((await store.getSubscriptionStates())[0]).toMatchObject({ enabled: false, failingSince: T + 5 });
      await store.setSubscriptionEnabled('a', null, null, T + 7);
      expect((await store.getSubscriptionStates())[0]).toMatchObject({ enabled: null, failingSince: null, failureStreak: 1 });
    });
  });
}
