import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app';
import type { Config } from '../src/config/schema';
import type { Clock } from '../src/lib/clock';
import type { Logger } from '../src/lib/logger';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store';
import type { Store } from '../src/store/types';
import { adminClient } from './helpers/admin-client';
import { startReceiver, type Receiver } from './helpers/receiver';
import { eventually, testConfig } from './helpers/relay';

/*
 * Auto-disable (`delivery.disable_after`): a subscription failing that long without one success is
 * disabled, persisted, logged and shown in the API; any success (or enabling it again) resets the clock.
 */

const ADMIN_TOKEN = 'admin-token-for-tests-0123';
const HOUR = 3_600_000;

interface Relay {
  app: App;
  store: Store;
  url: string;
  stop(): Promise<void>;
}

let relays: Relay[] = [];
let receivers: Receiver[] = [];

afterEach(async () => {
  for (const r of relays) await r.stop();
  relays = [];
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});

/** A logger that keeps every line it writes. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** The real app on the config's SQLite file, with a clock the test may move forward. */
async function start(config: Config, opts: { clock?: Clock; logger?: Logger } = {}): Promise<Relay> {
  const sqlite = config.storage.sqlite!;
  const store = createSqliteStore({ path: sqlite.path, synchronous: sqlite.synchronous });
  await store.migrate();
  const app = await createApp(config, {
    store,
    logger: opts.logger ?? capturingLogger().logger,
    pollIntervalMs: 200,
    ...(opts.clock && { clock: opts.clock }),
  });
  const { port } = await app.start();
  let stopped: Promise<void> | undefined;
  const relay: Relay = {
    app,
    store,
    url: `http://127.0.0.1:${port}`,
    stop: () => (stopped ??= app.stop().then(() => store.close())),
  };
  relays.push(relay);
  return relay;
}

async function receiver(status: { code: number }) {
  const r = await startReceiver((_req, res) => void res.writeHead(status.code).end());
  receivers.push(r);
  return r;
}

function configFor(url: string, disableAfter: string, retrySchedule: string[]): Config {
  return testConfig({
    auth: { admin_tokens: [{ name: 'ops', token: ADMIN_TOKEN, scopes: ['read', 'write'] }] },
    delivery: { disable_after: disableAfter, retry_schedule: retrySchedule },
    subscriptions: [{ id: 'flaky', url, signature: { scheme: 'none' } }],
  });
}

async function ingest(relay: Relay, n = 1): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${relay.url}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'thing.happened', data: { i } }),
    });
    expect(res.status).toBe(202);
  }
}

const stateOf = async (relay: Relay) => (await relay.store.getSubscriptionStates()).find((s) => s.id === 'flaky');

describe('delivery.disable_after', () => {
  it('disables a subscription failing past it, logs it, shows it in the API, and keeps it disabled across a restart', async () => {
    const status = { code: 500 };
    const rx = await receiver(status);
    const config = configFor(
      rx.url,
      '300ms',
      Array.from({ length: 50 }, () => '50ms'),
    );
    const { logger, lines } = capturingLogger();
    let relay = await start(config, { logger });
    await ingest(relay);
    await rx.waitFor((r) => r.length >= 2);

    await eventually(async () => relay.app.subscriptions.get('flaky')?.enabled === false);
    const state = await stateOf(relay);
    expect(state).toMatchObject({ enabled: false });
    const since = new Date(state!.failingSince!).toISOString();
    const reason = `no successful delivery since ${since} (delivery.disable_after 300ms)`;
    expect(state!.disabledReason).toBe(reason);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, subscription: 'flaky', msg: expect.stringMatching(/^subscription disabled/) }),
    );
    const api = adminClient(() => relay.url, ADMIN_TOKEN);
    expect((await api('GET', '/subscriptions/flaky')).body).toMatchObject({ enabled: false, disabled_reason: reason });

    await relay.stop();
    relay = await start(config);
    expect(relay.app.subscriptions.get('flaky')).toMatchObject({ enabled: false, disabledReason: reason });
    expect((await adminClient(() => relay.url, ADMIN_TOKEN)('GET', '/subscriptions/flaky')).body).toMatchObject({
      enabled: false,
      disabled_reason: reason,
    });
  });

  it('measures from the first failure since the last success: a success resets the clock, so does enabling again', async () => {
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset };
    const status = { code: 500 };
    const rx = await receiver(status);
    // Retries far away: only the events a step ingests are attempted in it.
    const relay = await start(configFor(rx.url, '1h', ['10h', '10h']), { clock });
    const maintain = () => relay.app.dispatcher.maintain();

    await ingest(relay);
    const firstFailure = (await eventually(async () => (await stateOf(relay))?.failingSince))!;
    offset += 50 * 60_000;
    expect((await maintain()).disabled).toEqual([]);

    // One success, 50 minutes in: the clock starts again at the next failure.
    status.code = 200;
    await ingest(relay);
    await eventually(async () => (await stateOf(relay))?.lastSuccessAt);
    expect((await stateOf(relay))?.failingSince).toBeNull();
    status.code = 500;
    await ingest(relay);
    const secondFailure = (await eventually(async () => (await stateOf(relay))?.failingSince))!;
    expect(secondFailure).toBeGreaterThanOrEqual(firstFailure + 50 * 60_000);

    // 70 minutes after the first failure, 20 after the second: still enabled.
    offset += 20 * 60_000;
    expect((await maintain()).disabled).toEqual([]);
    // An hour after the second: disabled.
    offset += 45 * 60_000;
    expect((await maintain()).disabled).toEqual(['flaky']);
    expect(relay.app.subscriptions.get('flaky')?.disabledReason).toBe(
      `no successful delivery since ${new Date(secondFailure).toISOString()} (delivery.disable_after 1h)`,
    );

    // Enabled again by an operator: it gets a whole new hour, though nothing has succeeded since.
    const api = adminClient(() => relay.url, ADMIN_TOKEN);
    expect((await api('PATCH', '/subscriptions/flaky', { enabled: true })).body).toMatchObject({ enabled: true, disabled_reason: null });
    expect((await stateOf(relay))?.failingSince).toBeNull();
    offset += 2 * HOUR;
    expect((await maintain()).disabled).toEqual([]);
    expect(relay.app.subscriptions.get('flaky')?.enabled).toBe(true);
  });
});
