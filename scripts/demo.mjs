#!/usr/bin/env node
// One-command tour: starts the example receiver and the built relay with config.example.yaml
// (SQLite in ./data), posts one event, and leaves both running so you can post more with curl.
// Ctrl-C stops both (the relay drains first). Usage: npm run demo
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const token = process.env.INGEST_TOKEN ?? 'dev-ingest-token';
const children = [
  spawn(process.execPath, ['scripts/example-receiver.mjs'], { stdio: 'inherit' }),
  spawn(process.execPath, ['dist/hookrelay.mjs', '--config', 'config.example.yaml'], { stdio: 'inherit' }),
];
process.on('SIGINT', () => children.forEach((c) => c.kill('SIGTERM')));
children[1].on('exit', (code) => {
  children[0].kill();
  process.exitCode = code ?? 0;
});

for (let i = 0; ; i++) {
  const ready = await fetch('http://127.0.0.1:8080/readyz').then(
    (r) => r.ok,
    () => false,
  );
  if (ready) break;
  if (i > 100) throw new Error('the relay did not become ready on port 8080');
  await sleep(100);
}
const curl = `curl -s -X POST http://127.0.0.1:8080/ingest -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' -d '{"type":"payment.completed","data":{"id":"pay_abc123","amount":"100.00"}}'`;
console.log(`\n[demo] ${curl}`);
const res = await fetch('http://127.0.0.1:8080/ingest', {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ type: 'payment.completed', data: { id: 'pay_abc123', amount: '100.00' } }),
});
console.log(`[demo] relay answered ${res.status} ${await res.text()}`);
console.log('[demo] relay and receiver keep running: post more with the curl above; Ctrl-C stops both.');
