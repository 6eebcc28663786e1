import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load';
import { ConfigError } from '../src/config/errors';
import { startReceiver, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

let relay: RunningRelay | undefined;
let rx: Receiver | undefined;
afterEach(async () => {
  await relay?.stop();
  await rx?.close();
});

const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

describe('filters at fan-out', () => {
  it('creates deliveries only for subscriptions whose events pattern and filter both accept the event', async () => {
    rx = await startReceiver();
    relay = await startRelay(
      testConfig({
        subscriptions: [
          { id: 'big-payments', url: `${rx.url}/big`, events: ['payment.*'], filter: { 'data.amount': { $gte: 100 } }, signature },
          {
            id: 'eu',
            url: `${rx.url}/eu`,
            filter: { $or: [{ 'data.country': { $in: ['DE', 'FR'] } }, { type: { $regex: '^eu\\.' } }] },
            signature,
          },
          { id: 'all', url: `${rx.url}/all`, signature },
        ],
      }),
    );
    const cases: [unknown, string[]][] = [
      [{ type: 'payment.completed', data: { amount: 250, country: 'US' } }, ['/all', '/big']],
      [{ type: 'payment.completed', data: { amount: 99, country: 'DE' } }, ['/all', '/eu']],
      [{ type: 'payment.completed', data: { amount: '250' } }, ['/all']], // a string is not a number: no coercion
      [{ type: 'invoice.paid', data: { amount: 500 } }, ['/all']], // pattern rejects before the filter
      [{ type: 'eu.vat.filed' }, ['/all', '/eu']],
    ];
    for (const [event, paths] of cases) {
      const res = await relay.post('/ingest', event);
      const { id, deliveries } = (await res.json()) as { id: string; deliveries: number };
      expect(deliveries, JSON.stringify(event)).toBe(paths.length);
      await rx.waitFor((r) => r.filter((x) => x.headers['webhook-id'] === id).length === paths.length);
      expect(
        rx.received
          .filter((x) => x.headers['webhook-id'] === id)
          .map((x) => x.path)
          .sort(),
      ).toEqual(paths);
    }
  });

  it('rejects an invalid filter when the config loads, naming the path and line', () => {
    const yaml = `subscriptions:
  - id: a
    url: http://example.com/hook
    signature: { secret: ${TEST_SECRET} }
    filter:
      data.amount: { $gtx: 1 }
      type: { $regex: "([" }
`;
    let error: unknown;
    try {
      parseConfigText(yaml, { env: {}, fileName: 'c.yaml' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      expect.objectContaining({
        path: 'subscriptions[0].filter["data.amount"]["$gtx"]',
        line: 6,
        message: expect.stringMatching(/unknown operator '\$gtx'/),
      }),
      expect.objectContaining({
        path: 'subscriptions[0].filter.type["$regex"]',
        line: 7,
        message: expect.stringMatching(/Invalid regular expression/),
      }),
    ]);
  });
});
