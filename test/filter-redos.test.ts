/**
 * ReDoS, end to end: the bundle runs as a child process (so a stalled relay cannot stall the test
 * with it) with one subscription per pattern that takes a backtracking engine exponential time, and
 * gets events whose filtered field is a 40-character string built to trigger it. A backtracking
 * engine would need hours per event; RE2 needs microseconds. `node build.mjs` first.
 */
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBundleBuilt, startChildRelay, type ChildRelay } from './helpers/child';
import { startReceiver, type Receiver } from './helpers/receiver';
import { tempDir, TEST_SECRET } from './helpers/relay';

beforeAll(assertBundleBuilt);

let child: ChildRelay | undefined;
let rx: Receiver | undefined;
afterEach(async () => {
  // SIGKILL: a relay stuck in a regex never gets to handle SIGTERM.
  child?.proc.kill('SIGKILL');
  await child?.exited;
  await rx?.close();
});

/** Each pattern with a 40-character string on which a backtracking engine explores exponentially many paths. */
const HOSTILE: [string, string][] = [
  ['^(a|a)*$', `${'a'.repeat(39)}!`],
  ['^(\\w|\\d)+$', `${'1'.repeat(39)}!`],
  ['(a|aa)+$', `${'a'.repeat(39)}!`],
  ['^(a|b|ab)*c$', 'ab'.repeat(20)],
  ['(.*a){12}', `${'a'.repeat(11)}${'b'.repeat(29)}`],
  ['(a{1,30}){1,30}$', `${'a'.repeat(39)}!`],
  ['^(a?){25}a{25}$', `${'a'.repeat(39)}!`],
];

function config(dir: string, receiverUrl: string): string {
  const subs = HOSTILE.map(([pattern], i) =>
    JSON.stringify({
      id: `redos-${i}`,
      url: `${receiverUrl}/redos-${i}`,
      filter: { 'data.s': { $regex: pattern } },
      signature: { scheme: 'standard-webhooks', secret: TEST_SECRET },
    }),
  );
  return `server: { host: 127.0.0.1, port: 0, shutdown_grace: 2s }
storage: { sqlite: { path: ${join(dir, 'relay.db')} } }
delivery: { allow_private_networks: true, retry_schedule: [100ms], jitter: 0 }
log: { level: info, format: json }
subscriptions:
${subs.map((s) => `  - ${s}`).join('\n')}
`;
}

describe('filters with ReDoS-prone regexes', () => {
  it('accepts every hostile pattern, acknowledges events with hostile strings at once, and keeps /healthz answering', async () => {
    rx = await startReceiver();
    const dir = tempDir();
    child = await startChildRelay(dir, config(dir, rx.url));
    const url = child.url;
    const started = Date.now();

    // /healthz is polled all the while; each answer must come within seconds, not after the events.
    let ingesting = true;
    const health: { status: number; ms: number }[] = [];
    const poll = (async () => {
      while (ingesting) {
        const t = Date.now();
        const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) }).then(
          (res) => res.status,
          () => 0, // no answer within 5 s: the relay is stalled
        );
        health.push({ status, ms: Date.now() - t });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // Every hostile string goes to every subscription's filter: 7 × 7 evaluations per round, 3 rounds.
    const statuses = await Promise.all(
      [0, 1, 2].flatMap(() =>
        HOSTILE.map(([, s]) =>
          fetch(`${url}/ingest`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'redos.probe', data: { s } }),
            signal: AbortSignal.timeout(8000),
          }).then(
            async (res) => ({ status: res.status, deliveries: ((await res.json()) as { deliveries?: number }).deliveries }),
            () => 'no answer within 8 s',
          ),
        ),
      ),
    );
    ingesting = false;
    await poll;

    // The filters did run: each event went to the subscriptions whose pattern matches its string.
    const expected = HOSTILE.map(([, s]) => ({ status: 202, deliveries: HOSTILE.filter(([p]) => RE2JS.compile(p).test(s)).length }));
    expect(statuses).toEqual([...expected, ...expected, ...expected]);
    expect(health.length).toBeGreaterThan(0);
    expect(health.filter((h) => h.status !== 200 || h.ms >= 3000)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);
});
