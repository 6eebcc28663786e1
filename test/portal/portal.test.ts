import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminCall } from '../helpers/admin-client';
import { launchChromium, openPage, screenshots } from '../helpers/browser';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startRelay, testConfig, type RunningRelay } from '../helpers/relay';

/*
 * The customer portal end to end in a real browser (Debian's Chromium driven by playwright-core),
 * against a real relay and a real receiver that verifies signatures with the `standardwebhooks`
 * package. Two tiny parent pages on their own origins embed the portal: one is in
 * portal.frame_ancestors, the other is not. Screenshots go to artifacts/screenshots/portal-*.png, as the
 * dashboard's do (`npm run ui:screenshots` copies them to docs/screenshots for the README).
 */

const OPS = 'ops-token-0123456789';
const SHOTS = resolve(__dirname, '../../artifacts/screenshots');
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><rect width="28" height="28" rx="6" fill="#0f766e"/></svg>`;

let browser: Browser;
let relay: RunningRelay;
let receiver: Receiver;
let ops: AdminCall;
/** Parent pages: `allowed` is in portal.frame_ancestors (and serves the logo), `other` is not. */
let allowed: { server: Server; origin: string };
let other: { server: Server; origin: string };
/** The secret the customer copied from the portal; the receiver verifies with it. */
let secret = '';
let healthy = true;
const verified: { id: string; type: string; test?: boolean }[] = [];
const consoleErrors: string[] = [];

/** A server on 127.0.0.1:0 whose `/?src=` page frames `src`, and which serves /logo.svg. */
async function parentPage(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/logo.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(LOGO);
      return;
    }
    const src = (url.searchParams.get('src') ?? '').replace(/"/g, '&quot;');
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        `<!doctype html><title>Acme app</title><h1>Acme settings</h1><iframe id="portal" src="${src}" width="420" height="640"></iframe>`,
      );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A free port for the relay, so server.public_url can name it before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

beforeAll(async () => {
  allowed = await parentPage();
  other = await parentPage();
  receiver = await startReceiver((req, res) => {
    if (!healthy) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('database is down');
      return;
    }
    try {
      const event = new Webhook(secret).verify(req.body, req.headers) as { id: string; type: string; test?: boolean };
      verified.push({ id: event.id, type: event.type, ...(event.test && { test: true }) });
    } catch {
      res.writeHead(400).end('bad signature');
    }
  });
  const port = await freePort();
  relay = await startRelay(
    testConfig({
      server: { port, public_url: `http://127.0.0.1:${port}` },
      auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      delivery: { allow_private_networks: false, retry_schedule: [] },
      // Tenants' endpoints are held to the blocked ranges: the receiver is on loopback.
      tenants: { allowed_networks: ['127.0.0.0/8'] },
      // The platform's catalog: the portal offers these types (with their descriptions and examples).
      event_types: [
        { name: 'invoice.paid', description: 'An invoice was paid in full.', example: { invoice: 'inv_123', amount: '250.00' } },
        { name: 'order.shipped', description: 'An order left the warehouse.', example: { order: 'ord_123' } },
      ],
      portal: {
        frame_ancestors: [allowed.origin],
        branding: { name: 'Acme Pay', logo_url: `${allowed.origin}/logo.svg`, accent_color: '#0f766e' },
      },
    }),
  );
  ops = adminClient(() => relay.url, OPS);
  for (const t of ['acct_a', 'acct_b']) expect((await ops('PUT', `/tenants/${t}`, {})).status).toBe(201);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
  await receiver?.close();
  for (const p of [allowed, other]) await new Promise((r) => p?.server.close(r));
});

async function link(tenant: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await ops('POST', `/tenants/${tenant}/portal-links`, body);
  expect(res.status).toBe(201);
  return res.body.url as string;
}

/** A new tab whose console errors (CSP violations included) are collected. */
const newPage = (width = 1100) => openPage(browser, { errors: consoleErrors, width });

const shot = screenshots(SHOTS, 'portal-');
const heading = (page: Page) => page.getByRole('heading', { level: 1 });

/** Shared by the steps below: the customer's tab, and the endpoint it made. */
let portal: Page;
let endpointId = '';

describe('customer portal', () => {
  it('opens from its link for its tenant, with the token gone from the address bar and the strict headers', async () => {
    const url = await link('acct_a');
    const token = url.slice(url.indexOf('#') + 1);
    portal = await newPage();
    const response = await portal.goto(url);
    const csp = response!.headers()['content-security-policy']!;
    expect(csp).toContain(`frame-ancestors ${allowed.origin}`);
    expect(csp).toContain(`img-src 'self' data: ${allowed.origin};`);
    expect(csp).toContain("script-src 'self'");
    await expect.poll(() => heading(portal).textContent()).toBe('Endpoints');
    expect(portal.url()).not.toContain(token);
    expect(portal.url()).not.toContain('hrl_');
    await expect.poll(() => portal.getByText('No endpoints yet').isVisible()).toBe(true);
    expect(await portal.getByRole('img', { name: 'Acme Pay' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(28);
    // The accent color from the config is what the buttons wear.
    const accent = await portal
      .getByRole('link', { name: 'Add endpoint' })
      .first()
      .evaluate((a) => getComputedStyle(a).backgroundColor);
    expect(accent).toBe('rgb(15, 118, 110)');
    await shot(portal, 'empty');
  });

  it('creates an endpoint for two catalog types, shows its secret once, and sends a test event and an example the receiver verifies', async () => {
    await portal.getByRole('link', { name: 'Add endpoint' }).first().click();
    await expect.poll(() => heading(portal).textContent()).toBe('Add endpoint');
    await portal.getByLabel('Endpoint URL').fill(`${receiver.url}/hooks`);
    await portal.getByLabel('Description (optional)').fill('Orders service');
    // Two event types picked from the catalog, each shown with its description.
    await portal.getByRole('checkbox', { name: 'invoice.paid' }).check();
    await portal.getByRole('checkbox', { name: 'order.shipped' }).check();
    expect(await portal.getByText('An invoice was paid in full.').count()).toBe(1);
    await shot(portal, 'new-endpoint');
    await portal.getByRole('button', { name: 'Add endpoint' }).click();
    const secretBox = portal.getByRole('region', { name: 'Signing secret' });
    await expect.poll(() => secretBox.isVisible()).toBe(true);
    secret = (await portal.locator('#secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    endpointId = decodeURIComponent(portal.url().split('#/endpoints/')[1]!);
    await shot(portal, 'secret');

    await portal.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(() => portal.getByRole('status').textContent()).toContain('Test event sent.');
    // The receiver answers 400 to a request whose signature does not verify: this one did.
    await receiver.waitFor(() => verified.some((v) => v.type === 'hookrelay.test'));
    expect((await ops('GET', `/subscriptions/${endpointId}`)).body.events).toEqual(['invoice.paid', 'order.shipped']);

    // An example of one of its types, from the catalog, flagged as a test.
    await portal.locator('#test-type').selectOption('invoice.paid');
    await portal.getByRole('button', { name: 'Send test event' }).click();
    await receiver.waitFor(() => verified.some((v) => v.type === 'invoice.paid' && v.test));

    // Shown once: the page of the endpoint, opened again, has no secret.
    await portal.reload();
    await expect.poll(() => heading(portal).textContent()).toBe(`${receiver.url}/hooks`);
    expect(await portal.getByText(secret).count()).toBe(0);
    expect(await secretBox.count()).toBe(0);
    await shot(portal, 'endpoint');
  });

  it('finds a failed delivery by its filters, shows what the server answered, and retries it once fixed', async () => {
    healthy = false;
    const res = await relay.post('/ingest', { type: 'invoice.paid', tenant: 'acct_a', data: { invoice: 'inv_1', amount: '250.00' } });
    expect(res.status).toBe(202);
    const eventId = ((await res.json()) as { id: string }).id;
    await relay.until(async () => (await relay.store.listDeliveriesOfEvent(eventId)).every((d) => d.status === 'failed'));

    await portal.getByRole('navigation', { name: 'Webhooks' }).getByRole('link', { name: 'Deliveries' }).click();
    await expect.poll(() => heading(portal).textContent()).toBe('Deliveries');
    await portal.getByLabel('Status').selectOption('failed');
    const type = portal.getByLabel('Event type');
    if ((await type.evaluate((el) => el.tagName)) === 'SELECT') await type.selectOption('invoice.paid');
    else await type.fill('invoice.paid');
    await portal.getByRole('button', { name: 'Filter' }).click();
    const rows = portal.getByRole('list', { name: 'Deliveries' }).getByRole('listitem');
    // Polled as one: until the filtered answer is in, the list may still show an unfiltered row.
    await expect
      .poll(async () => ((await rows.count()) === 1 ? await rows.first().textContent() : null))
      .toContain('your server answered 500');
    await shot(portal, 'deliveries');

    await rows.first().getByRole('link', { name: 'invoice.paid' }).click();
    await expect.poll(() => heading(portal).textContent()).toBe('invoice.paid');
    const attempt = portal.getByRole('region', { name: 'Attempt 1' });
    await expect.poll(() => attempt.textContent()).toContain('Your server answered 500');
    expect(await attempt.textContent()).toContain('database is down');
    expect(await attempt.textContent()).toContain('webhook-signature');
    await shot(portal, 'delivery');

    healthy = true;
    await portal.getByRole('button', { name: 'Retry now' }).click();
    await receiver.waitFor(() => verified.some((v) => v.id === eventId && v.type === 'invoice.paid'));
    await relay.until(async () => (await relay.store.listDeliveriesOfEvent(eventId)).every((d) => d.status === 'succeeded'));
    await portal.reload();
    await expect.poll(() => portal.getByRole('region', { name: 'Attempt 2' }).textContent()).toContain('Your server answered 200');
    expect(await portal.getByText('Delivered', { exact: true }).count()).toBeGreaterThan(0);
  });

  it('shows nothing of another tenant whose ids are typed into the address bar', async () => {
    const theirs = await ops('POST', '/subscriptions', { tenant: 'acct_b', url: `${receiver.url}/b-secret-path`, events: ['*'] });
    expect(theirs.status).toBe(201);
    const res = await relay.post('/ingest', { type: 'invoice.paid', tenant: 'acct_b', data: { n: 1 } });
    const eventId = ((await res.json()) as { id: string }).id;
    const [delivery] = await relay.store.listDeliveriesOfEvent(eventId);

    await portal.evaluate((id) => (location.hash = `#/endpoints/${id}`), theirs.body.id);
    await expect.poll(() => heading(portal).textContent()).toBe('Endpoint not found');
    await portal.evaluate((id) => (location.hash = `#/deliveries/${id}`), delivery!.id);
    await expect.poll(() => heading(portal).textContent()).toBe('Delivery not found');
    await portal.evaluate(() => (location.hash = '#/deliveries'));
    await expect.poll(() => heading(portal).textContent()).toBe('Deliveries');
    await expect.poll(() => portal.getByRole('list', { name: 'Deliveries' }).getByRole('listitem').count()).toBeGreaterThan(0);
    expect(await portal.content()).not.toContain('b-secret-path');
  });

  it('shows code that verifies the endpoint’s scheme in four languages', async () => {
    await portal.evaluate((id) => (location.hash = `#/verify?endpoint=${id}`), endpointId);
    await expect.poll(() => heading(portal).textContent()).toBe('Verify signatures');
    expect(await portal.locator('pre').allTextContents()).toContainEqual(expect.stringContaining("from 'standardwebhooks'"));
    for (const [tab, library] of [
      ['Python', 'svix.webhooks'],
      ['Go', 'svix-webhooks/go'],
      ['PHP', 'Svix\\Webhook'],
    ]) {
      await portal.getByRole('tab', { name: tab }).click();
      await expect.poll(() => portal.locator('pre').allTextContents()).toContainEqual(expect.stringContaining(library!));
    }
    await portal.getByRole('tab', { name: 'Node.js' }).click();
    await shot(portal, 'verify');
  });

  it('edits, disables and enables an endpoint, rolls its secret, resends failed messages, replays an event, deletes it', async () => {
    await portal.evaluate((id) => (location.hash = `#/endpoints/${id}`), endpointId);
    await expect.poll(() => heading(portal).textContent()).toBe(`${receiver.url}/hooks`);
    await portal.getByRole('button', { name: 'Edit endpoint' }).click();
    await portal.getByLabel('Description (optional)').fill('Orders v2');
    await portal.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => portal.getByText('Orders v2', { exact: true }).count()).toBe(1);

    await portal.getByRole('button', { name: 'Disable endpoint' }).click();
    await expect.poll(() => portal.getByText('Disabled', { exact: true }).count()).toBe(1);
    await portal.getByRole('button', { name: 'Enable endpoint' }).click();
    await expect.poll(() => portal.getByText('Enabled', { exact: true }).count()).toBe(1);

    const old = secret;
    await portal.getByLabel('Keep the old secret working for').selectOption('1h');
    await portal.getByRole('button', { name: 'Roll secret' }).click();
    await expect.poll(() => portal.getByRole('heading', { name: 'Your new signing secret' }).count()).toBe(1);
    secret = (await portal.locator('#secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(old);
    expect(await portal.getByText(/The previous secret keeps working until/).count()).toBe(1);

    // A message that failed while the server was down, resent once it is back.
    healthy = false;
    const res = await relay.post('/ingest', { type: 'order.shipped', tenant: 'acct_a', data: { order: 'ord_9' } });
    const eventId = ((await res.json()) as { id: string }).id;
    await relay.until(async () => (await relay.store.listDeliveriesOfEvent(eventId)).every((d) => d.status === 'failed'));
    healthy = true;
    await portal.getByRole('button', { name: 'Resend failed messages' }).click();
    await expect.poll(() => portal.getByRole('status').textContent()).toBe('1 failed message will be sent again now.');
    await receiver.waitFor(() => verified.some((v) => v.id === eventId));

    const [delivery] = await relay.store.listDeliveriesOfEvent(eventId);
    await portal.evaluate((id) => (location.hash = `#/deliveries/${id}`), delivery!.id);
    await expect.poll(() => heading(portal).textContent()).toBe('order.shipped');
    await portal.getByRole('button', { name: 'Replay event' }).click();
    await expect.poll(() => portal.getByRole('status').textContent()).toBe('The event will be sent again as a new delivery.');
    await receiver.waitFor(() => verified.filter((v) => v.id === eventId).length === 2);

    await portal.evaluate((id) => (location.hash = `#/endpoints/${id}`), endpointId);
    await portal.getByRole('button', { name: 'Delete endpoint' }).click();
    await portal.getByRole('button', { name: 'Click again to delete for good' }).click();
    await expect.poll(() => portal.getByText('No endpoints yet').isVisible()).toBe(true);
  });

  it('is usable at 375 px wide', async () => {
    const phone = await newPage(375);
    await phone.goto(await link('acct_a'));
    await expect.poll(() => heading(phone).textContent()).toBe('Endpoints');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await shot(phone, 'mobile');
    await phone.evaluate(() => (location.hash = '#/deliveries'));
    await expect.poll(() => heading(phone).textContent()).toBe('Deliveries');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await phone.context().close();
  });

  it('refuses a link used before, and an expired one, with a page that says what to do', async () => {
    const used = await link('acct_a');
    const first = await newPage();
    await first.goto(used);
    await expect.poll(() => heading(first).textContent()).toBe('Endpoints');
    await first.context().close();

    const again = await newPage();
    await again.goto(used);
    await expect.poll(() => heading(again).textContent()).toBe('This link has expired or was already used.');
    expect(await again.getByText('Go back to Acme Pay and open Webhooks again.').isVisible()).toBe(true);
    await shot(again, 'expired');

    // A link whose hour is over (made in the store, an hour ago, rather than waited for).
    const token = `hrl_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    await relay.store.createPortalLink({
      id: 'pse_expired',
      tenant: 'acct_a',
      scopes: ['read', 'write'],
      linkHash: createHash('sha256').update(token).digest('hex'),
      createdAt: now - 7_200_000,
      expiresAt: now - 3_600_000,
    });
    await again.goto(`${relay.url}/portal#${token}`);
    await expect.poll(() => heading(again).textContent()).toBe('This link has expired or was already used.');
    await again.context().close();
  });

  it('loads inside an iframe of an allowed origin, and not inside one of another origin', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    const parent = await context.newPage();
    await parent.goto(`${allowed.origin}/?src=${encodeURIComponent(await link('acct_a'))}`);
    const frame = parent.frameLocator('#portal');
    await expect.poll(() => frame.getByRole('heading', { level: 1 }).textContent()).toBe('Endpoints');
    await parent.screenshot({ path: join(SHOTS, 'portal-iframe.png') });

    const refused: string[] = [];
    const blocked = await context.newPage();
    blocked.on('console', (m) => refused.push(m.text()));
    const url = await link('acct_a');
    const framed = blocked.waitForResponse((r) => r.url().startsWith(`${relay.url}/portal`));
    await blocked.goto(`${other.origin}/?src=${encodeURIComponent(url)}`);
    const response = await framed;
    expect(response.headers()['content-security-policy']).toContain(`frame-ancestors ${allowed.origin}`);
    await expect.poll(() => refused.some((m) => m.includes('frame-ancestors'))).toBe(true);
    const inner = blocked.frames().find((f) => f !== blocked.mainFrame());
    expect(await inner?.evaluate(() => document.querySelector('h1')?.textContent ?? null).catch(() => null)).not.toBe('Endpoints');
    // The page never ran there: the link is still unused and opens the portal in a tab of its own.
    const tab = await newPage();
    await tab.goto(url);
    await expect.poll(() => heading(tab).textContent()).toBe('Endpoints');
    await tab.context().close();
    await context.close();
  });

  it('says webhooks are turned off when the platform disables the tenant', async () => {
    const page = await newPage();
    await page.goto(await link('acct_b'));
    await expect.poll(() => heading(page).textContent()).toBe('Endpoints');
    expect((await ops('PUT', '/tenants/acct_b', { enabled: false })).status).toBe(200);
    await page.getByRole('navigation', { name: 'Webhooks' }).getByRole('link', { name: 'Deliveries' }).click();
    await expect.poll(() => heading(page).textContent()).toBe('Webhooks are turned off for your account.');
    expect(await page.getByText('Contact Acme Pay to turn them back on.').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it('logged no script or CSP errors in the portal', async () => {
    await portal.context().close();
    // Answers the page expects and handles (a used link: 401; a disabled tenant: 403; another tenant's id, or no event-type catalog: 404) are not errors.
    const expected = /^Failed to load resource: the server responded with a status of (401|403|404)/;
    expect(consoleErrors.filter((e) => !expected.test(e))).toEqual([]);
  });
});
