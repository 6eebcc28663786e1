import { describe, expect, it } from 'vitest';
import type { AuditEntry, DeliveryQuery, DeliveryStatus, EventQuery, Page, StoredEvent, Store } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * The admin API part of the Store contract (SPEC section 8): keyset listings, API subscriptions,
 * delivery actions, stats, audit. Runs inside describeStoreContract, on its fresh migrated store.
 */

/** When test deliveries are leased and driven to their status: after every createdAt used below. */
const DRIVE_AT = T + 10_000;
const NOW = T + 50_000;

/** A delivery to make: its subscription, event type, creation time and the status to drive it to. */
interface DeliverySpec {
  status: DeliveryStatus | 'retrying-cancelled';
  subscriptionId?: string;
  type?: string;
  createdAt?: number;
}

const ALL_STATUSES: DeliveryStatus[] = ['pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled'];

export function describeAdminContract(getStore: () => Store): void {
  /**
   * One event and delivery per spec, ingested in order, then driven to its status: every delivery
   * is leased, then completed, released or left leased. `retrying-cancelled` is cancelled after a
   * failed attempt (attempts 1). Returns the delivery ids in spec order.
   */
  async function makeDeliveries(specs: DeliverySpec[]): Promise<string[]> {
    const store = getStore();
    const ids: string[] = [];
    const byId = new Map<string, DeliverySpec>();
    for (const spec of specs) {
      const event = newEvent({
        type: spec.type ?? 'payment.completed',
        createdAt: spec.createdAt ?? T,
        subscriptionIds: [spec.subscriptionId ?? 'a'],
      });
      expect((await store.ingest([[event]]))[0]?.kind).toBe('ok');
      const [delivery] = await store.listDeliveriesOfEvent(event.id);
      ids.push(delivery!.id);
      byId.set(delivery!.id, spec);
    }
    const subscriptions = [...new Set(specs.map((s) => s.subscriptionId ?? 'a'))];
    const claimed = await store.claim(
      subscriptions.map((s) => claimOf(s, 1000, DRIVE_AT + 60_000)),
      'driver',
      DRIVE_AT,
    );
    expect(claimed).toHaveLength(specs.length);
    for (const { id } of claimed) {
      const status = byId.get(id)!.status;
      if (status === 'delivering') continue;
      if (status === 'pending' || status === 'cancelled') {
        expect(await store.release([id], 'driver', DRIVE_AT)).toBe(1);
        if (status === 'cancelled') expect((await store.cancelDelivery(id, DRIVE_AT)).kind).toBe('ok');
        continue;
      }
      const next =
        status === 'succeeded' || status === 'failed' ? { status } : { status: 'retrying' as const, nextAttemptAt: DRIVE_AT + 5_000 };
      expect(await store.complete([result(id, 'driver', next)], DRIVE_AT)).toEqual([true]);
      if (status === 'retrying-cancelled') expect((await store.cancelDelivery(id, DRIVE_AT)).kind).toBe('ok');
    }
    return ids;
  }

  /** Every page of a listing, following nextCursor until null. */
  async function allPages<T>(list: (cursor: string | undefined) => Promise<Page<T>>): Promise<Page<T>[]> {
    const pages: Page<T>[] = [];
    let cursor: string | undefined;
    do {
      const page = await list(cursor);
      pages.push(page);
      cursor = page.nextCursor ?? undefined;
      expect(pages.length).toBeLessThan(100);
    } while (cursor !== undefined);
    return pages;
  }

  /** Pages are full except the last, which alone has no nextCursor and is not empty unless all are. */
  function expectWellFormed<T>(pages: Page<T>[], limit: number): void {
    pages.forEach((page, i) => {
      const last = i === pages.length - 1;
      expect(page.nextCursor === null).toBe(last);
      if (!last) expect(page.data).toHaveLength(limit);
      else expect(page.data.length).toBeLessThanOrEqual(limit);
    });
    if (pages.length > 1) expect(pages[pages.length - 1]!.data.length).toBeGreaterThan(0);
  }

  const byIdDesc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

  async function expectInvalidCursor(promise: Promise<unknown>): Promise<void> {
    await expect(promise).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
  }

  describe('listEvents', () => {
    it('pages newest first by createdAt then insertion order, with every filter', async () => {
      const store = getStore();
      const events = [
        newEvent({ createdAt: T + 30, type: 'order.created' }),
        newEvent({ createdAt: T + 10, type: 'order.paid' }),
        newEvent({ createdAt: T + 30, type: 'order.paid' }),
        newEvent({ createdAt: T + 20, type: 'order.created' }),
        newEvent({ createdAt: T + 30, type: 'order.created' }),
        newEvent({ createdAt: T + 40, type: 'order.created' }),
        newEvent({ createdAt: T + 10, type: 'order.created' }),
      ];
      for (const event of events) await store.ingest([[event]]);
      // Newest first; among equal times, the one stored last first.
      const ordered = events
        .map((event, seq) => ({ event, seq }))
        .sort((a, b) => b.event.createdAt - a.event.createdAt || b.seq - a.seq)
        .map(({ event }) => event);

      const queries: Omit<EventQuery, 'limit' | 'cursor'>[] = [
        {},
        { type: 'order.created' },
        { since: T + 20 },
        { until: T + 30 },
        { since: T + 10, until: T + 40 },
        { type: 'order.created', since: T + 20, until: T + 40 },
        { type: 'order.unknown' },
      ];
      for (const filter of queries) {
        const expected = ordered.filter(
          (e) =>
            (filter.type === undefined || e.type === filter.type) &&
            (filter.since === undefined || e.createdAt >= filter.since) &&
            (filter.until === undefined || e.createdAt < filter.until),
        );
        for (const limit of [1, 2, 3, 500]) {
          const pages = await allPages((cursor) => store.listEvents({ ...filter, limit, cursor }));
          expectWellFormed(pages, limit);
          const ids = pages.flatMap((p) => p.data.map((e) => e.id));
          expect(ids, JSON.stringify({ filter, limit })).toEqual(expected.map((e) => e.id));
        }
      }
      const [first] = (await store.listEvents({ limit: 1 })).data;
      expect(first).toEqual<StoredEvent>({
        id: events[5]!.id,
        type: 'order.created',
        data: events[5]!.data,
        createdAt: T + 40,
        deliveryCount: 1,
      });
    });

    it('reports no nextCursor for a page that is exactly full, and an empty page when there is nothing', async () => {
      const store = getStore();
      expect(await store.listEvents({ limit: 50 })).toEqual({ data: [], nextCursor: null });
      for (let i = 0; i < 4; i++) await store.ingest([[newEvent({ createdAt: T + i })]]);
      const first = await store.listEvents({ limit: 2 });
      expect(first.nextCursor).not.toBeNull();
      const second = await store.listEvents({ limit: 2, cursor: first.nextCursor! });
      expect(second.data).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
      expect((await store.listEvents({ limit: 4 })).nextCursor).toBeNull();
    });

    it('has no duplicates or gaps when events arrive between pages', async () => {
      const store = getStore();
      const original = Array.from({ length: 7 }, (_, i) => newEvent({ createdAt: T + (i % 3) }));
      for (const event of original) await store.ingest([[event]]);
      const seen: string[] = [];
      let cursor: string | undefined;
      let round = 0;
      do {
        const page = await store.listEvents({ limit: 2, cursor });
        seen.push(...page.data.map((e) => e.id));
        cursor = page.nextCursor ?? undefined;
        // Newer ones, and one with the same time as the newest: all sort before the cursor.
        await store.ingest([[newEvent({ createdAt: T + 100 + round })], [newEvent({ createdAt: T + 2 })]]);
        round++;
      } while (cursor !== undefined);
      expect(seen).toHaveLength(original.length);
      expect(new Set(seen)).toEqual(new Set(original.map((e) => e.id)));
    });

    it('rejects a cursor it did not make with code INVALID_CURSOR', async () => {
      const store = getStore();
      await store.ingest([[newEvent()], [newEvent()]]);
      const deliveryCursor = (await store.listDeliveries({ limit: 1 })).nextCursor!;
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const cursor of ['garbage!', 'bm90IGpzb24', b64({ createdAt: 1 }), b64([1, 2]), b64(['e', 'x', 1]), deliveryCursor, '']) {
        await expectInvalidCursor(store.listEvents({ limit: 10, cursor }));
      }
    });
  });

  describe('listDeliveries', () => {
    // Created in this order; ids (ULIDs) follow creation, not createdAt.
    const specs: DeliverySpec[] = [
      { status: 'failed', subscriptionId: 'a', type: 'order.created', createdAt: T + 10 },
      { status: 'succeeded', subscriptionId: 'b', type: 'order.paid', createdAt: T + 20 },
      { status: 'pending', subscriptionId: 'a', type: 'order.paid', createdAt: T + 30 },
      { status: 'retrying', subscriptionId: 'a', type: 'order.created', createdAt: T + 5 },
      { status: 'failed', subscriptionId: 'b', type: 'order.created', createdAt: T + 40 },
      { status: 'pending', subscriptionId: 'b', type: 'order.created', createdAt: T + 40 },
      { status: 'cancelled', subscriptionId: 'a', type: 'order.paid', createdAt: T + 50 },
      { status: 'delivering', subscriptionId: 'a', type: 'order.created', createdAt: T + 15 },
      { status: 'succeeded', subscriptionId: 'a', type: 'order.created', createdAt: T + 60 },
      { status: 'failed', subscriptionId: 'a', type: 'order.paid', createdAt: T + 25 },
      { status: 'pending', subscriptionId: 'c', type: 'order.created', createdAt: T + 35 },
    ];

    it('pages newest id first, with every filter and combination', async () => {
      const store = getStore();
      await makeDeliveries(specs);
      const everything = await allPages((cursor) => store.listDeliveries({ limit: 500, cursor }));
      const all = everything.flatMap((p) => p.data);
      expect(all).toHaveLength(specs.length);
      expect(all.map((d) => d.id)).toEqual(all.map((d) => d.id).sort(byIdDesc));
      for (const d of all) {
        const { eventType, ...stored } = d;
        expect(await store.getDelivery(d.id)).toEqual(stored);
        expect(eventType).toMatch(/^order\./);
      }

      const filters: Omit<DeliveryQuery, 'limit' | 'cursor'>[] = [
        { status: 'failed' },
        { status: 'pending' },
        { subscriptionId: 'a' },
        { subscriptionId: 'b' },
        { subscriptionId: 'zzz' },
        { eventType: 'order.created' },
        { since: T + 20 },
        { until: T + 30 },
        { since: T + 15, until: T + 40 },
        { subscriptionId: 'a', status: 'failed' },
        { subscriptionId: 'a', eventType: 'order.created' },
        { status: 'failed', eventType: 'order.created' },
        { subscriptionId: 'a', since: T + 10, until: T + 50 },
        { status: 'pending', since: T + 30 },
        { eventType: 'order.paid', until: T + 50 },
        { subscriptionId: 'a', status: 'failed', eventType: 'order.paid', since: T + 20, until: T + 30 },
      ];
      for (const filter of filters) {
        const expected = all.filter(
          (d) =>
            (filter.status === undefined || d.status === filter.status) &&
            (filter.subscriptionId === undefined || d.subscriptionId === filter.subscriptionId) &&
            (filter.eventType === undefined || d.eventType === filter.eventType) &&
            (filter.since === undefined || d.createdAt >= filter.since) &&
            (filter.until === undefined || d.createdAt < filter.until),
        );
        for (const limit of [1, 2, 3, 500]) {
          const pages = await allPages((cursor) => store.listDeliveries({ ...filter, limit, cursor }));
          expectWellFormed(pages, limit);
          const listed = pages.flatMap((p) => p.data);
          expect(listed, JSON.stringify({ filter, limit })).toEqual(expected);
        }
      }
    });

    it('reports no nextCursor for an exactly full page', async () => {
      const store = getStore();
      expect(await store.listDeliveries({ limit: 10 })).toEqual({ data: [], nextCursor: null });
      await makeDeliveries([{ status: 'pending' }, { status: 'pending' }, { status: 'failed' }, { status: 'failed' }]);
      const first = await store.listDeliveries({ limit: 2, subscriptionId: 'a' });
      expect(first.nextCursor).not.toBeNull();
      const second = await store.listDeliveries({ limit: 2, subscriptionId: 'a', cursor: first.nextCursor! });
      expect(second.data).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
      expect((await store.listDeliveries({ limit: 2, status: 'failed' })).nextCursor).toBeNull();
    });

    it('has no duplicates or gaps when deliveries are made between pages', async () => {
      const store = getStore();
      const original = await makeDeliveries(Array.from({ length: 7 }, () => ({ status: 'pending' as const })));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listDeliveries({ limit: 3, status: 'pending', cursor });
        seen.push(...page.data.map((d) => d.id));
        cursor = page.nextCursor ?? undefined;
        const event = newEvent({ createdAt: NOW });
        await store.ingest([[event]]);
        await store.addDeliveries(event.id, ['a', 'b'], NOW);
      } while (cursor !== undefined);
      expect(seen).toEqual([...original].sort(byIdDesc));
    });

    it('rejects a cursor it did not make with code INVALID_CURSOR', async () => {
      const store = getStore();
      await store.ingest([[newEvent()], [newEvent()]]);
      const eventCursor = (await store.listEvents({ limit: 1 })).nextCursor!;
      for (const cursor of ['%%%', 'e30', eventCursor, Buffer.from('["d",7]').toString('base64url')]) {
        await expectInvalidCursor(store.listDeliveries({ limit: 10, cursor }));
        await expectInvalidCursor(store.listDeliveries({ limit: 10, subscriptionId: 'a', cursor }));
      }
    });
  });

  describe('API subscriptions', () => {
    it('inserts, lists, updates and deletes, answering false when there is nothing to do', async () => {
      const store = getStore();
      expect(await store.listApiSubscriptions()).toEqual([]);
      const spec = { id: 'api-1', url: 'https://r.example/h', events: ['order.*'], secret: 'whsec_abc', nested: { a: [1, null] } };
      expect(await store.insertApiSubscription('api-1', spec, T)).toBe(true);
      expect(await store.insertApiSubscription('api-1', { other: true }, T + 1)).toBe(false);
      expect(await store.insertApiSubscription('api-0', { url: 'https://0.example' }, T + 2)).toBe(true);
      expect(await store.listApiSubscriptions()).toEqual([
        { id: 'api-0', spec: { url: 'https://0.example' }, createdAt: T + 2, updatedAt: T + 2 },
        { id: 'api-1', spec, createdAt: T, updatedAt: T },
      ]);

      expect(await store.updateApiSubscription('api-1', { ...spec, url: 'https://new.example' }, T + 10)).toBe(true);
      expect(await store.updateApiSubscription('missing', spec, T + 10)).toBe(false);
      expect((await store.listApiSubscriptions())[1]).toEqual({
        id: 'api-1',
        spec: { ...spec, url: 'https://new.example' },
        createdAt: T,
        updatedAt: T + 10,
      });
      // Only if nothing wrote it since it was read: the read's updatedAt is T + 10, not T.
      expect(await store.updateApiSubscription('api-1', { ...spec, url: 'https://stale.example' }, T + 11, T)).toBe(false);
      expect(await store.getApiSubscription('api-1')).toMatchObject({ spec: { url: 'https://new.example' }, updatedAt: T + 10 });
      expect(await store.updateApiSubscription('api-1', { ...spec, url: 'https://newer.example' }, T + 12, T + 10)).toBe(true);
      expect(await store.getApiSubscription('api-1')).toMatchObject({ spec: { url: 'https://newer.example' }, updatedAt: T + 12 });

      expect(await store.deleteApiSubscription('api-1', T + 20)).toBe(true);
      expect(await store.deleteApiSubscription('api-1', T + 20)).toBe(false);
      expect(await store.deleteApiSubscription('missing', T + 20)).toBe(false);
      expect((await store.listApiSubscriptions()).map((s) => s.id)).toEqual(['api-0']);
      // The id is free again.
      expect(await store.insertApiSubscription('api-1', spec, T + 30)).toBe(true);
    });

    it('delete removes the run-time state and cancels waiting deliveries, keeping their history', async () => {
      const store = getStore();
      await store.insertApiSubscription('api-x', { url: 'https://x.example' }, T);
      const [pending, retrying, delivering, succeeded, failed, other] = await makeDeliveries([
        { status: 'pending', subscriptionId: 'api-x' },
        { status: 'retrying', subscriptionId: 'api-x' },
        { status: 'delivering', subscriptionId: 'api-x' },
        { status: 'succeeded', subscriptionId: 'api-x' },
        { status: 'failed', subscriptionId: 'api-x' },
        { status: 'pending', subscriptionId: 'b' },
      ]);
      await store.setSubscriptionEnabled('api-x', false, 'paused', T);
      await store.setSubscriptionEnabled('b', false, 'paused', T);

      expect(await store.deleteApiSubscription('api-x', NOW)).toBe(true);
      for (const id of [pending, retrying]) {
        expect(await store.getDelivery(id!)).toMatchObject({ status: 'cancelled', nextAttemptAt: null, updatedAt: NOW });
      }
      expect((await store.getDelivery(retrying!))?.attempts).toBe(1);
      expect(await store.listAttempts(retrying!)).toHaveLength(1);
      expect((await store.getDelivery(delivering!))?.status).toBe('delivering');
      expect((await store.getDelivery(succeeded!))?.status).toBe('succeeded');
      expect((await store.getDelivery(failed!))?.status).toBe('failed');
      expect(await store.getDelivery(other!)).toMatchObject({ status: 'pending' });
      expect((await store.getSubscriptionStates()).map((s) => s.id)).toEqual(['b']);
      expect(await store.nextDueAt(['api-x'])).toBeNull();
    });

    it('delete of an id that is not an API subscription touches nothing', async () => {
      const store = getStore();
      const [id] = await makeDeliveries([{ status: 'pending', subscriptionId: 'config-sub' }]);
      await store.setSubscriptionEnabled('config-sub', false, null, T);
      expect(await store.deleteApiSubscription('config-sub', NOW)).toBe(false);
      expect((await store.getDelivery(id!))?.status).toBe('pending');
      expect(await store.getSubscriptionStates()).toHaveLength(1);
    });
  });

  describe('addDeliveries', () => {
    it('adds pending deliveries due now, in order, and leaves the first delivery count alone', async () => {
      const store = getStore();
      const event = newEvent({ subscriptionIds: ['a'], type: 'order.paid' });
      await store.ingest([[event]]);
      const ids = await store.addDeliveries(event.id, ['b', 'c', 'a'], NOW);
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      for (const [i, sub] of ['b', 'c', 'a'].entries()) {
        expect(await store.getDelivery(ids[i]!)).toEqual({
          id: ids[i],
          eventId: event.id,
          subscriptionId: sub,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: NOW,
          createdAt: NOW,
          updatedAt: NOW,
          lastStatusCode: null,
          lastError: null,
        });
      }
      expect(ids[0]).toMatch(/^dlv_/);
      expect(await store.listDeliveriesOfEvent(event.id)).toHaveLength(4);
      expect((await store.getEvent(event.id))?.deliveryCount).toBe(1);
      // An idempotent replay of the ingest still answers the first count.
      expect(await store.ingest([[event]])).toEqual([{ kind: 'ok', events: [{ id: event.id, deliveries: 1, created: false }] }]);

      const listed = await store.listDeliveries({ limit: 10, eventType: 'order.paid', since: NOW });
      expect(listed.data.map((d) => d.id)).toEqual([...ids].sort(byIdDesc));
      expect(await store.claim([claimOf('c')], 'owner-1', NOW - 1)).toEqual([]);
      expect((await store.claim([claimOf('c')], 'owner-1', NOW)).map((c) => c.id)).toEqual([ids[1]]);
    });

    it('answers [] for an unknown event and writes nothing', async () => {
      const store = getStore();
      expect(await store.addDeliveries('evt_unknown', ['a'], NOW)).toEqual([]);
      expect(await store.addDeliveries('evt_unknown', [], NOW)).toEqual([]);
      expect((await store.listDeliveries({ limit: 10 })).data).toEqual([]);
    });
  });

  describe('delivery actions', () => {
    const states: DeliverySpec['status'][] = [...ALL_STATUSES, 'retrying-cancelled'];

    it('retry: due now from pending, retrying, failed and cancelled; conflict when delivering or succeeded', async () => {
      const store = getStore();
      const ids = await makeDeliveries(states.map((status) => ({ status })));
      const expected: Record<string, { status: DeliveryStatus; attempts: number } | { conflict: DeliveryStatus }> = {
        pending: { status: 'pending', attempts: 0 },
        retrying: { status: 'retrying', attempts: 1 },
        delivering: { conflict: 'delivering' },
        succeeded: { conflict: 'succeeded' },
        failed: { status: 'retrying', attempts: 1 },
        cancelled: { status: 'pending', attempts: 0 },
        'retrying-cancelled': { status: 'retrying', attempts: 1 },
      };
      for (const [i, state] of states.entries()) {
        const id = ids[i]!;
        const before = await store.getDelivery(id);
        const outcome = await store.retryDelivery(id, NOW);
        const want = expected[state]!;
        if ('conflict' in want) {
          expect(outcome, state).toEqual({ kind: 'conflict', status: want.conflict });
          expect(await store.getDelivery(id)).toEqual(before);
          continue;
        }
        const after = { ...before!, status: want.status, attempts: want.attempts, nextAttemptAt: NOW, updatedAt: NOW };
        expect(outcome, state).toEqual({ kind: 'ok', delivery: after });
        expect(await store.getDelivery(id)).toEqual(after);
      }
      expect(await store.retryDelivery('dlv_unknown', NOW)).toEqual({ kind: 'not_found' });
      // Every retried delivery is handed out at now, none before.
      expect(await store.claim([claimOf('a', 100)], 'owner-1', NOW - 1)).toEqual([]);
      expect(await store.claim([claimOf('a', 100)], 'owner-1', NOW)).toHaveLength(5);
    });

    it('cancel: from pending and retrying, idempotent on cancelled, conflict otherwise', async () => {
      const store = getStore();
      const ids = await makeDeliveries(states.map((status) => ({ status })));
      for (const [i, state] of states.entries()) {
        const id = ids[i]!;
        const before = (await store.getDelivery(id))!;
        const outcome = await store.cancelDelivery(id, NOW);
        if (state === 'pending' || state === 'retrying') {
          const after = { ...before, status: 'cancelled' as const, nextAttemptAt: null, updatedAt: NOW };
          expect(outcome, state).toEqual({ kind: 'ok', delivery: after });
          expect(await store.getDelivery(id)).toEqual(after);
        } else if (before.status === 'cancelled') {
          expect(outcome, state).toEqual({ kind: 'ok', delivery: before });
          expect(await store.getDelivery(id)).toEqual(before);
        } else {
          expect(outcome, state).toEqual({ kind: 'conflict', status: state });
          expect(await store.getDelivery(id)).toEqual(before);
        }
      }
      expect(await store.cancelDelivery('dlv_unknown', NOW)).toEqual({ kind: 'not_found' });
      expect(await store.nextDueAt(['a'])).toBeNull();
      expect(await store.claim([claimOf('a', 100)], 'owner-1', NOW + 1_000_000)).toEqual([]);
    });
  });

  describe('recoverDeliveries', () => {
    it('makes failed deliveries of the subscription created in [since, until) due now', async () => {
      const store = getStore();
      const [before, atSince, inside, atUntil, otherSub, succeeded, pending] = await makeDeliveries([
        { status: 'failed', createdAt: T + 99 },
        { status: 'failed', createdAt: T + 100 },
        { status: 'failed', createdAt: T + 150 },
        { status: 'failed', createdAt: T + 200 },
        { status: 'failed', createdAt: T + 150, subscriptionId: 'b' },
        { status: 'succeeded', createdAt: T + 150 },
        { status: 'pending', createdAt: T + 150 },
      ]);
      expect(await store.recoverDeliveries('a', T + 100, T + 200, NOW)).toBe(2);
      for (const id of [atSince, inside]) {
        expect(await store.getDelivery(id!)).toMatchObject({ status: 'retrying', attempts: 1, nextAttemptAt: NOW, updatedAt: NOW });
      }
      for (const id of [before, atUntil, otherSub]) expect((await store.getDelivery(id!))?.status).toBe('failed');
      expect((await store.getDelivery(succeeded!))?.status).toBe('succeeded');
      expect(await store.getDelivery(pending!)).toMatchObject({ status: 'pending', nextAttemptAt: DRIVE_AT });
      // Nothing failed is left in the window; an empty or reversed window touches nothing.
      expect(await store.recoverDeliveries('a', T + 100, T + 200, NOW)).toBe(0);
      expect(await store.recoverDeliveries('a', T + 200, T + 200, NOW)).toBe(0);
      expect(await store.recoverDeliveries('a', T + 300, T, NOW)).toBe(0);
      expect(await store.recoverDeliveries('a', T, T + 1000, NOW)).toBe(2);
      expect(await store.recoverDeliveries('nobody', T, T + 1000, NOW)).toBe(0);
    });
  });

  describe('deliveryStats', () => {
    it('counts every status per subscription, with backlog and the oldest waiting creation time', async () => {
      const store = getStore();
      expect(await store.deliveryStats()).toEqual([]);
      await makeDeliveries([
        { status: 'pending', subscriptionId: 'a', createdAt: T + 30 },
        { status: 'retrying', subscriptionId: 'a', createdAt: T + 20 },
        { status: 'retrying', subscriptionId: 'a', createdAt: T + 40 },
        { status: 'failed', subscriptionId: 'a', createdAt: T + 1 },
        { status: 'succeeded', subscriptionId: 'b', createdAt: T + 5 },
        { status: 'delivering', subscriptionId: 'b', createdAt: T + 6 },
        { status: 'cancelled', subscriptionId: 'b', createdAt: T + 2 },
        { status: 'pending', subscriptionId: 'c', createdAt: T + 50 },
      ]);
      const zero = { pending: 0, retrying: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 };
      const stats = await store.deliveryStats();
      expect([...stats].sort((x, y) => x.subscriptionId.localeCompare(y.subscriptionId))).toEqual([
        { subscriptionId: 'a', counts: { ...zero, pending: 1, retrying: 2, failed: 1 }, backlog: 3, oldestWaitingCreatedAt: T + 20 },
        { subscriptionId: 'b', counts: { ...zero, succeeded: 1, delivering: 1, cancelled: 1 }, backlog: 0, oldestWaitingCreatedAt: null },
        { subscriptionId: 'c', counts: { ...zero, pending: 1 }, backlog: 1, oldestWaitingCreatedAt: T + 50 },
      ]);
      // Of some subscriptions only (an id without deliveries has no entry).
      expect(await store.deliveryStats(['c', 'zzz'])).toEqual([
        { subscriptionId: 'c', counts: { ...zero, pending: 1 }, backlog: 1, oldestWaitingCreatedAt: T + 50 },
      ]);
      expect(await store.deliveryStats([])).toEqual([]);
      // Waiting deliveries of every subscription but some: metrics' series of all tenants' subscriptions.
      expect(await store.waitingTotals([])).toEqual({ backlog: 4, oldestWaitingCreatedAt: T + 20 });
      expect(await store.waitingTotals(['a'])).toEqual({ backlog: 1, oldestWaitingCreatedAt: T + 50 });
      expect(await store.waitingTotals(['a', 'c'])).toEqual({ backlog: 0, oldestWaitingCreatedAt: null });
    });
  });

  describe('audit log', () => {
    const entry = (n: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
      id: `aud_contract_${String(n).padStart(4, '0')}`,
      at: T + n,
      actor: 'ops-token',
      action: 'delivery.retry',
      target: `dlv_${n}`,
      details: { n, reason: 'receiver was down', list: [1, 'two', null], nested: { ok: true } },
      ...overrides,
    });

    it('round-trips entries and lists them newest first across pages', async () => {
      const store = getStore();
      expect(await store.listAudit({ limit: 10 })).toEqual({ data: [], nextCursor: null });
      // Appended out of `at` order: the log orders by append, newest first.
      const entries = [entry(1), entry(3, { target: null, details: {} }), entry(2, { action: 'subscription.create' }), entry(4), entry(5)];
      for (const e of entries) await store.appendAudit(e);
      for (const limit of [1, 2, 5, 500]) {
        const pages = await allPages((cursor) => store.listAudit({ limit, cursor }));
        expectWellFormed(pages, limit);
        expect(pages.flatMap((p) => p.data)).toEqual([...entries].reverse());
      }
      await store.appendAudit(entry(6));
      const first = await store.listAudit({ limit: 2 });
      expect(first.data.map((e) => e.id)).toEqual([entry(6).id, entry(5).id]);
    });

    it('rejects a cursor it did not make with code INVALID_CURSOR', async () => {
      const store = getStore();
      await store.appendAudit(entry(1));
      await store.appendAudit(entry(2));
      const auditCursor = (await store.listAudit({ limit: 1 })).nextCursor!;
      expect(auditCursor).toEqual(expect.any(String));
      for (const cursor of [
        'not a cursor',
        Buffer.from('["a","1"]').toString('base64url'),
        Buffer.from('["a",1.5]').toString('base64url'),
      ]) {
        await expectInvalidCursor(store.listAudit({ limit: 10, cursor }));
      }
      await expectInvalidCursor(store.listEvents({ limit: 10, cursor: auditCursor }));
    });
  });
}
