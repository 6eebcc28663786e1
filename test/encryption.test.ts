import { createDecipheriv, createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

/** What a receiver writes (README "Encrypted payloads"). */
function decrypt(body: string, secret: string): string {
  const raw = Buffer.from((JSON.parse(body) as { encrypted: string }).encrypted, 'base64');
  const key = createHash('sha256').update(secret).digest();
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(-16));
  return Buffer.concat([decipher.update(raw.subarray(12, -16)), decipher.final()]).toString('utf8');
}

let relay: RunningRelay | undefined;
let rx: Receiver | undefined;
afterEach(async () => {
  await relay?.stop();
  await rx?.close();
});

describe('encrypt: true', () => {
  it.each(['envelope', 'data'] as const)('sends a signed AES-256-GCM body that decrypts to the exact %s', async (payload) => {
    rx = await startReceiver();
    relay = await startRelay(
      testConfig({
        subscriptions: [
          { id: 'secret', url: rx.url, payload, encrypt: true, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET } },
        ],
      }),
    );
    const res = await relay.post('/ingest', { type: 'card.issued', data: { pan_last4: '4242', holder: 'Zoë' } });
    const { id } = (await res.json()) as { id: string };
    await rx.waitFor((r) => r.length === 1);
    const { body, headers } = rx.received[0]!;
    // The signature covers the encrypted body as sent.
    const outer = new Webhook(TEST_SECRET).verify(body, headers) as Record<string, unknown>;
    expect(Object.keys(outer).sort()).toEqual(['encrypted', 'id', 'timestamp', 'type']);
    expect(outer).toMatchObject({ id, type: 'card.issued' });
    expect(body).not.toContain('4242');
    const plaintext = decrypt(body, TEST_SECRET);
    const data = '{"pan_last4":"4242","holder":"Zoë"}';
    expect(plaintext).toBe(
      payload === 'data' ? data : `{"id":"${id}","type":"card.issued","timestamp":"${String(outer.timestamp)}","data":${data}}`,
    );
  });
});
