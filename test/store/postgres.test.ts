import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/store/postgres/connect';
import { createPostgresStore } from '../../src/store/postgres/postgres-store';
import { describeStoreContract } from './contract';
import { result } from './fixtures';
import { recordingHooks } from './operational-contract';
import type { OperationalHooks } from '../../src/store/types';

/*
 * The shared Store contract against the real Postgres (HOOKRELAY_TEST_POSTGRES_URL, set by
 * .ci/run; the machine's local server otherwise), each store in a fresh schema of its own.
 */

const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: URL, max: 2 });
const schemas: string[] = [];

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await admin.end();
});

describeStoreContract('postgres', async () => {
  const schema = `hookrelay_contract_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  schemas.push(schema);
  return createPostgresStore({ url: URL, schema, maxConnections: 4, time: 'caller' });
});

describe('Postgres store: several instances on one database', () => {
  async function twoStores(time: 'database' | 'caller' = 'database') {
    const schema = `hookrelay_multi_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    schemas.push(schema);
    const a = createPostgresStore({ url: URL, schema, maxConnections: 4, time });
    const b = createPostgresStore({ url: URL, schema, maxConnections: 4, time });
    await Promise.all([a.migrate(), b.migrate()]);
    return { a, b, schema, close: () => Promise.all([a.close(), b.close()]) };
  }
  const event = (id: string, subscriptionIds = ['s']) => ({
    id,
    type: 't',
    data: '{}',
    contentHash: `h-${id}`,
    createdAt: Date.now(),
    subscriptionIds,
  });

  it('erases a tenant from two instances at once, counting every row once, and deletes its tokens', async () => {
    const { a, b, schema, close } = await twoStores('caller');
    try {
      await a.createTenantToken({ id: 'tok_1', tenant: 'acct_t', name: 'n', scopes: ['read'], hash: 'h', createdAt: 1, expiresAt: null });
      await a.createTenantToken({ id: 'tok_2', tenant: 'acct_o', name: 'n', scopes: ['read'], hash: 'h', createdAt: 1, expiresAt: null });
      await a.ingest(Array.from({ length: 120 }, (_, i) => [{ ...event(`t${i}`, ['s', 'p']), tenant: 'acct_t' }]));
      await a.startTenantErasure('acct_t', 1);
      const eraseAll = async (store: typeof a) => {
        for (;;) if ((await store.eraseTenantBatch('acct_t', 7, 2))?.state === 'done') return;
      };
      await Promise.all([eraseAll(a), eraseAll(b)]);
      expect(await b.getTenantErasure('acct_t')).toMatchObject({ state: 'done', events: 120, deliveries: 240, attempts: 0 });
      expect((await admin.query(`SELECT id FROM ${quoteIdent(schema)}.tenant_tokens`)).rows).toEqual([{ id: 'tok_2' }]);
      expect(await a.getTenant('acct_t')).toBeNull();
    } finally {
      await close();
    }
  });

  it.each([
    ['without', false],
    ['with', true],
  ])('erases an ingest of a tenant %s a record that was still writing when the erasure started', async (_, recorded) => {
    const { a, b, schema, close } = await twoStores('caller');
    const s = quoteIdent(schema);
    try {
      if (recorded)
        await a.putTenant({ id: 'acct_race', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null }, 1);
      // The ingest's insert of this tenant's event pauses inside its transaction, after the tenants were read.
      await admin.query(`CREATE FUNCTION ${s}.pause_race() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.tenant = 'acct_race' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$`);
      await admin.query(`CREATE TRIGGER pause_race BEFORE INSERT ON ${s}.events FOR EACH ROW EXECUTE FUNCTION ${s}.pause_race()`);
      const ingest = a.ingest([[{ ...event('race-1', ['s']), tenant: 'acct_race' }]]);
      for (;;) {
        const { rows } = await admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%INSERT INTO events%'`,
        );
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // The other instance erases the tenant while that ingest is paused.
      await b.startTenantErasure('acct_race', 2);
      for (;;) if ((await b.eraseTenantBatch('acct_race', 10, 3))?.state === 'done') break;
      expect(await ingest).toMatchObject([{ kind: 'ok' }]);
      expect((await admin.query(`SELECT id FROM ${s}.events`)).rows).toEqual([]);
      expect((await admin.query(`SELECT id FROM ${s}.deliveries`)).rows).toEqual([]);
      expect(await b.getTenantErasure('acct_race')).toMatchObject({ state: 'done', events: 1, deliveries: 1 });
      // An ingest that arrives while the erasure runs is refused.
      await b.startTenantErasure('acct_race', 4);
      expect(await a.ingest([[{ ...event('race-2', ['s']), tenant: 'acct_race' }]])).toEqual([
        { kind: 'tenant_erasing', tenant: 'acct_race' },
      ]);
    } finally {
      await close();
    }
  });

  it('emits each operational occurrence once when two instances race for it', async () => {
    const { a, b, close } = await twoStores('caller');
    try {
      const now = Date.now();
      // Twenty failing attempts finished on both instances at once: the streak passes failing_after (5) once.
      await a.ingest(Array.from({ length: 20 }, (_, i) => [{ ...event(`f${i}`), createdAt: now - 10_000 }]));
      const leasedA = await a.claim([{ subscriptionId: 's', limit: 10, leaseExpiresAt: now + 60_000 }], 'A', now);
      const leasedB = await b.claim([{ subscriptionId: 's', limit: 10, leaseExpiresAt: now + 60_000 }], 'B', now);
      const ha = recordingHooks({ failingAfter: 5 });
      const hb = recordingHooks({ failingAfter: 5 });
      const fail = (store: typeof a, owner: string, ids: string[], hooks: OperationalHooks) =>
        Promise.all(ids.map((id) => store.complete([result(id, owner, { status: 'failed' }, { subscriptionId: 's' })], now, hooks)));
      await Promise.all([
        fail(
          a,
          'A',
          leasedA.map((d) => d.id),
          ha.hooks,
        ),
        fail(
          b,
          'B',
          leasedB.map((d) => d.id),
          hb.hooks,
        ),
      ]);
      const all = () => [...ha.occurrences, ...hb.occurrences];
      expect(all().filter((o) => o.type === 'hookrelay.subscription.failing')).toHaveLength(1);
      // Every delivery that failed for good is reported exactly once.
      const reports = () => all().filter((o) => o.type === 'hookrelay.delivery.failed') as { count: number }[];
      await Promise.all([a.reportFailedDeliveries(now + 61_000, ha.hooks), b.reportFailedDeliveries(now + 61_000, hb.hooks)]);
      expect(reports().reduce((n, o) => n + o.count, 0)).toBe(20);
      // The first report went out at once; the rest waited for the window, then went in one more.
      expect(reports()).toHaveLength(2);

      // A late backlog, looked at by both at once: announced once.
      await a.ingest([[{ ...event('late', ['late']), createdAt: now - 60_000 }]]);
      const [x, y] = await Promise.all([a.checkBacklog(now, 1000, ha.hooks), b.checkBacklog(now, 1000, hb.hooks)]);
      expect(x + y).toBe(1);
      // And a disable asked on both at once.
      await Promise.all([
        a.setSubscriptionEnabled('late', false, 'r', now, ha.hooks),
        b.setSubscriptionEnabled('late', false, 'r', now, hb.hooks),
      ]);
      expect(all().filter((o) => o.type === 'hookrelay.subscription.disabled')).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('never leases one delivery to two instances claiming at the same time', async () => {
    const { a, b, close } = await twoStores();
    try {
      await a.ingest(Array.from({ length: 200 }, (_, i) => [event(`e${i}`)]));
      const claimAll = async (store: typeof a, owner: string) => {
        const ids: string[] = [];
        for (;;) {
          const got = await store.claim([{ subscriptionId: 's', limit: 7, leaseExpiresAt: Date.now() + 60_000 }], owner, Date.now());
          if (got.length === 0) return ids;
          ids.push(...got.map((d) => d.id));
        }
      };
      const [fromA, fromB] = await Promise.all([claimAll(a, 'A'), claimAll(b, 'B')]);
      expect(fromA.length + fromB.length).toBe(200);
      expect(new Set([...fromA, ...fromB]).size).toBe(200);
      expect(fromA.length).toBeGreaterThan(0);
      expect(fromB.length).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });

  it('answers concurrent ingests of one id from two instances as one event (the unique key decides)', async () => {
    const { a, b, close } = await twoStores();
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).ingest([[event('same')]])));
      const created = answers.flatMap((r) => (r[0]!.kind === 'ok' ? r[0]!.events : [])).filter((e) => e.created);
      expect(created).toHaveLength(1);
      expect(await a.listDeliveriesOfEvent('same')).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('compares leases and due times on the database clock: a caller an hour ahead claims nothing early and takes no live lease', async () => {
    const { a, b, close } = await twoStores();
    const HOUR = 3_600_000;
    try {
      await a.ingest([[event('e1', ['s'])], [event('e2', ['t'])]]);
      // e1 fails once and is due again in ten minutes.
      const [d1] = await a.claim([{ subscriptionId: 's', limit: 1, leaseExpiresAt: Date.now() + 30_000 }], 'A', Date.now());
      const retry = { status: 'retrying' as const, nextAttemptAt: Date.now() + 10 * 60_000 };
      const record = {
        id: 'att_1',
        attempt: 1,
        startedAt: Date.now(),
        durationMs: 5,
        requestUrl: 'http://x',
        requestHeaders: {},
        responseStatus: 500,
        responseHeaders: {},
        responseBody: '',
        error: 'HTTP 500',
      };
      expect(await a.complete([{ deliveryId: d1!.id, subscriptionId: 's', leaseOwner: 'A', next: retry, record }], Date.now())).toEqual([
        true,
      ]);
      // B's clock runs an hour ahead: by its clock e1 is due, by the database's it is not.
      expect(
        await b.claim([{ subscriptionId: 's', limit: 1, leaseExpiresAt: Date.now() + HOUR + 30_000 }], 'B', Date.now() + HOUR),
      ).toEqual([]);
      // A holds e2 with a 30 s lease; B's clock says it expired long ago; the database's does not.
      const [d2] = await a.claim([{ subscriptionId: 't', limit: 1, leaseExpiresAt: Date.now() + 30_000 }], 'A', Date.now());
      expect(await b.rescueExpired(Date.now() + HOUR)).toBe(0);
      expect((await b.getDelivery(d2!.id))?.status).toBe('delivering');
      // And B's timer hears of e1's due time on its own clock: about an hour and ten minutes from its now.
      const due = await b.nextDueAt(['s']);
      expect(due! - Date.now()).toBeGreaterThan(9 * 60_000);
    } finally {
      await close();
    }
  });

  it('lets another instance take over an expired lease, and rejects the late result of the first', async () => {
    const { a, b, close } = await twoStores();
    try {
      await a.ingest([[event('e1')]]);
      const [held] = await a.claim([{ subscriptionId: 's', limit: 1, leaseExpiresAt: Date.now() + 100 }], 'A', Date.now());
      await new Promise((r) => setTimeout(r, 250));
      expect(await b.rescueExpired(Date.now())).toBe(1);
      const [taken] = await b.claim([{ subscriptionId: 's', limit: 1, leaseExpiresAt: Date.now() + 30_000 }], 'B', Date.now());
      expect(taken?.id).toBe(held!.id);
      const record = (id: string) => ({
        id,
        attempt: 1,
        startedAt: Date.now(),
        durationMs: 5,
        requestUrl: 'http://x',
        requestHeaders: {},
        responseStatus: 200,
        responseHeaders: {},
        responseBody: 'ok',
        error: null,
      });
      expect(
        await a.complete(
          [{ deliveryId: held!.id, subscriptionId: 's', leaseOwner: 'A', next: { status: 'succeeded' }, record: record('att_a') }],
          Date.now(),
        ),
      ).toEqual([false]);
      expect(
        await b.complete(
          [{ deliveryId: held!.id, subscriptionId: 's', leaseOwner: 'B', next: { status: 'succeeded' }, record: record('att_b') }],
          Date.now(),
        ),
      ).toEqual([true]);
      expect((await a.listAttempts(held!.id)).map((x) => x.id)).toEqual(['att_b']);
    } finally {
      await close();
    }
  });

  it('wakes every other instance when one ingests (LISTEN/NOTIFY), naming the subscriptions; not itself', async () => {
    const { a, b, close } = await twoStores();
    try {
      const heardByA: (string[] | undefined)[] = [];
      const heardByB: (string[] | undefined)[] = [];
      const stopA = a.onWork!((ids) => heardByA.push(ids));
      const stopB = b.onWork!((ids) => heardByB.push(ids));
      // The listening connections open in the background; ingest until each hears one of the other's.
      for (let i = 0; i < 50 && (heardByA.length === 0 || heardByB.length === 0); i++) {
        await a.ingest([[event(`n${i}`, ['s-of-a'])]]);
        await b.ingest([[event(`m${i}`, ['s-of-b'])]]);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Each one's process nudged its own dispatcher when it committed: its listener skips its own.
      expect(heardByB.length).toBeGreaterThan(0);
      expect(heardByA.length).toBeGreaterThan(0);
      expect(new Set(heardByB.flat())).toEqual(new Set(['s-of-a']));
      expect(new Set(heardByA.flat())).toEqual(new Set(['s-of-b']));
      stopA();
      stopB();
    } finally {
      await close();
    }
  });

  it('tells every instance of a subscription change: the log shows it, and the listener fires within a second', async () => {
    const { a, b, close } = await twoStores();
    try {
      let heard = 0;
      const stop = b.onSubscriptionChange!(() => heard++);
      // Work notifications go to the other channel: they must not count here.
      const stopWork = b.onWork!(() => undefined);
      const seen = await b.latestSubscriptionChange();
      // The listening connection opens in the background; change until it hears one.
      for (let i = 0; i < 50 && heard === 0; i++) {
        await a.ingest([[event(`w${i}`)]]);
        await a.setSubscriptionEnabled(`sub-${i}`, false, 'paused', Date.now());
        const changedAt = Date.now();
        while (heard === 0 && Date.now() - changedAt < 1000) await new Promise((r) => setTimeout(r, 10));
      }
      expect(heard).toBeGreaterThan(0);
      const changes = await b.subscriptionChangesSince(seen);
      expect(changes.truncated).toBe(false);
      expect(changes.ids).toContain('sub-0');
      expect(changes.seq).toBe(await a.latestSubscriptionChange());
      expect((await b.getSubscriptionStates(changes.ids)).every((s) => s.enabled === false)).toBe(true);

      // Once listening, one change is one wake-up, well within a second.
      heard = 0;
      await a.insertApiSubscription('api-new', { url: 'https://new.example' }, Date.now());
      const at = Date.now();
      while (heard === 0 && Date.now() - at < 1000) await new Promise((r) => setTimeout(r, 5));
      expect(heard).toBe(1);
      expect((await b.subscriptionChangesSince(changes.seq)).ids).toEqual(['api-new']);
      expect(await b.getApiSubscription('api-new')).toMatchObject({ spec: { url: 'https://new.example' } });
      stop();
      stopWork();
    } finally {
      await close();
    }
  });
  it('tells every instance of an event type catalog change on its own channel, and the version says it moved', async () => {
    const { a, b, close } = await twoStores();
    try {
      let heard = 0;
      const stop = b.onEventTypeChange!(() => heard++);
      const stopSubs = b.onSubscriptionChange!(() => undefined);
      const before = await b.eventTypesVersion();
      // The listening connection opens in the background; change until it hears one.
      for (let i = 0; i < 50 && heard === 0; i++) {
        await a.setSubscriptionEnabled(`sub-${i}`, false, 'paused', Date.now()); // another channel: not counted
        await a.putEventType(`t.n${i}`, { description: 'x' }, Date.now());
        const changedAt = Date.now();
        while (heard === 0 && Date.now() - changedAt < 1000) await new Promise((r) => setTimeout(r, 10));
      }
      expect(heard).toBeGreaterThan(0);
      const catalog = await b.listEventTypes();
      expect(catalog.version).toBeGreaterThan(before);
      expect(catalog.types.map((t) => t.name)).toContain('t.n0');
      stop();
      stopSubs();
    } finally {
      await close();
    }
  });
});

describe('Postgres store: scheduling across instances', () => {
  async function twoStores() {
    const schema = `hookrelay_sched_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    schemas.push(schema);
    const a = createPostgresStore({ url: URL, schema, maxConnections: 4 });
    const b = createPostgresStore({ url: URL, schema, maxConnections: 4 });
    await Promise.all([a.migrate(), b.migrate()]);
    return { a, b, close: () => Promise.all([a.close(), b.close()]) };
  }
  const event = (id: string) => ({ id, type: 't', data: '{}', contentHash: `h-${id}`, createdAt: Date.now(), subscriptionIds: ['s'] });

  it('spends one rate_limit bucket per subscription for all instances', async () => {
    const { a, b, close } = await twoStores();
    try {
      await a.ingest(Array.from({ length: 30 }, (_, i) => [event(`e${i}`)]));
      // 50 an hour: a burst of 5 (a tenth, as the dispatcher's own limiter), no refill during the test.
      const rateLimit = { limit: 50, perMs: 3_600_000, burst: 5 };
      const claim = (store: typeof a, owner: string) =>
        store.claim([{ subscriptionId: 's', limit: 4, leaseExpiresAt: Date.now() + 60_000, rateLimit }], owner, Date.now());
      const rounds = await Promise.all([claim(a, 'A'), claim(b, 'B'), claim(a, 'A'), claim(b, 'B')]);
      expect(rounds.flat()).toHaveLength(5);
      expect(new Set(rounds.flat().map((d) => d.id)).size).toBe(5);
    } finally {
      await close();
    }
  });

  it('hands a fifo head to one instance only, and the next only after it finished', async () => {
    const { a, b, close } = await twoStores();
    try {
      await a.ingest([[event('first')], [event('second')]]);
      const fifo = (store: typeof a, owner: string) =>
        store.claim([{ subscriptionId: 's', limit: 5, leaseExpiresAt: Date.now() + 60_000, fifo: true }], owner, Date.now());
      const [fromA, fromB] = await Promise.all([fifo(a, 'A'), fifo(b, 'B')]);
      const got = [...fromA, ...fromB];
      expect(got.map((d) => d.event.id)).toEqual(['first']);
      expect(await fifo(b, 'B')).toEqual([]); // held by the head in flight
      const owner = fromA.length === 1 ? 'A' : 'B';
      const record = {
        id: 'att_f',
        attempt: 1,
        startedAt: Date.now(),
        durationMs: 1,
        requestUrl: 'http://x',
        requestHeaders: {},
        responseStatus: 200,
        responseHeaders: {},
        responseBody: 'ok',
        error: null,
      };
      expect(
        await (owner === 'A' ? a : b).complete(
          [{ deliveryId: got[0]!.id, subscriptionId: 's', leaseOwner: owner, next: { status: 'succeeded' }, record }],
          Date.now(),
        ),
      ).toEqual([true]);
      expect((await fifo(b, 'B')).map((d) => d.event.id)).toEqual(['second']);
    } finally {
      await close();
    }
  });
});

describe('Postgres store: tenants across instances', () => {
  it('puts one new tenant once when two instances race, and refuses ingest and puts while it is erased', async () => {
    const schema = `hookrelay_tenants_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    schemas.push(schema);
    const a = createPostgresStore({ url: URL, schema, maxConnections: 4, time: 'caller' });
    const b = createPostgresStore({ url: URL, schema, maxConnections: 4, time: 'caller' });
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      const tenant = { id: 'acct_1', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null };
      const outcomes = await Promise.all([a.putTenant(tenant, 1), b.putTenant({ ...tenant, name: 'B' }, 2)]);
      expect(outcomes.sort()).toEqual(['created', 'replaced']);

      await admin.query(`UPDATE ${quoteIdent(schema)}.tenants SET state = 'erasing' WHERE id = 'acct_1'`);
      expect(await b.putTenant(tenant, 3)).toBe('erasing');
      const event = { id: 'evt_1', type: 't', data: '{}', contentHash: 'h', createdAt: 5, tenant: 'acct_1', subscriptionIds: ['p'] };
      expect(await a.ingest([[event]])).toEqual([{ kind: 'tenant_erasing', tenant: 'acct_1' }]);
      expect(await b.getEvent('evt_1')).toBeNull();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
