import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema';
import { compileTarget, deliveryDefaults } from './target';
import type { SubscriptionDefinition } from './definition';

const config = configSchema.parse({
  storage: { sqlite: { path: ':memory:' } },
  delivery: { timeout: '60s', retry_schedule: ['1m', '1h', '2d', '2d', '2d'] },
  tenants: { subscription_bounds: { timeout: '20s', retries: 3, max_delay: '1d', max_in_flight: 4 } },
});
const def = (extra: Partial<SubscriptionDefinition> = {}) =>
  ({
    id: 'sub_x',
    url: 'https://t.example/hooks',
    events: ['*'],
    enabled: true,
    signature: { scheme: 'none', previous_secrets: [] },
    headers: {},
    payload: 'envelope',
    encrypt: false,
    ...extra,
  }) as unknown as SubscriptionDefinition;

describe('what a subscription gets of delivery.* defaults', () => {
  it("holds a tenant's subscription that leaves timeout, retries and max_in_flight to delivery.* to tenants.subscription_bounds", () => {
    const t = compileTarget({ def: def(), source: 'api', tenant: 'acct_1' }, deliveryDefaults(config), undefined);
    expect(t.timeoutMs).toBe(20_000);
    expect(t.policy.scheduleMs).toEqual([60_000, 3_600_000, 86_400_000]);
    expect(t.maxInFlight).toBe(4);
  });

  it('gives a platform subscription the delivery.* defaults as they are', () => {
    const t = compileTarget({ def: def(), source: 'api' }, deliveryDefaults(config), undefined);
    expect(t.timeoutMs).toBe(60_000);
    expect(t.policy.scheduleMs).toHaveLength(5);
    expect(t.maxInFlight).toBe(64);
  });
});
