import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, screenshots } from '../helpers/browser';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from '../helpers/relay';

/*
 * The dashboard end to end in a real browser: Debian's Chromium driven by playwright-core, against
 * a real relay and a real receiver. Screenshots of the main pages go to artifacts/screenshots
 * (`npm run ui:screenshots` copies them to docs/screenshots for the README).
 */

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const PROVISIONER = 'provisioner-token-0123456789';
const SHOTS = resolve(__dirname, '../../artifacts/screenshots');

let browser: Browser;
let relay: RunningRelay;
let receiver: Receiver;
let healthy = true;
const consoleErrors: string[] = [];

beforeAll(async () => {
  receiver = await startReceiver((_req, res) => {
    if (healthy) return;
    res.statusCode = 500;
    res.setHeader('x-why', 'maintenance');
    res.end('database is down');
  });
  relay = await startRelay(
    testConfig({
      auth: {
        admin_tokens: [
          { name: 'ops', token: OPS, scopes: ['read', 'write'] },
          { name: 'viewer', token: VIEWER, scopes: ['read'] },
          { name: 'provisioner', token: PROVISIONER, scopes: ['tenants'] },
        ],
      },
      delivery: { allow_private_networks: true, retry_schedule: [] },
      // Tenants' endpoints are held to the blocked ranges: the receiver here is on loopback.
      tenants: { allowed_networks: ['127.0.0.0/8'] },
      subscriptions: [
        {
          id: 'orders',
          url: `${receiver.url}/orders`,
          events: ['order.*'],
          signature: { scheme: 'standard-webhooks', secret: TEST_SECRET },
        },
        {
          id: 'billing',
          url: `${receiver.url}/billing`,
          events: ['invoice.*'],
          signature: { scheme: 'stripe', secret: 'sk_billing_secret' },
        },
      ],
    }),
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await receiver?.close();
});

const newPage = () => openPage(browser, { errors: consoleErrors });

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${relay.url}/ui/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function ingest(type: string, data: unknown = {}): Promise<string> {
  const res = await relay.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** A link of the main navigation. */
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

const shot = screenshots(SHOTS);

describe('dashboard', () => {
  it('refuses a wrong token and keeps nothing of it', async () => {
    const page = await newPage();
    await signIn(page, 'not-the-token');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That token was refused.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot(page, 'sign-in');
    await page.context().close();
  });

  it("refuses a tenant token: the dashboard is the operator's", async () => {
    const asOps = (method: string, path: string, body: unknown) =>
      fetch(`${relay.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await asOps('PUT', '/tenants/acct_ui', {})).status).toBe(201);
    const { token } = (await (await asOps('POST', '/tenants/acct_ui/tokens', { name: 'ui', scopes: ['read'] })).json()) as {
      token: string;
    };
    const page = await newPage();
    await signIn(page, token);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That is a tenant token');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it('refuses an admin token with only the tenants scope, saying the dashboard needs read', async () => {
    const page = await newPage();
    await signIn(page, PROVISIONER);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('only the tenants scope');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it('shows a delivered event, finds a failed one by filter with the receiver answer, and retries it to success', async () => {
    const page = await newPage();
    await signIn(page, OPS);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');

    // A delivered event shows up in the event log, live.
    await nav(page, 'Deliveries').click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Deliveries');
    const okId = await ingest('order.created', { n: 1 });
    await receiver.waitFor((r) => r.some((x) => x.headers['webhook-id'] === okId));
    const okRow = page.locator('#deliveries tbody tr', { hasText: 'order.created' }).first();
    await expect.poll(() => okRow.locator('.badge').textContent(), { timeout: 10_000 }).toBe('succeeded');

    // The receiver breaks; the next event fails for good (no retries in this config).
    healthy = false;
    const badId = await ingest('order.refunded', { n: 2 });
    await receiver.waitFor((r) => r.some((x) => x.headers['webhook-id'] === badId));
    await ingest('invoice.paid', { n: 3 });
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Subscription').fill('orders');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.url()).toContain('status=failed');
    const failedRow = page.locator('#deliveries tbody tr');
    // Polled as one: until the filtered list has come back (and the failure is written, which
    // lags the receiver's answer by the result batch), the table may still show one other row.
    const listed = async () => ((await failedRow.count()) === 1 ? await failedRow.first().textContent() : null);
    await expect.poll(listed, { timeout: 10_000 }).toContain('order.refunded');
    await shot(page, 'deliveries');

    // The delivery page shows the attempt: request headers, the receiver's status, headers and body.
    await failedRow.first().getByRole('link').click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Delivery dlv_/);
    const attempt = page.getByRole('region', { name: 'Attempt 1' });
    expect(await attempt.getByRole('heading').textContent()).toContain('HTTP 500');
    expect(await attempt.getByLabel('Response body').textContent()).toBe('database is down');
    expect(await attempt.textContent()).toContain('maintenance');
    await attempt.getByText(/^Request: POST/).click();
    expect(await attempt.locator('table.headers').first().textContent()).toContain(badId);
    await shot(page, 'delivery');

    // Fixed: retry it from the page and watch it succeed.
    healthy = true;
    await page.getByRole('button', { name: 'Retry now' }).click();
    await expect.poll(() => page.locator('dl.facts .badge').textContent(), { timeout: 10_000 }).toBe('succeeded');
    expect(receiver.received.filter((x) => x.headers['webhook-id'] === badId)).toHaveLength(2);
    expect(await page.getByRole('region', { name: 'Attempt 2' }).getByRole('heading').textContent()).toContain('HTTP 200');

    // Overview: rates, waiting deliveries, and nothing failing any more.
    await nav(page, 'Overview').click();
    await expect.poll(() => page.locator('.card').count()).toBe(6);
    // Rates need two readings of /stats, two seconds apart.
    await expect.poll(() => page.locator('.card .value').first().textContent(), { timeout: 10_000 }).toMatch(/^\d+\.\d$/);
    await shot(page, 'overview');
    await page.context().close();
  });

  it('manages subscriptions: send a test event, create a run-time one (secret shown once), edit and disable it', async () => {
    const page = await newPage();
    await signIn(page, OPS);
    await nav(page, 'Subscriptions').click();
    const orders = page.locator('tbody tr', { hasText: 'orders' });
    await orders.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Test event sent: dlv_/);
    await receiver.waitFor((r) => r.some((x) => x.path === '/orders' && x.body.includes('hookrelay.test')));

    await page.getByRole('link', { name: 'New subscription' }).click();
    await page.getByLabel('ID').fill('crm');
    await page.getByLabel('URL').fill(`${receiver.url}/crm`);
    await page.getByLabel('Event types').fill('customer.*');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    const secret = await page.locator('code.secret').textContent();
    expect(secret).toMatch(/^whsec_/);
    // Only once: the API never shows it again.
    expect(
      JSON.stringify(await (await fetch(`${relay.url}/api/v1/subscriptions/crm`, { headers: { authorization: `Bearer ${OPS}` } })).json()),
    ).not.toContain(secret!);

    await page.goto(`${relay.url}/ui/#/subscriptions/crm/edit`);
    // The edit form, not the create form still on the page while it loads (filling that one loses the text).
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Edit crm');
    await page.getByLabel('Description').fill('CRM sync');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Saved.');
    await nav(page, 'Subscriptions').click();
    const crm = page.locator('tbody tr', { hasText: 'crm' });
    await crm.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.locator('tbody tr', { hasText: 'crm' }).textContent()).toContain('disabled');
    const view = (await (await fetch(`${relay.url}/api/v1/subscriptions/crm`, { headers: { authorization: `Bearer ${OPS}` } })).json()) as {
      enabled: boolean;
      description: string;
    };
    expect(view).toMatchObject({ enabled: false, description: 'CRM sync' });
    await shot(page, 'subscriptions');
    await page.context().close();
  });

  it('gives a read-only token every page but no button that changes anything', async () => {
    const page = await newPage();
    await signIn(page, VIEWER);
    await expect.poll(() => page.locator('.who').textContent()).toContain('viewer (read-only)');
    await nav(page, 'Subscriptions').click();
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(1);
    expect(await page.getByRole('button', { name: /Disable|Enable|Send test event|Rotate secret/ }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'New subscription' }).count()).toBe(0);
    await nav(page, 'Deliveries').click();
    await page.locator('#deliveries tbody tr a').first().click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Delivery dlv_/);
    expect(await page.getByRole('button', { name: /Retry now|Cancel/ }).count()).toBe(0);
    await page.context().close();
  });

  it("filters subscriptions and deliveries by tenant id, and shows each row's tenant", async () => {
    const asOps = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${relay.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { id: string } };
    };
    expect((await asOps('PUT', '/tenants/acct_1', {})).status).toBe(201);
    const created = await asOps('POST', '/subscriptions', { tenant: 'acct_1', url: `${receiver.url}/acct_1`, events: ['order.*'] });
    expect(created.status).toBe(201);
    const subId = created.body.id;
    const res = await relay.post('/ingest', { type: 'order.created', tenant: 'acct_1', data: { n: 4 } });
    expect(res.status).toBe(202);
    const eventId = ((await res.json()) as { id: string }).id;
    await receiver.waitFor((r) => r.some((x) => x.path === '/acct_1' && x.headers['webhook-id'] === eventId));

    const page = await newPage();
    await signIn(page, OPS);
    await nav(page, 'Subscriptions').click();
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(1);
    await page.getByLabel('Tenant id').fill('acct_1');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.url()).toContain('#/subscriptions?tenant=acct_1');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    const row = await page.locator('tbody tr').first().textContent();
    expect(row).toContain(subId);
    expect(row).toContain('acct_1');
    await shot(page, 'tenant-subscriptions');

    // Deliveries: both of the tenant's event (to its subscription and to the platform's `orders`) carry its tenant.
    await nav(page, 'Deliveries').click();
    await expect.poll(() => page.locator('#deliveries tbody tr', { hasText: 'platform' }).count()).toBeGreaterThan(0);
    await page.getByLabel('Tenant id').fill('acct_1');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.url()).toContain('tenant=acct_1');
    const rows = page.locator('#deliveries tbody tr');
    // Polled on the rows' text: until the filtered answer is in, the table shows the unfiltered list.
    const ofTenant = (t: string) => t.includes('acct_1') && t.includes('order.created') && !t.includes('platform');
    await expect.poll(async () => (await rows.allTextContents()).filter(ofTenant).length, { timeout: 10_000 }).toBe(2);
    const texts = await rows.allTextContents();
    expect(texts).toHaveLength(2);
    expect(texts.some((t) => t.includes(subId))).toBe(true);
    expect(texts.some((t) => t.includes('orders'))).toBe(true);
    expect(await page.getByLabel('Tenant id').inputValue()).toBe('acct_1');
    await shot(page, 'tenant-deliveries');

    // One delivery's page names its tenant too.
    await rows.filter({ hasText: subId }).getByRole('link').first().click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Delivery dlv_/);
    expect(await page.locator('dl.facts').textContent()).toContain('acct_1');
    await page.context().close();
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(consoleErrors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
