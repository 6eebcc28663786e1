import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types';
import { T } from './fixtures';

/*
 * The event type catalog in the Store contract (SPEC 11): put creates then replaces, delete, the
 * whole catalog by name, and a catalog version raised by every change (and only by a change), so
 * another instance knows with one read whether to read the catalog again.
 */

const spec = (description: string) => ({
  description,
  schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'string' } } },
  example: { amount: '1.10' },
  deprecated: false,
  internal: false,
});

export function describeEventTypesContract(getStore: () => Store): void {
  describe('event types', () => {
    it('starts empty at version 0', async () => {
      const store = getStore();
      expect(await store.eventTypesVersion()).toBe(0);
      expect(await store.listEventTypes()).toEqual({ version: 0, types: [] });
    });

    it('creates, replaces and lists by name, each write at a new version', async () => {
      const store = getStore();
      const created = await store.putEventType('invoice.paid', spec('paid'), T);
      expect(created.outcome).toBe('created');
      const other = await store.putEventType('invoice.created', spec('created'), T + 1);
      const replaced = await store.putEventType('invoice.paid', spec('paid in full'), T + 2);
      expect(replaced.outcome).toBe('replaced');
      expect(other.version).toBeGreaterThan(created.version);
      expect(replaced.version).toBeGreaterThan(other.version);
      const catalog = await store.listEventTypes();
      expect(catalog.version).toBe(replaced.version);
      expect(await store.eventTypesVersion()).toBe(replaced.version);
      expect(catalog.types).toEqual([
        { name: 'invoice.created', spec: spec('created'), version: other.version, createdAt: T + 1, updatedAt: T + 1 },
        { name: 'invoice.paid', spec: spec('paid in full'), version: replaced.version, createdAt: T, updatedAt: T + 2 },
      ]);
    });

    it('deletes one type and raises the version; deleting nothing changes nothing', async () => {
      const store = getStore();
      await store.putEventType('a.b', spec('x'), T);
      await store.putEventType('a.c', spec('y'), T);
      const before = await store.eventTypesVersion();
      expect(await store.deleteEventType('a.b', T + 1)).toBe(true);
      const after = await store.eventTypesVersion();
      expect(after).toBeGreaterThan(before);
      expect((await store.listEventTypes()).types.map((t) => t.name)).toEqual(['a.c']);
      expect(await store.deleteEventType('a.b', T + 2)).toBe(false);
      expect(await store.eventTypesVersion()).toBe(after);
    });

    it('keeps a spec as given: numbers, nested schemas and null examples', async () => {
      const store = getStore();
      const given = { description: 'd', schema: { $defs: { n: { type: 'number', minimum: 0.5 } }, $ref: '#/$defs/n' }, example: null };
      await store.putEventType('n.v', given, T);
      expect((await store.listEventTypes()).types[0]?.spec).toEqual(given);
    });
  });
}
