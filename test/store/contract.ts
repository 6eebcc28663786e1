import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent, Store } from '../../src/store/types';
import { describeAdminContract } from './admin-contract';
import { describeErasureContract } from './erasure-contract';
import { describeEventTypesContract } from './event-types-contract';
import { attemptRecord, claimOf, newEvent, result, T } from './fixtures';
import { describePortalSessionsContract } from './portal-sessions-contract';
import { describeRetentionContract } from './retention-contract';
import { describeSchedulingContract } from './scheduling-contract';
import { describeOperationalContract } from './operational-contract';
import { describeSubscriptionChangesContract } from './subscription-changes-contract';
import { describeTenantTokensContract } from './tenant-tokens-contract';
import { describeTenantsContract } from './tenants-contract';

/*
 * The Store contract every backend must pass (River's shared driver tests). `makeStore` returns a
 * fresh, empty store; the suite migrates it before each test and closes it after.
 * Time is always passed in: T is an arbitrary fixed epoch. The admin API part is admin-contract.ts.
 */

export function describeStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    /** Ingests one single-event request and returns the ids of its deliveries. */
    async function ingestOne(event: NewEvent): Promise<string[]> {
      const [res] = await store.ingest([[event]]);
      expect(res?.kind).toBe('ok');
      return (await store.listDeliveriesOfEvent(event.id)).map((d) => d.id);
    }

    describe('ingest', () => {
      it('stores the event and one pending delivery per subscription, due at createdAt', async () => {
        const event = newEvent({ subscriptionIds: ['a', 'b'], createdAt: T + 5 });
        const results = await store.ingest([[event]]);
        expect(results).toEqual([{ kind: 'ok', events: [{ id: event.id, deliveries: 2, created: true }] }]);

        expect(await store.getEvent(event.id)).toEqual({
          id: event.id,
          type: event.type,
          data: event.data,
          createdAt: T + 5,
          deliveryCount: 2,
        });
        const deliveries = await store.listDeliveriesOfEvent(event.id);
        expect(deliveries.map((d) => d.subscriptionId).sort()).toEqual(['a', 'b']);
        for (const d of deliveries) {
          expect(d).toMatchObject({
            eventId: event.id,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: T + 5,
            createdAt: T + 5,
            lastStatusCode: null,
            lastError: null,
          });
          expect(d.id).toMatch(/^dlv_/);
          expect(await store.getDelivery(d.id)).toEqual(d);
        }
      });

      it('stores an event that matches no subscription', async () => {
        const event = newEvent({ subscriptionIds: [] });
        expect(await store.ingest([[event]])).toEqual([{ kind: 'ok', events: [{ id: event.id, deliveries: 0, created: true }] }]);
        expect((await store.getEvent(event.id))?.deliveryCount).toBe(0);
        expect(await store.listDeliveriesOfEvent(event.id)).toEqual([]);
      });

      it('answers an identical replay with the first delivery count and stores nothing new', async () => {
        const event = newEvent({ subscriptionIds: ['a', 'b'] });
        await store.ingest([[event]]);
        // Subscriptions may have changed since; the replay still answers what was stored.
        const replay = { ...event, subscriptionIds: ['a', 'b', 'c'], createdAt: T + 99 };
        expect(await store.ingest([[replay]])).toEqual([{ kind: 'ok', events: [{ id: event.id, deliveries: 2, created: false }] }]);
        expect(await store.listDeliveriesOfEvent(event.id)).toHaveLength(2);
        expect((await store.getEvent(event.id))?.createdAt).toBe(T);
      });

      it('rejects an id stored with other content and stores nothing of that request', async () => {
        const first = newEvent();
        await store.ingest([[first]]);
        const fresh = newEvent();
        const clash = { ...first, data: '{"other":true}', contentHash: 'other-hash' };
        expect(await store.ingest([[fresh, clash]])).toEqual([{ kind: 'conflict', id: first.id }]);
        expect(await store.getEvent(fresh.id)).toBeNull();
        expect(await store.listDeliveriesOfEvent(fresh.id)).toEqual([]);
        expect((await store.getEvent(first.id))?.data).toBe(first.data);
        expect((await store.countDeliveriesByStatus()).pending).toBe(1);
      });

      it('keeps a conflicting request from affecting the others of its group', async () => {
        const existing = newEvent();
        await store.ingest([[existing]]);
        const before = newEvent();
        const after = newEvent({ subscriptionIds: ['a', 'b'] });
        const clash = { ...existing, contentHash: 'different' };
        const results = await store.ingest([[before], [newEvent(), clash], [after]]);
        expect(results).toEqual([
          { kind: 'ok', events: [{ id: before.id, deliveries: 1, created: true }] },
          { kind: 'conflict', id: existing.id },
          { kind: 'ok', events: [{ id: after.id, deliveries: 2, created: true }] },
        ]);
        expect(await store.getEvent(before.id)).not.toBeNull();
        expect(await store.getEvent(after.id)).not.toBeNull();
        expect((await store.countDeliveriesByStatus()).pending).toBe(4);
      });

      it('sees events of earlier requests in the same group', async () => {
        const event = newEvent();
        const clash = { ...event, contentHash: 'different' };
        expect(await store.ingest([[event], [event], [clash]])).toEqual([
          { kind: 'ok', events: [{ id: event.id, deliveries: 1, created: true }] },
          { kind: 'ok', events: [{ id: event.id, deliveries: 1, created: false }] },
          { kind: 'conflict', id: event.id },
        ]);
        expect(await store.listDeliveriesOfEvent(event.id)).toHaveLength(1);
      });

      it('counts an id repeated inside one request once, and rejects it repeated with other content', async () => {
        const event = newEvent();
        const other = newEvent();
        expect(await store.ingest([[event, other, event]])).toEqual([
          {
            kind: 'ok',
            events: [
              { id: event.id, deliveries: 1, created: true },
              { id: other.id, deliveries: 1, created: true },
              { id: event.id, deliveries: 1, created: false },
            ],
          },
        ]);
        expect(await store.listDeliveriesOfEvent(event.id)).toHaveLength(1);

        const fresh = newEvent();
        const results = await store.ingest([[fresh, { ...fresh, contentHash: 'different' }]]);
        expect(results).toEqual([{ kind: 'conflict', id: fresh.id }]);
        expect(await store.getEvent(fresh.id)).toBeNull();
      });

      it('handles an empty group', async () => {
        expect(await store.ingest([])).toEqual([]);
      });
    });

    describe('claim', () => {
      it('leases due deliveries oldest first, up to the limit, with their event', async () => {
        const late = newEvent({ createdAt: T + 3000 });
        const early = newEvent({ createdAt: T + 1000 });
        const middle = newEvent({ createdAt: T + 2000 });
        await store.ingest([[late], [early], [middle]]);

        const claimed = await store.claim([claimOf('a', 10)], 'owner-1', T + 2500);
        expect(claimed.map((c) => c.event.id)).toEqual([early.id, middle.id]);
        expect(claimed[0]).toMatchObject({
          subscriptionId: 'a',
          attempts: 0,
          event: { id: early.id, type: early.type, data: early.data, createdAt: T + 1000 },
        });
        const delivery = await store.getDelivery(claimed[0]!.id);
        expect(delivery).toMatchObject({ status: 'delivering', updatedAt: T + 2500 });

        expect(await store.claim([claimOf('a', 1)], 'owner-1', T + 2500)).toEqual([]);
        // Claimed while the subscription holds leases: the delivery comes with its event all the same.
        const rest = await store.claim([claimOf('a', 1)], 'owner-1', T + 3000);
        expect(rest.map((c) => c.event.id)).toEqual([late.id]);
        expect(rest[0]).toMatchObject({
          subscriptionId: 'a',
          attempts: 0,
          event: { id: late.id, type: late.type, data: late.data, createdAt: T + 3000 },
        });
      });

      it('respects the limit and never hands a delivery out twice', async () => {
        await store.ingest([[newEvent()], [newEvent()], [newEvent()]]);
        const first = await store.claim([claimOf('a', 2)], 'owner-1', T);
        expect(first).toHaveLength(2);
        const second = await store.claim([claimOf('a', 5)], 'owner-2', T);
        expect(second).toHaveLength(1);
        expect(await store.claim([claimOf('a', 5)], 'owner-3', T)).toEqual([]);
        const ids = new Set([...first, ...second].map((c) => c.id));
        expect(ids.size).toBe(3);
        expect((await store.countDeliveriesByStatus()).delivering).toBe(3);
      });

      it('keeps subscriptions apart, with a limit per subscription', async () => {
        await store.ingest([[newEvent({ subscriptionIds: ['a', 'b'] })], [newEvent({ subscriptionIds: ['a', 'b'] })]]);
        await store.ingest([[newEvent({ subscriptionIds: ['c'] })]]);
        const claimed = await store.claim([claimOf('a', 1), claimOf('b', 5)], 'owner-1', T);
        expect(claimed.map((c) => c.subscriptionId)).toEqual(['a', 'b', 'b']);
        expect(await store.claim([claimOf('b', 5)], 'owner-1', T)).toEqual([]);
        expect((await store.claim([claimOf('c', 5)], 'owner-1', T)).map((c) => c.subscriptionId)).toEqual(['c']);
      });

      it('skips requests with a limit of zero or less, and an empty request list', async () => {
        await store.ingest([[newEvent()]]);
        expect(await store.claim([claimOf('a', 0), claimOf('a', -1)], 'owner-1', T)).toEqual([]);
        expect(await store.claim([], 'owner-1', T)).toEqual([]);
        expect((await store.countDeliveriesByStatus()).pending).toBe(1);
      });
    });

    describe('complete', () => {
      it('records a success: status, attempt, health', async () => {
        const event = newEvent();
        await ingestOne(event);
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const res = result(claimed!.id, 'owner-1', { status: 'succeeded' });
        expect(await store.complete([res], T + 100)).toEqual([true]);

        expect(await store.getDelivery(claimed!.id)).toMatchObject({
          status: 'succeeded',
          attempts: 1,
          nextAttemptAt: null,
          lastStatusCode: 200,
          lastError: null,
          updatedAt: T + 100,
        });
        expect(await store.listAttempts(claimed!.id)).toEqual([res.record]);
        expect(await store.getSubscriptionStates()).toEqual([
          {
            id: 'a',
            enabled: null,
            disabledReason: null,
            lastSuccessAt: T + 100,
            lastFailureAt: null,
            failureStreak: 0,
            failingSince: null,
          },
        ]);
        expect(await store.claim([claimOf('a')], 'owner-1', T + 10_000_000)).toEqual([]);
      });

      it('records an attempt that ran longer than a 32-bit count of milliseconds (timeouts go up to 30 days)', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const days26 = 26 * 24 * 3600 * 1000;
        const res = result(claimed!.id, 'owner-1', { status: 'succeeded' }, { record: attemptRecord(1, { durationMs: days26 }) });
        expect(await store.complete([res], T + days26)).toEqual([true]);
        // Postgres's integer column holds it as 2^31 - 1 ms (24.9 days); SQLite as it is.
        const [attempt] = await store.listAttempts(claimed!.id);
        expect(attempt!.durationMs).toBeGreaterThanOrEqual(2_147_483_647);
        expect(attempt!.durationMs).toBeLessThanOrEqual(days26);
      });

      it('returns false for a stale owner and writes nothing for it', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const stale = result(claimed!.id, 'someone-else', { status: 'succeeded' });
        expect(await store.complete([stale], T + 100)).toEqual([false]);
        expect(await store.getDelivery(claimed!.id)).toMatchObject({ status: 'delivering', attempts: 0 });
        expect(await store.listAttempts(claimed!.id)).toEqual([]);
        expect(await store.getSubscriptionStates()).toEqual([]);
      });

      it('returns false once the lease was rescued and taken by another owner', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a', 1, T + 10)], 'owner-1', T);
        expect(await store.rescueExpired(T + 10)).toBe(1);
        const [again] = await store.claim([claimOf('a')], 'owner-2', T + 20);
        expect(again?.id).toBe(claimed!.id);

        const late = result(claimed!.id, 'owner-1', { status: 'failed' });
        const current = result(claimed!.id, 'owner-2', { status: 'succeeded' });
        expect(await store.complete([late, current], T + 30)).toEqual([false, true]);
        expect(await store.listAttempts(claimed!.id)).toEqual([current.record]);
        expect((await store.getSubscriptionStates())[0]).toMatchObject({ failureStreak: 0, lastFailureAt: null });
      });

      it('answers false for the second completion of the same lease', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const res = result(claimed!.id, 'owner-1', { status: 'succeeded' });
        expect(await store.complete([res, { ...res, record: attemptRecord(1) }], T + 1)).toEqual([true, false]);
        expect(await store.listAttempts(claimed!.id)).toHaveLength(1);
        expect(await store.complete([], T + 1)).toEqual([]);
      });

      it('retries: waits until due, then hands the delivery out again with its attempt count', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const retry = result(claimed!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 5000 });
        expect(await store.complete([retry], T + 100)).toEqual([true]);
        expect(await store.getDelivery(claimed!.id)).toMatchObject({
          status: 'retrying',
          attempts: 1,
          nextAttemptAt: T + 5000,
          lastStatusCode: 500,
          lastError: 'HTTP 500',
        });
        expect((await store.getSubscriptionStates())[0]).toMatchObject({ lastFailureAt: T + 100, failureStreak: 1 });

        expect(await store.claim([claimOf('a')], 'owner-1', T + 4999)).toEqual([]);
        const [again] = await store.claim([claimOf('a')], 'owner-1', T + 5000);
        expect(again).toMatchObject({ id: claimed!.id, attempts: 1 });

        const timeout = result(
          again!.id,
          'owner-1',
          { status: 'retrying', nextAttemptAt: T + 9000 },
          {
            record: attemptRecord(2, { responseStatus: null, responseHeaders: null, responseBody: null, error: 'timeout after 10000 ms' }),
          },
        );
        expect(await store.complete([timeout], T + 6000)).toEqual([true]);
        expect(await store.getDelivery(claimed!.id)).toMatchObject({
          attempts: 2,
          lastStatusCode: null,
          lastError: 'timeout after 10000 ms',
        });
        expect((await store.getSubscriptionStates())[0]).toMatchObject({ lastFailureAt: T + 6000, failureStreak: 2 });

        const [third] = await store.claim([claimOf('a')], 'owner-1', T + 9000);
        const ok = result(third!.id, 'owner-1', { status: 'succeeded' }, { record: attemptRecord(3) });
        await store.complete([ok], T + 9100);
        expect((await store.getSubscriptionStates())[0]).toMatchObject({
          lastSuccessAt: T + 9100,
          lastFailureAt: T + 6000,
          failureStreak: 0,
        });
        expect((await store.listAttempts(claimed!.id)).map((a) => a.attempt)).toEqual([1, 2, 3]);
      });

      it('fails for good: not handed out again', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        await store.complete([result(claimed!.id, 'owner-1', { status: 'failed' })], T + 1);
        expect(await store.getDelivery(claimed!.id)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
        expect(await store.claim([claimOf('a')], 'owner-1', T + 10_000_000)).toEqual([]);
        expect(await store.nextDueAt(['a'])).toBeNull();
      });

      it('disables the subscription when asked (410 Gone)', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const gone = result(
          claimed!.id,
          'owner-1',
          { status: 'failed' },
          {
            disableSubscription: 'receiver answered 410 Gone',
            record: attemptRecord(1, { responseStatus: 410, error: 'HTTP 410' }),
          },
        );
        expect(await store.complete([gone], T + 50)).toEqual([true]);
        expect(await store.getSubscriptionStates()).toEqual([
          {
            id: 'a',
            enabled: false,
            disabledReason: 'receiver answered 410 Gone',
            lastSuccessAt: null,
            lastFailureAt: T + 50,
            failureStreak: 1,
            failingSince: T + 50,
          },
        ]);
      });

      it('round-trips attempt records: headers, body, nulls', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
        const record = attemptRecord(1, {
          requestHeaders: { 'webhook-signature': 'v1,abc= v1,def=', 'X-Env': 'prod', 'x-empty': '' },
          responseStatus: null,
          responseHeaders: null,
          responseBody: null,
          error: 'connect ECONNREFUSED 10.0.0.1:443',
        });
        await store.complete([result(claimed!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 10 }, { record })], T + 5);
        expect(await store.listAttempts(claimed!.id)).toEqual([record]);

        const [again] = await store.claim([claimOf('a')], 'owner-1', T + 10);
        const answered = attemptRecord(2, {
          responseStatus: 503,
          responseHeaders: { 'retry-after': '120', 'content-type': 'application/json; charset=utf-8' },
          responseBody: '{"error":"unavailable","emoji":"🚧","quote":"\\""}',
          error: 'HTTP 503',
        });
        await store.complete([result(again!.id, 'owner-1', { status: 'failed' }, { record: answered })], T + 20);
        expect(await store.listAttempts(claimed!.id)).toEqual([record, answered]);
        expect(await store.listAttempts('dlv_unknown')).toEqual([]);
      });

      it('accepts fractional millisecond times (stored as whole ms)', async () => {
        await ingestOne(newEvent());
        const [claimed] = await store.claim([claimOf('a', 1, T + 10.6)], 'owner-1', T + 0.2);
        const retry = result(
          claimed!.id,
          'owner-1',
          { status: 'retrying', nextAttemptAt: T + 5000.4 },
          {
            record: attemptRecord(1, { durationMs: 12.75, startedAt: T + 0.5 }),
          },
        );
        expect(await store.complete([retry], T + 100.3)).toEqual([true]);
        const delivery = await store.getDelivery(claimed!.id);
        expect(Number.isInteger(delivery?.nextAttemptAt)).toBe(true);
        expect(Math.abs(delivery!.nextAttemptAt! - (T + 5000.4))).toBeLessThan(1);
        const [stored] = await store.listAttempts(claimed!.id);
        expect(Number.isInteger(stored?.durationMs)).toBe(true);
      });
    });

    describe('release and rescue', () => {
      it('release gives leases back due now, keeping attempts and the waiting status', async () => {
        await store.ingest([[newEvent()], [newEvent()]]);
        const [first, second] = await store.claim([claimOf('a', 2)], 'owner-1', T);
        await store.complete([result(first!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 100 })], T + 1);
        const [retried] = await store.claim([claimOf('a')], 'owner-1', T + 100);
        expect(retried?.id).toBe(first!.id);

        expect(await store.release([first!.id, second!.id], 'owner-2', T + 150)).toBe(0);
        expect(await store.release([first!.id, second!.id, 'dlv_unknown'], 'owner-1', T + 200)).toBe(2);
        expect(await store.getDelivery(first!.id)).toMatchObject({ status: 'retrying', attempts: 1, nextAttemptAt: T + 200 });
        expect(await store.getDelivery(second!.id)).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T + 200 });
        expect(await store.listAttempts(second!.id)).toEqual([]);
        // Not leased any more: a second release changes nothing.
        expect(await store.release([first!.id], 'owner-1', T + 300)).toBe(0);
        expect(await store.release([], 'owner-1', T + 300)).toBe(0);
        expect(await store.claim([claimOf('a')], 'owner-2', T + 200)).toHaveLength(2);
      });

      it('rescueExpired frees expired leases of any owner and leaves live ones', async () => {
        await store.ingest([[newEvent()], [newEvent()], [newEvent({ subscriptionIds: ['b'] })]]);
        const [expiring] = await store.claim([claimOf('a', 1, T + 1000)], 'owner-1', T);
        const [live] = await store.claim([claimOf('a', 1, T + 5000)], 'owner-2', T);
        const [other] = await store.claim([claimOf('b', 1, T + 1000)], 'owner-3', T);

        expect(await store.rescueExpired(T + 999)).toBe(0);
        expect(await store.rescueExpired(T + 1000)).toBe(2);
        expect(await store.getDelivery(expiring!.id)).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T + 1000 });
        expect(await store.getDelivery(other!.id)).toMatchObject({ status: 'pending' });
        expect(await store.getDelivery(live!.id)).toMatchObject({ status: 'delivering' });
        expect(await store.rescueExpired(T + 1000)).toBe(0);

        // A rescued delivery that had failed before goes back to retrying.
        expect(await store.complete([result(live!.id, 'owner-2', { status: 'retrying', nextAttemptAt: T + 1500 })], T + 1100)).toEqual([
          true,
        ]);
        await store.claim([claimOf('a', 5, T + 2000)], 'owner-4', T + 1500);
        expect(await store.rescueExpired(T + 2000)).toBe(2);
        expect(await store.getDelivery(live!.id)).toMatchObject({ status: 'retrying', attempts: 1, nextAttemptAt: T + 2000 });
      });
    });

    describe('complete with cancelled', () => {
      it('records the attempt, ends the delivery cancelled and leaves the health of the removed subscription alone', async () => {
        await store.ingest([[newEvent()]]);
        const [claimed] = await store.claim([claimOf('a', 1, T + 60_000)], 'owner-1', T);
        expect(await store.complete([result(claimed!.id, 'owner-1', { status: 'cancelled' })], T + 5)).toEqual([true]);
        expect(await store.getDelivery(claimed!.id)).toMatchObject({ status: 'cancelled', attempts: 1, nextAttemptAt: null });
        expect(await store.listAttempts(claimed!.id)).toHaveLength(1);
        expect((await store.getSubscriptionStates()).map((st) => st.id)).not.toContain('a');
      });
    });

    describe('rescueExpired with all', () => {
      it('gives back every lease, unexpired too, due at now (start-up of a single-owner store)', async () => {
        await store.ingest([[newEvent()], [newEvent()]]);
        const claimed = await store.claim([claimOf('a', 2, T + 60_000)], 'crashed-owner', T);
        expect(claimed).toHaveLength(2);
        expect(await store.rescueExpired(T + 10, { all: true })).toBe(2);
        for (const d of claimed) {
          expect(await store.getDelivery(d.id)).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: T + 10 });
        }
        expect(await store.claim([claimOf('a', 5, T + 60_000)], 'new-owner', T + 10)).toHaveLength(2);
      });
    });

    describe('claimDue and waitingSubscriptions', () => {
      it("tells each claimed subscription's next due time: more due now, a later retry, or nothing", async () => {
        expect(await store.waitingSubscriptions()).toEqual([]);
        await store.ingest([
          [newEvent({ createdAt: T })],
          [newEvent({ createdAt: T + 10 })],
          [newEvent({ createdAt: T + 20, subscriptionIds: ['b'] })],
        ]);
        expect([...(await store.waitingSubscriptions())].sort((x, y) => x.subscriptionId.localeCompare(y.subscriptionId))).toEqual([
          { subscriptionId: 'a', nextDueAt: T },
          { subscriptionId: 'b', nextDueAt: T + 20 },
        ]);
        // One of a's two: the other is due too.
        const first = await store.claimDue([claimOf('a', 1)], 'w', T + 50);
        expect(first.deliveries).toHaveLength(1);
        expect(first.nextDueAt.get('a')).toBe(T + 10);
        // The last of a, and b's: nothing more waits.
        const second = await store.claimDue([claimOf('a', 5), claimOf('b', 5)], 'w', T + 50);
        expect(second.deliveries).toHaveLength(2);
        expect(second.nextDueAt.get('a')).toBeNull();
        expect(second.nextDueAt.get('b')).toBeNull();
        expect(await store.waitingSubscriptions()).toEqual([]);
        // A retry later: not claimed now, its time told.
        await store.complete([result(first.deliveries[0]!.id, 'w', { status: 'retrying', nextAttemptAt: T + 5_000 })], T + 60);
        const third = await store.claimDue([claimOf('a', 5)], 'w', T + 70);
        expect(third.deliveries).toEqual([]);
        expect(third.nextDueAt.get('a')).toBe(T + 5_000);
        expect(await store.waitingSubscriptions()).toEqual([{ subscriptionId: 'a', nextDueAt: T + 5_000 }]);
      });

      it('reads the states of subscriptions failing since a time, and no others', async () => {
        await store.ingest([[newEvent({ createdAt: T })], [newEvent({ createdAt: T, subscriptionIds: ['b'] })]]);
        const [a, b] = await store.claim([claimOf('a'), claimOf('b')], 'w', T + 10);
        await store.complete(
          [
            result(a!.id, 'w', { status: 'retrying', nextAttemptAt: T + 5_000 }),
            result(b!.id, 'w', { status: 'succeeded' }, { subscriptionId: 'b' }),
          ],
          T + 100,
        );
        expect(await store.failingSubscriptionStates(T + 99)).toEqual([]);
        expect((await store.failingSubscriptionStates(T + 100)).map((s) => [s.id, s.failingSince])).toEqual([['a', T + 100]]);
      });

      it("never leases a delivery of a tenant being erased, a platform subscription's included", async () => {
        await store.putTenant({ id: 'acct_gone', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null }, T);
        await store.ingest([[newEvent({ tenant: 'acct_gone', createdAt: T })], [newEvent({ createdAt: T + 1 })]]);
        await store.startTenantErasure('acct_gone', T + 2);
        const batch = await store.claimDue([claimOf('a', 5)], 'w', T + 10);
        expect(batch.deliveries.map((d) => d.event.tenant)).toEqual([undefined]);
        expect(batch.nextDueAt.get('a')).toBeNull();
        // Once the erasure is over, the tenant's new events are claimed and recorded again.
        while ((await store.eraseTenantBatch('acct_gone', 100, T + 20))?.state !== 'done');
        await store.ingest([[newEvent({ tenant: 'acct_gone', createdAt: T + 30 })]]);
        const [again] = await store.claim([claimOf('a', 5)], 'w', T + 40);
        expect(again?.event.tenant).toBe('acct_gone');
        expect(await store.complete([result(again!.id, 'w', { status: 'succeeded' })], T + 50)).toEqual([true]);
      });
    });

    describe('nextDueAt', () => {
      it('is the earliest due time of waiting deliveries of the given subscriptions', async () => {
        expect(await store.nextDueAt([])).toBeNull();
        expect(await store.nextDueAt(['a'])).toBeNull();
        await store.ingest([
          [newEvent({ createdAt: T + 300 })],
          [newEvent({ createdAt: T + 200, subscriptionIds: ['b'] })],
          [newEvent({ createdAt: T + 100, subscriptionIds: ['c'] })],
        ]);
        expect(await store.nextDueAt(['a'])).toBe(T + 300);
        expect(await store.nextDueAt(['a', 'b'])).toBe(T + 200);
        expect(await store.nextDueAt(['a', 'b', 'c', 'zzz'])).toBe(T + 100);
        expect(await store.nextDueAt([])).toBeNull();

        // Leased deliveries are not waiting; retrying ones are, at their new time.
        const [leased] = await store.claim([claimOf('c')], 'owner-1', T + 100);
        expect(await store.nextDueAt(['c'])).toBeNull();
        await store.complete([result(leased!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 7000 })], T + 150);
        expect(await store.nextDueAt(['c'])).toBe(T + 7000);
      });
    });

    describe('subscription state', () => {
      it('sets the enabled flag by upsert and keeps health', async () => {
        expect(await store.getSubscriptionStates()).toEqual([]);
        await store.setSubscriptionEnabled('b', false, 'disabled by ops', T);
        expect(await store.getSubscriptionStates()).toEqual([
          {
            id: 'b',
            enabled: false,
            disabledReason: 'disabled by ops',
            lastSuccessAt: null,
            lastFailureAt: null,
            failureStreak: 0,
            failingSince: null,
          },
        ]);

        await ingestOne(newEvent({ subscriptionIds: ['b'] }));
        const [claimed] = await store.claim([claimOf('b')], 'owner-1', T);
        await store.complete([result(claimed!.id, 'owner-1', { status: 'failed' })], T + 10);

        await store.setSubscriptionEnabled('b', true, null, T + 20);
        await store.setSubscriptionEnabled('a', null, null, T + 20);
        expect(await store.getSubscriptionStates()).toEqual([
          { id: 'a', enabled: null, disabledReason: null, lastSuccessAt: null, lastFailureAt: null, failureStreak: 0, failingSince: null },
          // Enabling again restarts the disable_after clock (failingSince), and keeps the rest of health.
          {
            id: 'b',
            enabled: true,
            disabledReason: null,
            lastSuccessAt: null,
            lastFailureAt: T + 10,
            failureStreak: 1,
            failingSince: null,
          },
        ]);
        await store.setSubscriptionEnabled('b', null, null, T + 30);
        expect((await store.getSubscriptionStates())[1]).toMatchObject({ id: 'b', enabled: null, failureStreak: 1 });
      });
    });

    describe('reads', () => {
      it('answers null or empty for unknown ids', async () => {
        expect(await store.getEvent('evt_unknown')).toBeNull();
        expect(await store.getDelivery('dlv_unknown')).toBeNull();
        expect(await store.listDeliveriesOfEvent('evt_unknown')).toEqual([]);
      });

      it('counts deliveries by status, every status present', async () => {
        const zero = { pending: 0, retrying: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 };
        expect(await store.countDeliveriesByStatus()).toEqual(zero);

        await store.ingest([[newEvent()], [newEvent()], [newEvent()], [newEvent()], [newEvent({ subscriptionIds: ['b'] })]]);
        const [ok, retry, fail] = await store.claim([claimOf('a', 3)], 'owner-1', T);
        await store.complete(
          [
            result(ok!.id, 'owner-1', { status: 'succeeded' }),
            result(retry!.id, 'owner-1', { status: 'retrying', nextAttemptAt: T + 60_000 }),
            result(fail!.id, 'owner-1', { status: 'failed' }),
          ],
          T + 10,
        );
        await store.claim([claimOf('a', 1)], 'owner-1', T + 20);
        expect(await store.countDeliveriesByStatus()).toEqual({ ...zero, pending: 1, retrying: 1, delivering: 1, succeeded: 1, failed: 1 });
      });
    });

    describeAdminContract(() => store);
    describeSchedulingContract(() => store);
    describeOperationalContract(() => store);
    describeRetentionContract(() => store);
    describeSubscriptionChangesContract(() => store);
    describeTenantsContract(() => store);
    describeTenantTokensContract(() => store);
    describeErasureContract(() => store);
    describeEventTypesContract(() => store);
    describePortalSessionsContract(() => store);

    describe('lifecycle', () => {
      it('is ready after migrate, and migrate again is harmless', async () => {
        expect(await store.ready()).toBe(true);
        await store.migrate();
        expect(await store.ready()).toBe(true);
      });
    });
  });
}
