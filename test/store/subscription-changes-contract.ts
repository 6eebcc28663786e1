import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * The subscription change log (latestSubscriptionChange, subscriptionChangesSince,
 * pruneSubscriptionChanges) and the reads a live set of subscriptions makes with it. Part of the
 * shared Store contract: runs inside describeStoreContract, on its fresh migrated store.
 */

const HOUR = 3_600_000;

export function describeSubscriptionChangesContract(getStore: () => Store): void {
  describe('subscription change log', () => {
    let store: Store;
    beforeEach(() => {
      store = getStore();
    });

    /** The ids changed by `write`, and checks the log moved forward to the newest seq. */
    async function changedBy(write: () => Promise<unknown>): Promise<string[]> {
      const before = await store.latestSubscriptionChange();
      await write();
      const changes = await store.subscriptionChangesSince(before);
      expect(changes.truncated).toBe(false);
      expect(changes.seq).toBe(await store.latestSubscriptionChange());
      if (changes.ids.length > 0) expect(changes.seq).toBeGreaterThan(before);
      else expect(changes.seq).toBe(before);
      return changes.ids.sort();
    }

    it('is empty on a new store', async () => {
      expect(await store.latestSubscriptionChange()).toBe(0);
      expect(await store.subscriptionChangesSince(0)).toEqual({ seq: 0, ids: [], truncated: false });
    });

    it('gets a row from every write that changes a definition or the enabled state, and from nothing else', async () => {
      expect(await changedBy(() => store.insertApiSubscription('api-1', { url: 'https://one.example' }, T))).toEqual(['api-1']);
      expect(await changedBy(() => store.updateApiSubscription('api-1', { url: 'https://two.example' }, T + 1))).toEqual(['api-1']);
      expect(await changedBy(() => store.setSubscriptionEnabled('cfg', false, 'paused', T + 2))).toEqual(['cfg']);
      expect(await changedBy(() => store.setSubscriptionEnabled('cfg', null, null, T + 3))).toEqual(['cfg']);
      expect(await changedBy(() => store.deleteApiSubscription('api-1', T + 4))).toEqual(['api-1']);

      // Writes that change no subscription: nothing.
      expect(await changedBy(() => store.insertApiSubscription('api-2', { url: 'https://x.example' }, T + 5))).toEqual(['api-2']);
      expect(await changedBy(() => store.insertApiSubscription('api-2', { other: true }, T + 6))).toEqual([]);
      expect(await changedBy(() => store.updateApiSubscription('missing', {}, T + 6))).toEqual([]);
      expect(await changedBy(() => store.deleteApiSubscription('missing', T + 6))).toEqual([]);
      const event = newEvent({ subscriptionIds: ['a'] });
      expect(await changedBy(() => store.ingest([[event]]))).toEqual([]);
      const [claimed] = await store.claim([claimOf('a')], 'owner-1', T);
      // Health is not a change of the subscription: a failure (or success) logs nothing.
      expect(await changedBy(() => store.complete([result(claimed!.id, 'owner-1', { status: 'failed' })], T + 10))).toEqual([]);
    });

    it('gets a row from a completion that disables the subscription (410 Gone)', async () => {
      await store.ingest([[newEvent({ subscriptionIds: ['a'] })], [newEvent({ subscriptionIds: ['a'] })]]);
      const [gone, ok] = await store.claim([claimOf('a', 2)], 'owner-1', T);
      const ids = await changedBy(() =>
        store.complete(
          [
            result(ok!.id, 'owner-1', { status: 'succeeded' }),
            result(gone!.id, 'owner-1', { status: 'failed' }, { disableSubscription: 'receiver answered 410 Gone' }),
          ],
          T + 10,
        ),
      );
      expect(ids).toEqual(['a']);
      expect(await store.getSubscriptionStates(['a'])).toMatchObject([
        { id: 'a', enabled: false, disabledReason: 'receiver answered 410 Gone' },
      ]);
      // A result whose lease was lost writes nothing, so it logs nothing either.
      expect(
        await changedBy(() =>
          store.complete([result(gone!.id, 'owner-1', { status: 'failed' }, { disableSubscription: 'again' })], T + 20),
        ),
      ).toEqual([]);
    });

    it('lists each changed id once, deleted ones included, with the newest seq', async () => {
      const start = await store.latestSubscriptionChange();
      await store.insertApiSubscription('api-a', { url: 'https://a.example' }, T);
      await store.insertApiSubscription('api-b', { url: 'https://b.example' }, T);
      await store.updateApiSubscription('api-a', { url: 'https://a2.example' }, T + 1);
      await store.setSubscriptionEnabled('api-a', false, null, T + 2);
      await store.deleteApiSubscription('api-b', T + 3);
      const changes = await store.subscriptionChangesSince(start);
      expect(changes.ids.sort()).toEqual(['api-a', 'api-b']);
      expect(changes.seq).toBe(await store.latestSubscriptionChange());
      expect(changes.truncated).toBe(false);
      // Read each again: absent now means deleted.
      expect(await store.getApiSubscription('api-b')).toBeNull();
      expect(await store.getApiSubscription('api-a')).toEqual({
        id: 'api-a',
        spec: { url: 'https://a2.example' },
        createdAt: T,
        updatedAt: T + 1,
      });
      // Nothing after the newest seq.
      expect(await store.subscriptionChangesSince(changes.seq)).toEqual({ seq: changes.seq, ids: [], truncated: false });
    });

    it('prunes rows older than the cut, keeps the newest whatever its age, and says truncated to a reader left behind', async () => {
      const start = await store.latestSubscriptionChange();
      await store.setSubscriptionEnabled('s1', false, null, T);
      await store.setSubscriptionEnabled('s2', false, null, T + 1);
      await store.setSubscriptionEnabled('s3', false, null, T + 2);
      const latest = await store.latestSubscriptionChange();
      expect(latest - start).toBe(3);

      // Nothing is older than T: nothing goes.
      expect(await store.pruneSubscriptionChanges(T)).toBe(0);
      expect((await store.subscriptionChangesSince(start)).truncated).toBe(false);

      // Everything is older than the cut, but the newest row stays.
      expect(await store.pruneSubscriptionChanges(T + 10 * HOUR)).toBe(2);
      expect(await store.latestSubscriptionChange()).toBe(latest);
      expect(await store.subscriptionChangesSince(start)).toMatchObject({ truncated: true });
      expect(await store.subscriptionChangesSince(latest - 2)).toMatchObject({ truncated: true });
      // A reader that saw everything up to the first kept row's predecessor missed nothing.
      expect(await store.subscriptionChangesSince(latest - 1)).toEqual({ seq: latest, ids: ['s3'], truncated: false });
      expect(await store.subscriptionChangesSince(latest)).toEqual({ seq: latest, ids: [], truncated: false });

      // Newer rows than the cut stay.
      await store.setSubscriptionEnabled('s4', false, null, T + 2 * HOUR);
      await store.setSubscriptionEnabled('s5', false, null, T + 2 * HOUR);
      expect(await store.pruneSubscriptionChanges(T + HOUR)).toBe(1);
      expect(await store.subscriptionChangesSince(latest)).toMatchObject({ ids: expect.arrayContaining(['s4', 's5']), truncated: false });
    });

    it('says truncated to a reader ahead of the log (a store it never saw)', async () => {
      await store.setSubscriptionEnabled('s1', false, null, T);
      const latest = await store.latestSubscriptionChange();
      expect(await store.subscriptionChangesSince(latest + 5)).toEqual({ seq: latest + 5, ids: [], truncated: true });
    });

    it('reads the states of some ids, or of all, and one API subscription by id', async () => {
      await store.setSubscriptionEnabled('b', false, 'paused', T);
      await store.setSubscriptionEnabled('a', true, null, T);
      await store.setSubscriptionEnabled('c', null, null, T);
      expect((await store.getSubscriptionStates()).map((s) => s.id)).toEqual(['a', 'b', 'c']);
      expect(await store.getSubscriptionStates(['b', 'unknown', 'b'])).toEqual([
        {
          id: 'b',
          enabled: false,
          disabledReason: 'paused',
          lastSuccessAt: null,
          lastFailureAt: null,
          failureStreak: 0,
          failingSince: null,
        },
      ]);
      expect((await store.getSubscriptionStates(['c', 'a'])).map((s) => s.id).sort()).toEqual(['a', 'c']);
      expect(await store.getSubscriptionStates([])).toEqual([]);
      // Many ids at once (more than one query's worth).
      const many = Array.from({ length: 1200 }, (_, i) => `x${i}`);
      expect((await store.getSubscriptionStates([...many, 'a'])).map((s) => s.id)).toEqual(['a']);

      expect(await store.getApiSubscription('nope')).toBeNull();
      await store.insertApiSubscription('api-1', { url: 'https://one.example', nested: { n: [1] } }, T);
      expect(await store.getApiSubscription('api-1')).toEqual({
        id: 'api-1',
        spec: { url: 'https://one.example', nested: { n: [1] } },
        createdAt: T,
        updatedAt: T,
      });
    });
  });
}
