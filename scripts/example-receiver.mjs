#!/usr/bin/env node
// A webhook receiver for trying hookrelay locally: listens on PORT (default 9000), verifies each
// request's Standard Webhooks signature with node:crypto (the three lines every receiver writes),
// prints what arrived, and answers 204. Usage: node scripts/example-receiver.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 9000);
const secret = process.env.EXAMPLE_SECRET ?? 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');

/** Standard Webhooks: base64 HMAC-SHA256 of "id.timestamp.body"; the header may hold several "v1,…". */
export function verify(headers, body) {
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest();
  return (headers['webhook-signature'] ?? '').split(' ').some((sig) => {
    const given = Buffer.from(sig.replace(/^v1,/, ''), 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const ok = verify(req.headers, body);
    const age = Math.floor(Date.now() / 1000 - Number(req.headers['webhook-timestamp']));
    console.log(`\n[receiver] ${req.method} ${req.url}  signature ${ok ? 'VERIFIED' : 'INVALID'} (signed ${age}s ago)`);
    for (const name of [
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
      'x-hookrelay-event',
      'x-hookrelay-delivery',
      'x-hookrelay-attempt',
    ]) {
      console.log(`[receiver]   ${name}: ${req.headers[name]}`);
    }
    console.log(`[receiver]   body: ${body}`);
    res.writeHead(ok ? 204 : 400).end(ok ? undefined : 'invalid signature');
  });
});
server.listen(port, '127.0.0.1', () => console.log(`[receiver] listening on http://127.0.0.1:${port}/webhooks`));
