import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, screenshots } from '../helpers/browser';
import { type Receiver, startReceiver } from '../helpers/receiver';
import { type RunningRelay, startRelay, TEST_SECRET, testConfig } from '../helpers/relay';

/*
 * The dashboard's event pages end to end in a real browser (Debian's Chromium driven by
 * playwright-core) against a real relay and a real receiver: find an event by id and by type, see
 * its data as sent and its deliveries, replay it (and a test event's refusal), recover a failed
 * window, the event type catalog, and the overview's operational events. Screenshots go to
 * artifacts/screenshots, as in dashboard.test.ts.
 */

const OPS = 'ops-token-0123456789';
const SHOTS = resolve(__dirname, '../../artifacts/screenshots');

let browser: Browser;
let relay: RunningRelay;
let receiver: Receiver;
/** Paths the receiver answers 500 on. */
const broken = new Set<string>();
/** Paths the receiver answers 410 Gone on. */
const gone = new Set<string>();
const consoleErrors: string[] = [];

const subscription = (id: string, events: string[]) => ({
  id,
  url: `PLACEHOLDER/${id}`,
  events,
  signature: { scheme: 'standard-webhooks', secret: TEST_SECRET },
});

beforeAll(async () => {
  receiver = await startReceiver((req, res) => {
    if (gone.has(req.path)) {
      res.statusCode = 410;
      res.end('gone for good');
    } else if (broken.has(req.path)) {
      res.statusCode = 500;
      res.end('out of order');
    }
  });
  const subscriptions = [subscription('orders', ['order.*']), subscription('shop', ['shop.*']), subscription('legacy', ['legacy.*'])].map(
    (s) => ({ ...s, url: s.url.replace('PLACEHOLDER', receiver.url) }),
  );
  relay = await startRelay(
    testConfig({
      auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      delivery: { allow_private_networks: true, retry_schedule: [] },
      subscriptions,
    }),
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await receiver?.close();
});

async function newPage(width = 1280): Promise<Page> {
  const page = await openPage(browser, { errors: consoleErrors, width, stayOn: relay.url });
  // Replay and Delete ask first: say yes.
  page.on('dialog', (d) => void d.accept());
  return page;
}

async function signIn(page: Page, hash = ''): Promise<void> {
  await page.goto(`${relay.url}/ui/${hash}`);
  await page.getByLabel('Admin token').fill(OPS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await until(() => page.locator('.who').textContent()).toContain('ops');
}

async function asOps(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Ingest raw JSON text (so the test controls the exact bytes of `data`); the event id. */
async function ingest(text: string): Promise<string> {
  const res = await relay.post('/ingest', text);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const until = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
const title = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const shot = screenshots(SHOTS);
const sentWithId = (id: string) => receiver.received.filter((r) => r.headers['webhook-id'] === id);

describe('dashboard: events, replay, recover, catalog, operational events', () => {
  it('finds an event by id and by type, shows its data exactly as sent and its deliveries, and replays it', async () => {
    // A number JSON.parse would round, and markup that must stay text.
    const data = '{"order":"ord_1","amount":9007199254740993,"note":"<b>bold</b> & \\u00e9"}';
    const id = await ingest(`{"type":"order.created","data":${data}}`);
    await receiver.waitFor(() => sentWithId(id).length === 1);

    const page = await newPage();
    await signIn(page);
    await nav(page, 'Events').click();
    await until(() => title(page)).toBe('Events');
    await page.getByLabel('Event id').fill('evt_not_there');
    await page.getByRole('button', { name: 'Open' }).click();
    await until(() => title(page)).toBe('Event not found');
    await nav(page, 'Events').click();
    await until(() => title(page)).toBe('Events');
    await page.getByLabel('Event id').fill(id);
    await page.getByRole('button', { name: 'Open' }).click();
    await until(() => title(page)).toBe(`Event ${id}`);
    expect(await page.getByLabel('Event data').textContent()).toBe(data);
    expect(await page.locator('main b').count()).toBe(0);
    expect(await page.locator('dl.facts').textContent()).toContain('order.created');
    const rows = page.locator('#event-deliveries tbody tr');
    await until(() => rows.count()).toBe(1);
    await until(() => rows.first().locator('.badge').textContent()).toBe('succeeded');
    expect(await rows.first().textContent()).toContain('orders');

    // Replay: a second delivery to `orders`, with the same webhook-id.
    await page.getByRole('button', { name: 'Replay' }).click();
    await until(() => page.getByRole('status').textContent()).toMatch(/^Replayed as dlv_/);
    await until(() => rows.count()).toBe(2);
    await receiver.waitFor(() => sentWithId(id).length === 2);
    await until(() => rows.locator('.badge', { hasText: 'succeeded' }).count()).toBe(2);
    await shot(page, 'event');

    // The delivery page shows the event's data too, and links back to the event.
    await rows.first().getByRole('link').first().click();
    await until(() => title(page)).toMatch(/^Delivery dlv_/);
    expect(await page.getByLabel('Event data').textContent()).toBe(data);
    await page.locator('dl.facts').getByRole('link', { name: id }).click();
    await until(() => title(page)).toBe(`Event ${id}`);

    // By type: the list, filtered in the URL.
    await ingest('{"type":"order.shipped","data":{"order":"ord_1"}}');
    await nav(page, 'Events').click();
    await page.getByLabel('Event type').fill('order.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await until(() => page.url()).toContain('type=order.created');
    const listed = page.locator('#events tbody tr');
    await until(() => listed.count()).toBe(1);
    expect(await listed.first().textContent()).toContain(id);
    await shot(page, 'events');
    await listed.first().getByRole('link', { name: id }).click();
    await until(() => title(page)).toBe(`Event ${id}`);
    await page.context().close();
  }, 60_000);

  it("shows a test event's refusal to be replayed", async () => {
    const page = await newPage();
    await signIn(page);
    await nav(page, 'Subscriptions').click();
    await page.locator('tbody tr', { hasText: 'orders' }).getByRole('link', { name: 'orders' }).click();
    await until(() => title(page)).toBe('Subscription orders');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await until(() => page.getByRole('status').textContent()).toMatch(/Test event sent \(hookrelay\.test\): dlv_/);
    await page.getByRole('status').getByRole('link', { name: 'its event' }).click();
    await until(() => title(page)).toMatch(/^Event evt_/);
    expect(await page.locator('dl.facts').textContent()).toContain('yes');
    await page.getByRole('button', { name: 'Replay' }).click();
    await until(() => page.getByRole('alert').textContent()).toContain('is a test event');
    await page.context().close();
  });

  it('recovers the failed deliveries of a window once the receiver works again', async () => {
    broken.add('/shop');
    const id = await ingest('{"type":"shop.order_placed","data":{"n":1}}');
    await receiver.waitFor(() => sentWithId(id).length === 1);
    await relay.until(async () => (await asOps('GET', '/deliveries?subscription=shop&status=failed')).body.data.length === 1);
    broken.delete('/shop');

    const page = await newPage();
    await signIn(page, '#/subscriptions/shop');
    await until(() => title(page)).toBe('Subscription shop');
    await page.getByLabel('Created since').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Recover' }).click();
    await until(() => page.getByRole('status').textContent()).toContain('1 failed delivery is due again.');
    await receiver.waitFor(() => sentWithId(id).length === 2);
    await relay.until(async () => (await asOps('GET', '/deliveries?subscription=shop&status=succeeded')).body.data.length === 1);
    await page.context().close();
  });

  it('creates an API event type with a schema and example (a bad example shows its path), sends it as a test, deletes it', async () => {
    const page = await newPage();
    await signIn(page);
    await nav(page, 'Catalog').click();
    await until(() => title(page)).toBe('Event type catalog');
    const builtin = page.locator('tbody tr', { hasText: 'hookrelay.subscription.disabled' });
    expect(await builtin.textContent()).toContain('built in');

    await page.getByRole('link', { name: 'New event type' }).click();
    await until(() => title(page)).toBe('New event type');
    await page.getByLabel('Name').fill('shop.item_added');
    await page.getByLabel('Description').fill('An item went into a cart.');
    await page
      .getByLabel('Schema (JSON)')
      .fill('{"type":"object","required":["sku","amount"],"properties":{"sku":{"type":"string"},"amount":{"type":"string"}}}');
    await page.getByLabel('Example (JSON)').fill('{"sku":"sku_1","amount":12}');
    await page.getByRole('button', { name: 'Save event type' }).click();
    await until(() => page.getByRole('alert').textContent()).toContain('example.amount:');
    expect((await asOps('GET', '/event-types/shop.item_added')).status).toBe(404);

    await page.getByLabel('Example (JSON)').fill('{"sku":"sku_1","amount":"12.00"}');
    await page.getByRole('button', { name: 'Save event type' }).click();
    await until(() => title(page)).toBe('Event type shop.item_added');
    expect(await page.getByLabel('Schema', { exact: true }).textContent()).toContain('"required": [');
    expect(JSON.parse((await page.getByLabel('Example', { exact: true }).textContent())!)).toEqual({ sku: 'sku_1', amount: '12.00' });
    await shot(page, 'event-type');

    await nav(page, 'Catalog').click();
    const row = page.locator('tbody tr', { hasText: 'shop.item_added' });
    await until(() => row.textContent()).toContain('API');
    await shot(page, 'catalog');

    // Its example as a test event to `shop`, picked by type on the subscription's page.
    await page.goto(`${relay.url}/ui/#/subscriptions/shop`);
    await until(() => title(page)).toBe('Subscription shop');
    await page.getByLabel('Event type').fill('shop.item_added');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await until(() => page.getByRole('status').textContent()).toContain('Test event sent (shop.item_added)');
    await receiver.waitFor((r) => r.some((x) => x.path === '/shop' && x.body.includes('"sku":"sku_1"')));

    // Built-in types have no buttons; the API one is deleted.
    await page.goto(`${relay.url}/ui/#/catalog/hookrelay.subscription.disabled`);
    await until(() => title(page)).toBe('Event type hookrelay.subscription.disabled');
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await page.goto(`${relay.url}/ui/#/catalog/shop.item_added`);
    await until(() => title(page)).toBe('Event type shop.item_added');
    await page.getByRole('button', { name: 'Delete' }).click();
    await until(() => page.getByRole('status').textContent()).toContain('Event type shop.item_added was deleted.');
    expect((await asOps('GET', '/event-types/shop.item_added')).status).toBe(404);
    await page.context().close();
  }, 60_000);

  it('lists an operational event on the overview, linked to the event', async () => {
    gone.add('/legacy');
    const id = await ingest('{"type":"legacy.ping","data":{}}');
    await receiver.waitFor(() => sentWithId(id).length === 1);
    await relay.until(async () => (await asOps('GET', '/events?type=hookrelay.subscription.disabled')).body.data.length === 1);

    const page = await newPage();
    await signIn(page);
    await until(() => title(page)).toBe('Overview');
    // shop's failure (the recover test) also made a hookrelay.delivery.failed: several rows, newest first.
    const ops = page.locator('#operational-events tbody tr', { hasText: 'subscription.disabled' });
    await until(() => ops.count()).toBe(1);
    const text = await ops.first().textContent();
    expect(text).toContain('subscription.disabled');
    expect(text).toContain('legacy');
    expect(text).toContain('410');
    await ops.first().getByRole('link').first().click();
    await until(() => title(page)).toMatch(/^Event evt_/);
    expect(await page.locator('dl.facts').textContent()).toContain('hookrelay.subscription.disabled');
    expect(await page.getByLabel('Event data').textContent()).toContain('"subscription":"legacy"');
    await page.context().close();
  });

  it('fits a 375 px phone: events, an event, the catalog', async () => {
    const page = await newPage(375);
    await signIn(page, '#/events');
    await until(() => title(page)).toBe('Events');
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    expect(await width()).toBeLessThanOrEqual(375);
    await page.locator('#events tbody tr a').first().click();
    await until(() => title(page)).toMatch(/^Event evt_/);
    expect(await width()).toBeLessThanOrEqual(375);
    await nav(page, 'Catalog').click();
    await until(() => title(page)).toBe('Event type catalog');
    expect(await width()).toBeLessThanOrEqual(375);
    await page.context().close();
  });

  it('ran without a script error, a Content-Security-Policy violation, or a request leaving the relay', () => {
    // The refusals this file provokes on purpose (an unknown event id, a bad example, a test event's
    // replay) are logged by Chromium as failed resource loads; nothing else may be.
    const provoked = /^Failed to load resource: the server responded with a status of (400|404|409) /;
    expect(consoleErrors.filter((e) => !provoked.test(e))).toEqual([]);
  });
});
