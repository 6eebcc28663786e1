import { describe, expect, it } from 'vitest';
import type { Store, TenantTokenInput } from '../../src/store/types';
import { T } from './fixtures';

/*
 * Tenant tokens in the Store contract (SPEC 9): create, list by tenant, revoke within the tenant,
 * find by id, and last_used_at written at most once a minute. Runs inside describeStoreContract.
 */

const token = (id: string, overrides: Partial<TenantTokenInput> = {}): TenantTokenInput => ({
  id,
  tenant: 'acct_a',
  name: `token ${id}`,
  scopes: ['read', 'write'],
  hash: 'a'.repeat(64),
  createdAt: T,
  expiresAt: null,
  ...overrides,
});

export function describeTenantTokensContract(getStore: () => Store): void {
  describe('tenant tokens', () => {
    it('creates, finds by id and lists by tenant in id order', async () => {
      const store = getStore();
      expect(await store.findTenantToken('tk1')).toBeNull();
      await store.createTenantToken(token('tk2', { scopes: ['read'], expiresAt: T + 1000 }));
      await store.createTenantToken(token('tk1'));
      await store.createTenantToken(token('tk3', { tenant: 'acct_b' }));
      expect(await store.findTenantToken('tk2')).toEqual({ ...token('tk2', { scopes: ['read'], expiresAt: T + 1000 }), lastUsedAt: null });
      expect((await store.listTenantTokens('acct_a')).map((t) => t.id)).toEqual(['tk1', 'tk2']);
      expect((await store.listTenantTokens('acct_b')).map((t) => t.id)).toEqual(['tk3']);
      expect(await store.listTenantTokens('acct_c')).toEqual([]);
    });

    it("revokes only within the token's tenant", async () => {
      const store = getStore();
      await store.createTenantToken(token('tk1'));
      expect(await store.revokeTenantToken('acct_b', 'tk1')).toBe(false);
      expect(await store.findTenantToken('tk1')).not.toBeNull();
      expect(await store.revokeTenantToken('acct_a', 'tk1')).toBe(true);
      expect(await store.findTenantToken('tk1')).toBeNull();
      expect(await store.revokeTenantToken('acct_a', 'tk1')).toBe(false);
    });

    it('writes last_used_at when it is null or at least a minute old, not more often', async () => {
      const store = getStore();
      await store.createTenantToken(token('tk1'));
      expect(await store.touchTenantToken('tk1', T + 10)).toBe(true);
      expect(await store.touchTenantToken('tk1', T + 59_999)).toBe(false);
      expect((await store.findTenantToken('tk1'))?.lastUsedAt).toBe(T + 10);
      expect(await store.touchTenantToken('tk1', T + 60_010)).toBe(true);
      expect((await store.findTenantToken('tk1'))?.lastUsedAt).toBe(T + 60_010);
      expect(await store.touchTenantToken('unknown', T)).toBe(false);
    });
  });
}
