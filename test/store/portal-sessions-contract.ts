import { describe, expect, it } from 'vitest';
import type { PortalLinkInput, Store } from '../../src/store/types';
import { T } from './fixtures';

/*
 * Portal links and sessions in the Store contract (SPEC 10): a link is used once, never after it
 * expires; a session is found by its hash until the tenant's sessions are ended or it is erased.
 * Runs inside describeStoreContract.
 */

const HOUR = 3_600_000;
const link = (id: string, overrides: Partial<PortalLinkInput> = {}): PortalLinkInput => ({
  id,
  tenant: 'acct_a',
  scopes: ['read', 'write'],
  linkHash: `link-${id}`,
  createdAt: T,
  expiresAt: T + HOUR,
  ...overrides,
});

export function describePortalSessionsContract(getStore: () => Store): void {
  describe('portal links and sessions', () => {
    it('exchanges a link once for a session with its tenant, scopes and expiry', async () => {
      const store = getStore();
      await store.createPortalLink(link('p1', { scopes: ['read'] }));
      expect(await store.findPortalSession('session-1')).toBeNull();
      const session = await store.openPortalSession('link-p1', 'session-1', T + 10);
      expect(session).toEqual({
        id: 'p1',
        tenant: 'acct_a',
        scopes: ['read'],
        sessionHash: 'session-1',
        openedAt: T + 10,
        expiresAt: T + HOUR,
      });
      expect(await store.openPortalSession('link-p1', 'session-2', T + 20)).toBeNull();
      expect(await store.findPortalSession('session-1')).toEqual(session);
      expect(await store.findPortalSession('session-2')).toBeNull();
    });

    it('lets exactly one of several exchanges of one link win', async () => {
      const store = getStore();
      await store.createPortalLink(link('p2'));
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.openPortalSession('link-p2', `session-race-${i}`, T + 1)),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('refuses an expired or unknown link', async () => {
      const store = getStore();
      await store.createPortalLink(link('p3'));
      expect(await store.openPortalSession('link-p3', 'session-3', T + HOUR)).toBeNull();
      expect(await store.openPortalSession('link-none', 'session-4', T)).toBeNull();
    });

    it("ends every session and unused link of one tenant, and no other tenant's", async () => {
      const store = getStore();
      await store.createPortalLink(link('a1'));
      await store.createPortalLink(link('a2'));
      await store.createPortalLink(link('b1', { tenant: 'acct_b' }));
      await store.openPortalSession('link-a1', 'session-a1', T);
      await store.openPortalSession('link-b1', 'session-b1', T);
      expect(await store.endPortalSessions('acct_a')).toBe(2);
      expect(await store.findPortalSession('session-a1')).toBeNull();
      expect(await store.openPortalSession('link-a2', 'session-a2', T)).toBeNull();
      expect(await store.findPortalSession('session-b1')).not.toBeNull();
    });

    it("forgets a tenant's expired rows when it makes a new link", async () => {
      const store = getStore();
      await store.createPortalLink(link('old'));
      await store.openPortalSession('link-old', 'session-old', T);
      await store.createPortalLink(link('new', { createdAt: T + HOUR, expiresAt: T + 2 * HOUR }));
      expect(await store.findPortalSession('session-old')).toBeNull();
    });

    it('erasing the tenant deletes its links and sessions with its first batch', async () => {
      const store = getStore();
      await store.createPortalLink(link('e1', { tenant: 'acct_e' }));
      await store.createPortalLink(link('e2', { tenant: 'acct_e' }));
      await store.createPortalLink(link('k1', { tenant: 'acct_k' }));
      await store.openPortalSession('link-e1', 'session-e1', T);
      await store.openPortalSession('link-k1', 'session-k1', T);
      await store.startTenantErasure('acct_e', T);
      await store.eraseTenantBatch('acct_e', 1, T);
      expect(await store.findPortalSession('session-e1')).toBeNull();
      expect(await store.openPortalSession('link-e2', 'session-e2', T)).toBeNull();
      expect(await store.findPortalSession('session-k1')).not.toBeNull();
    });
  });
}
