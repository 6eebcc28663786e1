import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { ConfigError } from '../src/config/errors';
import { parseConfigText } from '../src/config/load';
import { silentLogger } from '../src/lib/logger';
import { quoteIdent } from '../src/store/postgres/connect';
import { createPostgresStore } from '../src/store/postgres/postgres-store';
import { adminClient, type AdminCall } from './helpers/admin-client';
import { type Receiver, startReceiver } from './helpers/receiver';
import { eventually, startRelay, testConfig, type RunningRelay } from './helpers/relay';

/*
 * The event type catalog (SPEC 11) against a real relay on a real SQLite file: schemas enforced at
 * ingest (single and batch, nothing stored on a violation), unknown types under reject, the catalog
 * over the API with tenant credentials, config and built-in types read-only, invalid definitions
 * refused (config with their line, API with every problem), patterns in linear time, catalog
 * examples as test events, and a change on one Postgres-backed relay in force on another.
 */

const OPS = 'ops-token-0123456789';
const INGEST = 'ingest-token-0123456789';

const invoicePaid = {
  name: 'invoice.paid',
  description: 'The invoice has been fully paid.',
  schema: {
    type: 'object',
    required: ['invoice_id', 'amount'],
    properties: { invoice_id: { type: 'string' }, amount: { type: 'string', pattern: '^[0-9]+\\.[0-9]{2}$' } },
  },
  example: { invoice_id: 'inv_123', amount: '250.00' },
};

let relay: RunningRelay | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function start(raw: Record<string, unknown> = {}) {
  relay = await startRelay(
    testConfig({
      auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      event_types: [invoicePaid],
      ...raw,
    }),
  );
  return { relay, ops: adminClient(() => relay!.url, OPS) };
}

const ingest = (path: string, body: unknown) => relay!.post(path, body, { authorization: `Bearer ${INGEST}` });

async function storedEvents(): Promise<number> {
  return (await relay!.store.listEvents({ limit: 500 })).data.length;
}

describe('ingest against the catalog', () => {
  it('refuses data that breaks its type schema with every violation at its path, and stores nothing', async () => {
    await start();
    const single = await ingest('/ingest', { type: 'invoice.paid', data: { amount: 250, extra: true } });
    expect(single.status).toBe(400);
    expect(single.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await single.json()) as { status: number; detail: string; errors: { path: string; message: string }[] };
    expect(problem.status).toBe(400);
    expect(problem.detail).toMatch(/nothing was stored/);
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { path: 'data.invoice_id', message: 'is required' },
        { path: 'data.amount', message: 'must be string' },
      ]),
    );

    const good = { type: 'invoice.paid', data: invoicePaid.example };
    const batch = await ingest('/ingest/batch', {
      events: [
        good,
        { type: 'order.created', data: { any: 'thing' } },
        good,
        { type: 'invoice.paid', data: { invoice_id: 'inv_9', amount: '1.5' } },
      ],
    });
    expect(batch.status).toBe(400);
    const batchProblem = (await batch.json()) as { errors: { path: string; message: string }[] };
    expect(batchProblem.errors).toEqual([{ path: 'events[3].data.amount', message: 'must match pattern "^[0-9]+\\.[0-9]{2}$"' }]);
    expect(await storedEvents()).toBe(0);

    // A missing `data` is `{}`, judged like any other.
    const none = await ingest('/ingest', { type: 'invoice.paid' });
    expect(((await none.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual([
      'data.amount',
      'data.invoice_id',
    ]);
    expect(await storedEvents()).toBe(0);

    expect((await ingest('/ingest', good)).status).toBe(202);
    expect((await ingest('/ingest/batch', { events: [good, { type: 'not.cataloged', data: 1 }] })).status).toBe(202);
    expect(await storedEvents()).toBe(3);
  });

  it('refuses types outside the catalog under ingest.unknown_types: reject, and still refuses hookrelay.* types', async () => {
    await start({ ingest: { unknown_types: 'reject' } });
    const single = await ingest('/ingest', { type: 'order.created', data: {} });
    expect(single.status).toBe(400);
    expect(((await single.json()) as { errors: unknown[] }).errors).toEqual([
      { path: 'type', message: "'order.created' is not in the event type catalog (ingest.unknown_types is reject)" },
    ]);
    const batch = await ingest('/ingest/batch', {
      events: [
        { type: 'invoice.paid', data: invoicePaid.example },
        { type: 'order.created', data: {} },
      ],
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['events[1].type']);
    expect(await storedEvents()).toBe(0);
    expect((await ingest('/ingest', { type: 'invoice.paid', data: invoicePaid.example })).status).toBe(202);
    // Built-in catalog entries are still the relay's own.
    expect((await ingest('/ingest', { type: 'hookrelay.subscription.failing', data: {} })).status).toBe(400);
  });

  it('runs a catastrophic-backtracking pattern in linear time: the relay answers', async () => {
    const { ops } = await start();
    const put = await ops('PUT', '/event-types/text.posted', {
      schema: {
        type: 'object',
        properties: { text: { type: 'string', pattern: '^(a+)+$' } },
        patternProperties: { '^(x|x)*y$': { type: 'number' } },
      },
    });
    expect(put.status).toBe(201);
    const hostile = `${'a'.repeat(50_000)}!`;
    const res = await ingest('/ingest', { type: 'text.posted', data: { text: hostile, [`${'x'.repeat(30_000)}y`]: 'no' } });
    expect(res.status).toBe(400);
    const paths = ((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
    expect(paths).toContain('data.text');
    expect((await ingest('/ingest', { type: 'text.posted', data: { text: 'aaaa' } })).status).toBe(202);
  });
});

describe('the catalog over the API', () => {
  it('lists config, API and built-in types by name with cursor pages; PUT creates then replaces; DELETE removes', async () => {
    const { ops } = await start();
    const created = await ops('PUT', '/event-types/order.created', { description: 'An order was placed.', example: { id: 'ord_1' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'order.created',
      source: 'api',
      example: { id: 'ord_1' },
      deprecated: false,
      internal: false,
    });
    const replaced = await ops('PUT', '/event-types/order.created', { name: 'order.created', description: 'Placed.', deprecated: true });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ description: 'Placed.', deprecated: true });
    expect(replaced.body.example).toBeUndefined();

    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { name: string }[]; next_cursor: string | null } } = await ops(
        'GET',
        `/event-types?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      names.push(...page.body.data.map((t) => t.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(names).toEqual([
      'hookrelay.backlog.delayed',
      'hookrelay.delivery.failed',
      'hookrelay.subscription.disabled',
      'hookrelay.subscription.failing',
      'hookrelay.subscription.recovered',
      'invoice.paid',
      'order.created',
    ]);
    const builtin = await ops('GET', '/event-types/hookrelay.subscription.failing');
    expect(builtin.body).toMatchObject({ source: 'builtin', example: expect.any(Object), description: expect.any(String) });

    expect((await ops('DELETE', '/event-types/order.created')).status).toBe(204);
    expect((await ops('GET', '/event-types/order.created')).status).toBe(404);
    expect((await ops('DELETE', '/event-types/order.created')).status).toBe(404);
    const audit = await ops('GET', '/audit');
    expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['event_type.create', 'event_type.replace', 'event_type.delete']),
    );
  });

  it('keeps config-declared and built-in types read-only (409)', async () => {
    const { ops } = await start();
    const put = await ops('PUT', '/event-types/invoice.paid', { description: 'mine now' });
    expect(put.status).toBe(409);
    expect(put.body.detail).toMatch(/config file/);
    expect((await ops('DELETE', '/event-types/invoice.paid')).status).toBe(409);
    expect((await ops('PUT', '/event-types/hookrelay.delivery.failed', {})).status).toBe(409);
    expect((await ops('DELETE', '/event-types/hookrelay.delivery.failed')).status).toBe(409);
    expect((await ops('PUT', '/event-types/hookrelay.mine', {})).status).toBe(400);
    expect((await ops('GET', '/event-types/invoice.paid')).body).toMatchObject({ source: 'config', description: invoicePaid.description });
  });

  it('lets tenant credentials read the catalog without internal types, and never write it', async () => {
    const { ops } = await start({ tenants: { allowed_networks: ['127.0.0.0/8'] } });
    expect((await ops('PUT', '/event-types/ledger.rebalanced', { description: 'ours alone', internal: true })).status).toBe(201);
    expect((await ops('PUT', '/tenants/acct_a', {})).status).toBe(201);
    const token = (await ops('POST', '/tenants/acct_a/tokens', { name: 'ci', scopes: ['read', 'write'] })).body.token as string;
    const tenant = adminClient(() => relay!.url, token);

    const listed = await tenant('GET', '/event-types?limit=500');
    expect(listed.status).toBe(200);
    const names = listed.body.data.map((t: { name: string }) => t.name);
    expect(names).toContain('invoice.paid');
    expect(names).not.toContain('ledger.rebalanced');
    expect((await tenant('GET', '/event-types/ledger.rebalanced')).status).toBe(404);
    expect((await ops('GET', '/event-types/ledger.rebalanced')).body).toMatchObject({ internal: true });
    expect((await tenant('PUT', '/event-types/tenant.made', { description: 'x' })).status).toBe(403);
    expect((await tenant('DELETE', '/event-types/ledger.rebalanced')).status).toBe(403);
    expect((await ops('GET', '/event-types/tenant.made')).status).toBe(404);

    // Nor does the tenant's own subscription get events of an internal type, whatever its patterns...
    const own = await tenant('POST', '/subscriptions', { url: 'http://127.0.0.1:9/a', events: ['*'] });
    expect(own.status).toBe(201);
    // ...and it cannot name one: the type does not exist for it.
    const named = await tenant('POST', '/subscriptions', { url: 'http://127.0.0.1:9/b', events: ['invoice.paid', 'ledger.rebalanced'] });
    expect(named.status).toBe(400);
    expect(named.body.errors).toEqual([{ path: 'events[1]', message: "no event type 'ledger.rebalanced' in the catalog" }]);
    expect((await tenant('PATCH', `/subscriptions/${own.body.id}`, { events: ['ledger.rebalanced'] })).status).toBe(400);
    expect(
      (await ops('POST', '/subscriptions', { tenant: 'acct_a', url: 'http://127.0.0.1:9/c', events: ['ledger.rebalanced'] })).status,
    ).toBe(400);
    const internal = await ingest('/ingest', { type: 'ledger.rebalanced', tenant: 'acct_a', data: {} });
    expect(await internal.json()).toMatchObject({ deliveries: 0 });
    const visible = await ingest('/ingest', { type: 'ledger.opened', tenant: 'acct_a', data: {} });
    expect(await visible.json()).toMatchObject({ deliveries: 1 });

    // The OpenAPI document, which tenant credentials read too, describes the public types only.
    const doc = (await tenant('GET', '/openapi.json')).body;
    expect(doc.components.schemas['EventData.invoice.paid']).toMatchObject({
      required: ['invoice_id', 'amount'],
      examples: [invoicePaid.example],
    });
    expect(doc.webhooks['invoice.paid'].post.requestBody.content['application/json'].schema.properties.data).toEqual({
      $ref: '#/components/schemas/EventData.invoice.paid',
    });
    expect(doc.webhooks['ledger.rebalanced']).toBeUndefined();
    expect(JSON.stringify(doc)).not.toContain('ledger.rebalanced');
  });

  it('refuses an invalid schema, a remote $ref, a non-linear pattern and an example that fails its schema with 400', async () => {
    const { ops } = await start();
    const bad = await ops('PUT', '/event-types/bad.one', {
      schema: {
        type: 'object',
        properties: {
          amount: { type: 'money' },
          customer: { $ref: 'https://schemas.example.com/customer.json' },
          code: { pattern: '(?<=x)y' },
        },
      },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['schema.properties.customer.$ref', 'schema.properties.code.pattern']));
    expect(bad.body.errors.find((e: { path: string }) => e.path === 'schema.properties.customer.$ref').message).toMatch(
      /remote references are not allowed/,
    );

    const typo = await ops('PUT', '/event-types/bad.two', { schema: { type: 'object', properties: { amount: { type: 'money' } } } });
    expect(typo.status).toBe(400);
    expect(typo.body.errors.map((e: { path: string }) => e.path)).toEqual(['schema.properties.amount.type']);

    const example = await ops('PUT', '/event-types/bad.three', {
      schema: invoicePaid.schema,
      example: { invoice_id: 'inv_1', amount: 'lots' },
    });
    expect(example.status).toBe(400);
    expect(example.body.errors).toEqual([{ path: 'example.amount', message: expect.stringMatching(/does not match the schema/) }]);
    expect((await ops('GET', '/event-types/bad.three')).status).toBe(404);
  });
});

describe('event types in the config file', () => {
  const text = (body: string) => `auth: { ingest_tokens: [${INGEST}] }\nevent_types:\n${body}`;
  const problems = (yaml: string) => {
    try {
      parseConfigText(yaml, { env: {} });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('the config was accepted');
  };

  it('points an invalid schema, a remote $ref and a failing example at their lines', () => {
    const found = problems(
      text(`  - name: invoice.paid
    schema:
      type: object
      properties:
        amount: { type: money }
        customer: { $ref: "https://schemas.example.com/c.json" }
  - name: invoice.sent
    schema: { type: object, required: [id] }
    example: { number: 1 }
  - name: invoice.paid
`),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'event_types[0].schema.properties.amount.type', line: 7 }),
        expect.objectContaining({
          path: 'event_types[0].schema.properties.customer["$ref"]',
          line: 8,
          message: expect.stringMatching(/remote references/),
        }),
        expect.objectContaining({
          path: 'event_types[1].example.id',
          line: 11,
          message: expect.stringMatching(/does not match the schema/),
        }),
        expect.objectContaining({ path: 'event_types[2].name', line: 12, message: expect.stringMatching(/duplicate event type/) }),
      ]),
    );
  });

  it('refuses hookrelay.* names and unknown keys, and takes ingest.unknown_types', () => {
    expect(problems(text('  - { name: hookrelay.mine, colour: red }\n')).map((p) => p.path)).toEqual(
      expect.arrayContaining(['event_types[0].name', 'event_types[0].colour']),
    );
    const config = parseConfigText(`ingest: { unknown_types: reject }\n${text('  - { name: a.b, internal: true }\n')}`, { env: {} });
    expect(config.ingest.unknown_types).toBe('reject');
    expect(config.event_types).toEqual([{ name: 'a.b', deprecated: false, internal: true }]);
    expect(parseConfigText('{}', { env: {} }).ingest.unknown_types).toBe('accept');
  });
});

describe('config reload', () => {
  it('applies new config event types and ingest.unknown_types', async () => {
    const auth = { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] };
    const first = testConfig({ auth, event_types: [invoicePaid] });
    const next = { ...first, ...testConfig({ auth, event_types: [{ name: 'order.created' }], ingest: { unknown_types: 'reject' } }) };
    relay = await startRelay(first, { loadConfig: () => ({ ...next, storage: first.storage }) });
    const ops = adminClient(() => relay!.url, OPS);
    expect((await ingest('/ingest', { type: 'order.created', data: 1 })).status).toBe(202);
    expect((await ops('POST', '/reload')).status).toBe(200);
    expect((await ops('GET', '/event-types/invoice.paid')).status).toBe(404);
    expect((await ops('GET', '/event-types/order.created')).body).toMatchObject({ source: 'config' });
    expect((await ingest('/ingest', { type: 'invoice.paid', data: invoicePaid.example })).status).toBe(400);
    expect((await ingest('/ingest', { type: 'order.created', data: 1 })).status).toBe(202);
  });
});

describe('test events with a catalog example', () => {
  it("sends the type's example as data to the subscription; unknown, internal (for tenants) or example-less types are 400", async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const { ops } = await start({
      subscriptions: [{ id: 'billing', url: `${receiver.url}/billing`, events: ['order.*'], signature: { scheme: 'none' } }],
      // Tenants' endpoints are held to the blocked ranges (SPEC 9): the receiver is on loopback.
      tenants: { allowed_networks: ['127.0.0.0/8'] },
    });
    const sent = await ops('POST', '/subscriptions/billing/test', { event_type: 'invoice.paid' });
    expect(sent.status).toBe(202);
    const [request] = await relay!.until(async () => (receiver.received.length > 0 ? receiver.received : null));
    expect(request!.headers['x-hookrelay-event']).toBe('invoice.paid');
    const body = JSON.parse(request!.body) as { id: string; type: string; data: unknown };
    expect(body).toMatchObject({ id: sent.body.event_id, type: 'invoice.paid', test: true, data: invoicePaid.example });
    expect(request!.headers['x-hookrelay-test']).toBe('true');

    expect((await ops('POST', '/subscriptions/billing/test', { event_type: 'no.such' })).status).toBe(400);
    expect((await ops('PUT', '/event-types/quiet.one', { description: 'no example' })).status).toBe(201);
    const bare = await ops('POST', '/subscriptions/billing/test', { event_type: 'quiet.one' });
    expect(bare.status).toBe(400);
    expect(bare.body.detail).toMatch(/has no example/);
    // Without a body it is still the hookrelay.test event.
    expect((await ops('POST', '/subscriptions/billing/test')).status).toBe(202);

    expect((await ops('PUT', '/event-types/ledger.internal', { internal: true, example: { n: 1 } })).status).toBe(201);
    expect((await ops('PUT', '/tenants/acct_a', {})).status).toBe(201);
    const token = (await ops('POST', '/tenants/acct_a/tokens', { name: 'ci', scopes: ['read', 'write'] })).body.token as string;
    const tenant: AdminCall = adminClient(() => relay!.url, token);
    const own = await tenant('POST', '/subscriptions', { url: `${receiver.url}/a`, signature: { scheme: 'none' } });
    expect(own.status).toBe(201);
    const refused = await tenant('POST', `/subscriptions/${own.body.id}/test`, { event_type: 'ledger.internal' });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/no event type 'ledger.internal'/);
    expect((await tenant('POST', `/subscriptions/${own.body.id}/test`, { event_type: 'invoice.paid' })).status).toBe(202);
  });
});

describe('catalog changes across Postgres-backed relays', () => {
  const URL_PG = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = new pg.Pool({ connectionString: URL_PG, max: 2 });
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.end();
  });

  it('puts a type through one relay and finds it in force on the other: listed, and enforced at its ingest', async () => {
    const schema = `hookrelay_catalog_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    schemas.push(schema);
    const config = testConfig({
      auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
    });
    const stores = [0, 1].map(() => createPostgresStore({ url: URL_PG, schema, maxConnections: 4 }));
    const apps = [];
    try {
      for (const store of stores) {
        await store.migrate();
        const app = await createApp(config, { store, logger: silentLogger, pollIntervalMs: 200 });
        apps.push({ app, url: `http://127.0.0.1:${(await app.start()).port}` });
      }
      const [one, two] = [apps[0]!, apps[1]!];
      const post = (url: string, body: unknown) =>
        fetch(`${url}/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST}` },
          body: JSON.stringify(body),
        });
      // Before: anything goes on the second relay.
      expect((await post(two.url, { type: 'invoice.paid', data: { amount: 1 } })).status).toBe(202);

      const put = await adminClient(() => one.url, OPS)('PUT', '/event-types/invoice.paid', {
        schema: invoicePaid.schema,
        example: invoicePaid.example,
      });
      expect(put.status).toBe(201);
      const other = adminClient(() => two.url, OPS);
      const seen = await eventually(async () => {
        const got = await other('GET', '/event-types/invoice.paid');
        return got.status === 200 ? got.body : null;
      }, 5_000);
      expect(seen).toMatchObject({ source: 'api', example: invoicePaid.example });
      const refused = await post(two.url, { type: 'invoice.paid', data: { amount: 1 } });
      expect(refused.status).toBe(400);

      // A delete on the second is in force on the first.
      expect((await other('DELETE', '/event-types/invoice.paid')).status).toBe(204);
      await eventually(async () => (await post(one.url, { type: 'invoice.paid', data: { amount: 1 } })).status === 202, 5_000);
    } finally {
      for (const { app } of apps) await app.stop();
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
