import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, screenshots } from '../helpers/browser';
import { type Receiver, startReceiver } from '../helpers/receiver';
import { type RunningRelay, startRelay, testConfig } from '../helpers/relay';

/*
 * The dashboard's tenant pages end to end in a real browser (Debian's Chromium driven by
 * playwright-core) against a real relay and a real receiver: create a tenant, find it, give it a
 * subscription, see its deliveries and health, issue and revoke a token, erase it. Screenshots go to
 * artifacts/screenshots, as in dashboard.test.ts.
 */

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const TENANT = 'acct_ui_1';
const SHOTS = resolve(__dirname, '../../artifacts/screenshots');

let browser: Browser;
let relay: RunningRelay;
let receiver: Receiver;
/** Paths the receiver answers 500 on. */
const broken = new Set<string>();
const consoleErrors: string[] = [];
let subId = '';

beforeAll(async () => {
  receiver = await startReceiver((req, res) => {
    if (!broken.has(req.path)) return;
    res.statusCode = 500;
    res.end('out of order');
  });
  relay = await startRelay(
    testConfig({
      auth: {
        admin_tokens: [
          { name: 'ops', token: OPS, scopes: ['read', 'write'] },
          { name: 'viewer', token: VIEWER, scopes: ['read'] },
        ],
      },
      delivery: { allow_private_networks: true, retry_schedule: [] },
      // Tenants' endpoints are held to the blocked ranges: the receiver here is on loopback.
      tenants: { allowed_networks: ['127.0.0.0/8'] },
    }),
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await receiver?.close();
});

/** Every request the page makes stays on the relay. */
const newPage = (width = 1280) => openPage(browser, { errors: consoleErrors, width, stayOn: relay.url });

async function signIn(page: Page, token: string, hash = ''): Promise<void> {
  await page.goto(`${relay.url}/ui/${hash}`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await until(() => page.locator('.who').count()).toBe(1);
}

async function asOps(method: string, path: string, body?: unknown, token = OPS): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Waits for what a user would wait to see. The bound is generous because this machine may be busy
 * (the check itself runs again as soon as the last one answered).
 */
const until = <T>(check: () => Promise<T> | T) => expect.poll(check, { timeout: 20_000 });
const title = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const shot = screenshots(SHOTS);
/** The value of one fact (dt/dd) on a page. */
const fact = (page: Page, name: string) =>
  page.locator('dl.facts dt', { hasText: name }).locator('xpath=following-sibling::dd[1]').textContent();

describe('dashboard: tenants', () => {
  it('says what to do when there is no tenant, creates one from the form, and finds it by id prefix', async () => {
    const page = await newPage();
    await signIn(page, OPS);
    await nav(page, 'Tenants').click();
    await until(() => title(page)).toBe('Tenants');
    expect(await page.locator('main').textContent()).toContain('No tenants yet. Create one with New tenant');

    await page.getByRole('link', { name: 'New tenant' }).click();
    await until(() => title(page)).toBe('New tenant');
    await page.getByLabel('Tenant id').fill(TENANT);
    await page.getByLabel('Name').fill('Acme Inc');
    await page.getByLabel('Max subscriptions').fill('5');
    await page.getByLabel('Ingest rate').fill('100/s');
    await page.getByLabel('Metadata').fill('{"plan": "pro"}');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    expect(await page.getByRole('status').textContent()).toBe(`Created tenant ${TENANT}.`);
    expect(await fact(page, 'Name')).toBe('Acme Inc');
    expect(await fact(page, 'State')).toBe('enabled');
    expect(await fact(page, 'Max subscriptions')).toBe('5');
    expect(await fact(page, 'Ingest rate')).toBe('100/s');
    expect(await fact(page, 'Metadata')).toContain('"plan": "pro"');
    // Its subscriptions and tokens are read after the record: wait for them.
    await until(() => page.locator('#tenant-subscriptions').textContent()).toContain('No subscriptions yet.');
    await until(() => page.locator('#tenant-tokens').textContent()).toContain('No tokens.');

    // The same id again is not silently replaced.
    await page.goto(`${relay.url}/ui/#/tenants/new`);
    await page.getByLabel('Tenant id').fill(TENANT);
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await until(() => page.getByRole('status').textContent()).toContain('already exists');
    expect((await asOps('GET', `/tenants/${TENANT}`)).body.name).toBe('Acme Inc');

    // Search by id prefix: the filter is in the URL and survives a reload.
    for (const id of ['beta_1', 'beta_2']) expect((await asOps('PUT', `/tenants/${id}`, { name: `Beta ${id}` })).status).toBe(201);
    await nav(page, 'Tenants').click();
    await until(() => page.locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Tenant id starts with').fill('acct_');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(() => page.url()).toContain('#/tenants?q=acct_');
    await until(() => page.locator('tbody tr').count()).toBe(1);
    await page.reload();
    await until(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.getByLabel('Tenant id starts with').inputValue()).toBe('acct_');
    const row = page.locator('tbody tr').first();
    expect(await row.locator('td').allTextContents()).toEqual([TENANT, 'Acme Inc', 'enabled', '0', '0', '0']);
    await shot(page, 'tenants');

    await page.getByLabel('Tenant id starts with').fill('nobody');
    await page.getByRole('button', { name: 'Search' }).click();
    await until(() => page.locator('main').textContent()).toContain('No tenant id starts with “nobody”.');

    await page.goto(`${relay.url}/ui/#/tenants?q=acct_`);
    await page.getByRole('link', { name: TENANT }).click();
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    await page.context().close();
  });

  it('disables and enables the tenant, keeping the rest of its record', async () => {
    const page = await newPage();
    await signIn(page, OPS, `#/tenants/${TENANT}`);
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    await page.getByRole('button', { name: 'Disable tenant' }).click();
    await until(() => page.getByRole('status').textContent()).toBe(`Tenant ${TENANT} disabled.`);
    expect(await fact(page, 'State')).toBe('disabled');
    expect((await asOps('GET', `/tenants/${TENANT}`)).body).toMatchObject({
      enabled: false,
      name: 'Acme Inc',
      metadata: { plan: 'pro' },
      limits: { max_subscriptions: 5, ingest_rate: '100/s' },
    });
    await page.getByRole('button', { name: 'Enable tenant' }).click();
    await until(() => page.getByRole('status').textContent()).toBe(`Tenant ${TENANT} enabled.`);
    expect(await fact(page, 'State')).toBe('enabled');
    expect((await asOps('GET', `/tenants/${TENANT}`)).body).toMatchObject({ enabled: true, name: 'Acme Inc', metadata: { plan: 'pro' } });

    // Edit the record through its form.
    await page.getByRole('link', { name: 'Edit record' }).click();
    await until(() => title(page)).toBe(`Edit tenant ${TENANT}`);
    expect(await page.getByLabel('Name').inputValue()).toBe('Acme Inc');
    await page.getByLabel('Name').fill('Acme Corporation');
    await page.getByRole('button', { name: 'Save' }).click();
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    expect(await fact(page, 'Name')).toBe('Acme Corporation');
    expect(await fact(page, 'Ingest rate')).toBe('100/s');
    await page.context().close();
  });

  it("creates the tenant's subscription, shows its delivery live, and its failing subscriptions", async () => {
    const page = await newPage();
    await signIn(page, OPS, `#/tenants/${TENANT}`);
    await page.getByRole('link', { name: 'New subscription for this tenant' }).click();
    await until(() => title(page)).toBe(`New subscription for ${TENANT}`);
    await page.getByLabel('URL').fill(`${receiver.url}/${TENANT}`);
    await page.getByLabel('Event types').fill('order.*');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toMatch(/^Created sub_[a-z0-9]{26}\. Its secret \(shown once\): whsec_/);
    subId = /sub_[a-z0-9]{26}/.exec((await page.getByRole('status').textContent())!)![0];
    expect((await asOps('GET', `/subscriptions/${subId}`)).body.tenant).toBe(TENANT);
    await page.getByRole('link', { name: `Back to tenant ${TENANT}` }).click();
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    const subRow = page.locator('#tenant-subscriptions tbody tr');
    await until(() => subRow.count()).toBe(1);
    expect(await subRow.textContent()).toContain(`${receiver.url}/${TENANT}`);
    await until(() => page.locator('#tenant-deliveries').textContent()).toContain('No deliveries yet.');

    // An event for the tenant shows up in its recent deliveries while the page is open.
    const ingested = await relay.post('/ingest', { type: 'order.created', tenant: TENANT, data: { n: 1 } });
    expect(ingested.status).toBe(202);
    const deliveryRow = page.locator('#tenant-deliveries tbody tr', { hasText: 'order.created' });
    await until(() => deliveryRow.locator('.badge').textContent()).toBe('succeeded');
    expect(await deliveryRow.textContent()).toContain(subId);
    expect(receiver.received.filter((r) => r.path === `/${TENANT}`)).toHaveLength(1);

    // Its endpoint breaks: the tenant page names the failing subscription, the list counts it.
    broken.add(`/${TENANT}`);
    expect((await relay.post('/ingest', { type: 'order.refunded', tenant: TENANT, data: { n: 2 } })).status).toBe(202);
    const failed = page.locator('#tenant-deliveries tbody tr', { hasText: 'order.refunded' });
    await until(() => failed.locator('.badge').textContent()).toBe('failed');
    expect(await failed.textContent()).toContain('500');
    await page.reload();
    await until(() => page.locator('main').textContent()).toContain('1 subscription failing');
    await until(() => subRow.locator('.badge').textContent()).toBe('failing');
    await shot(page, 'tenant');
    await page.goto(`${relay.url}/ui/#/tenants?q=acct_`);
    await expect
      .poll(() => page.locator('tbody tr').first().locator('td').allTextContents())
      .toEqual([TENANT, 'Acme Corporation', 'enabled', '1', '0', '1']);
    broken.clear();

    // The subscription's own page is one click away.
    await page.goto(`${relay.url}/ui/#/tenants/${TENANT}`);
    await page.locator('#tenant-subscriptions').getByRole('link', { name: subId }).click();
    await until(() => title(page)).toBe(`Edit ${subId}`);
    expect(await page.locator('main').textContent()).toContain(`Belongs to tenant ${TENANT}`);
    await page.context().close();
  });

  it('keeps the tenant filter of the subscription and delivery lists in the URL, across a reload', async () => {
    const page = await newPage();
    await signIn(page, OPS, `#/subscriptions?tenant=${TENANT}`);
    await until(() => page.locator('tbody tr').count()).toBe(1);
    await page.reload();
    await until(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.getByLabel('Tenant id').inputValue()).toBe(TENANT);
    expect(await page.locator('tbody tr').textContent()).toContain(subId);
    expect(await page.getByRole('link', { name: `New subscription for ${TENANT}` }).count()).toBe(1);

    await page.goto(`${relay.url}/ui/#/subscriptions?tenant=beta_1`);
    await until(() => page.locator('main').textContent()).toContain('Tenant beta_1 has no subscription.');

    await page.goto(`${relay.url}/ui/#/deliveries?tenant=${TENANT}&status=failed`);
    await until(() => page.locator('#deliveries tbody tr').count()).toBe(1);
    await page.reload();
    await until(() => page.locator('#deliveries tbody tr').count()).toBe(1);
    expect(await page.getByLabel('Tenant id').inputValue()).toBe(TENANT);
    expect(await page.locator('#deliveries tbody tr').textContent()).toContain('order.refunded');
    // A tenant in a row opens that tenant's page.
    await page.locator('#deliveries tbody tr').getByRole('link', { name: TENANT }).click();
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    await page.context().close();
  });

  it('issues a token shown once, and revokes it', async () => {
    const page = await newPage();
    await signIn(page, OPS, `#/tenants/${TENANT}`);
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    await page.getByLabel('Token name').fill('billing backend');
    await page.getByLabel('write').uncheck();
    await page.getByLabel('Expires in').fill('90d');
    await page.getByRole('button', { name: 'Issue token' }).click();
    await until(() => page.getByRole('status').textContent()).toContain('shown only this once');
    const token = (await page.getByLabel('New token').textContent())!;
    expect(token).toMatch(/^hrt_/);
    const tokenRow = page.locator('#tenant-tokens tbody tr', { hasText: 'billing backend' });
    expect(await tokenRow.locator('td').nth(2).textContent()).toBe('read');
    expect(await tokenRow.locator('td').nth(5).textContent()).toBe('never');

    // The token works as the tenant; the page never shows it again.
    expect((await asOps('GET', '/whoami', undefined, token)).body).toMatchObject({ scopes: ['read'], tenant: TENANT });
    await page.reload();
    await until(() => page.locator('#tenant-tokens tbody tr').count()).toBe(1);
    expect(await page.content()).not.toContain(token);

    await page.getByRole('button', { name: 'Revoke billing backend' }).click();
    await until(() => page.getByRole('status').textContent()).toBe('Token billing backend revoked: it is refused from now on.');
    expect(await page.locator('#tenant-tokens').textContent()).toContain('No tokens.');
    expect((await asOps('GET', '/whoami', undefined, token)).status).toBe(401);
    await page.context().close();
  });

  it('fits a 375 px wide screen', async () => {
    const page = await newPage(375);
    await signIn(page, OPS, `#/tenants/${TENANT}`);
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    await until(() => page.locator('#tenant-deliveries tbody tr').count()).toBe(2);
    // Nothing but the tables (which scroll inside their box) is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await page.getByRole('button', { name: 'Disable tenant' }).isVisible()).toBe(true);
    await shot(page, 'tenant-phone');
    await nav(page, 'Tenants').click();
    await until(() => page.locator('tbody tr').count()).toBe(3);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.context().close();
  });

  it('erases the tenant only once its id is typed, and follows the erasure until it is done', async () => {
    const page = await newPage();
    await signIn(page, OPS, `#/tenants/${TENANT}`);
    await until(() => title(page)).toBe(`Tenant ${TENANT}`);
    const erase = page.getByRole('button', { name: 'Erase tenant' });
    expect(await erase.isDisabled()).toBe(true);
    await page.getByLabel(`Type ${TENANT} to confirm`).fill('acct_ui');
    expect(await erase.isDisabled()).toBe(true);
    await page.getByLabel(`Type ${TENANT} to confirm`).fill(TENANT);
    expect(await erase.isDisabled()).toBe(false);
    await erase.click();

    await until(() => page.url()).toContain(`#/tenants/${TENANT}/erasure`);
    await until(() => title(page)).toBe(`Erasure of tenant ${TENANT}`);
    await until(() => fact(page, 'State')).toBe('done');
    expect(await page.getByRole('status').textContent()).toContain(`Done: tenant ${TENANT} and all its data are erased.`);
    // Its two events, and the hookrelay.delivery.failed event the relay emitted about its broken
    // subscription (SPEC 12: it carries the tenant, so it is the tenant's and erased with it).
    expect(await fact(page, 'Events erased')).toBe('3');
    expect(await fact(page, 'Deliveries erased')).toBe('2');
    expect(await fact(page, 'Attempts erased')).toBe('2');
    await shot(page, 'tenant-erasure');

    // Gone: from the API, from the list, and its subscription with it.
    expect((await asOps('GET', `/tenants/${TENANT}`)).status).toBe(404);
    // Each instance's live set of subscriptions drops the tenant's within a second of the erasure (README, Erasure).
    await until(async () => (await asOps('GET', `/subscriptions/${subId}`)).status).toBe(404);
    await page.getByRole('link', { name: 'Back to tenants' }).click();
    await until(() => page.locator('tbody tr').count()).toBe(2);
    expect(await page.locator('tbody').textContent()).not.toContain(TENANT);
    await page.context().close();
  });

  it('offers no tenant page to a read-only token, which the tenant routes refuse', async () => {
    const page = await newPage();
    await signIn(page, VIEWER);
    expect(await nav(page, 'Tenants').count()).toBe(0);
    await page.goto(`${relay.url}/ui/#/tenants`);
    await until(() => page.getByRole('alert').textContent()).toContain('Tenants need an admin token with the write or tenants scope');
    await page.context().close();
  });

  it('ran without a script error, a Content-Security-Policy violation, or a request leaving the relay', () => {
    expect(consoleErrors).toEqual([]);
  });
});
