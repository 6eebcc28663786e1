import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBundleBuilt, BUNDLE, childConfig, startChildRelay, type ChildRelay } from '../helpers/child';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { tempDir, TEST_SECRET } from '../helpers/relay';

/*
 * The single executable (npm run build:binary), built here the way CI and a release build it, then
 * run from a directory that holds nothing but its config, with no node on PATH.
 */

const ROOT = resolve(__dirname, '../..');
const BINARY = join(ROOT, 'dist', 'hookrelay');
// An empty directory: no program at all is reachable by name, node included (it lives in /usr/bin here).
const PATH = tempDir();
let receiver: Receiver;
let relay: ChildRelay | undefined;

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-binary.mjs')], { cwd: ROOT, stdio: 'pipe' });
  receiver = await startReceiver();
  assertBundleBuilt();
}, 180_000);
afterAll(async () => {
  relay?.proc.kill('SIGKILL');
  await receiver?.close();
});

/** A copy of the executable alone in a fresh directory: nothing beside it to lean on. */
function isolatedBinary(): { dir: string; binary: string } {
  const dir = tempDir();
  const binary = join(dir, 'hookrelay');
  copyFileSync(BINARY, binary);
  return { dir, binary };
}

describe('the single executable', () => {
  it('needs no node on PATH: no node binary is reachable from the environment it runs in', () => {
    expect(spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH } }).status).not.toBe(0);
    expect(spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH: '/usr/bin:/bin' } }).status).toBe(0);
  });

  it('prints its version and refuses a bad config in one line, like the bundle', () => {
    const { dir, binary } = isolatedBinary();
    const version = spawnSync(binary, ['version'], { env: { PATH }, cwd: dir, encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^hookrelay \d+\.\d+\.\d+/);
    writeFileSync(join(dir, 'bad.yaml'), 'subscriptions:\n  - { id: Bad!, url: ftp://x }\n');
    const bad = spawnSync(binary, ['check-config', '--config', 'bad.yaml'], { env: { PATH }, cwd: dir, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:2:\d+: subscriptions\[0\]\.id/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('takes the same arguments as the bundle: same output and exit code for each', () => {
    const { dir, binary } = isolatedBinary();
    writeFileSync(join(dir, 'bad.yaml'), 'server: { port: nope }\n');
    writeFileSync(join(dir, 'good.yaml'), childConfig(dir, [['example', 'https://example.com/hooks']]));
    const cases = [
      ['--help'],
      ['--version'],
      ['version'],
      ['nosuch'],
      ['serve'],
      ['--config', 'bad.yaml'], // no subcommand: serve, as the bundle does
      ['serve', '--config', 'bad.yaml'],
      ['check-config', '--config', 'good.yaml'],
      ['migrate', '--config', 'missing.yaml'],
    ];
    for (const args of cases) {
      const fromBinary = spawnSync(binary, args, { env: { PATH }, cwd: dir, encoding: 'utf8' });
      const fromBundle = spawnSync(process.execPath, [BUNDLE, ...args], { env: { PATH }, cwd: dir, encoding: 'utf8' });
      const result = (r: typeof fromBinary) => ({ args, status: r.status, stdout: r.stdout, stderr: r.stderr });
      expect(result(fromBinary)).toEqual(result(fromBundle));
    }
    // Every command twice, each a process start of a 100 MB executable or the bundle: slow on a busy machine.
  }, 120_000);

  it("serves with the bundle's short form too: hookrelay --config config.yaml (relative to where it runs)", async () => {
    const { dir, binary } = isolatedBinary();
    writeFileSync(join(dir, 'config.yaml'), childConfig(dir, [['example', `${receiver.url}/hooks`]]));
    const proc = spawn(binary, ['--config', 'config.yaml'], {
      cwd: dir,
      env: { PATH, HOOKRELAY_CACHE_DIR: join(dir, 'cache') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
    try {
      let output = '';
      proc.stderr.on('data', (d) => (output += d));
      const port = await new Promise<number>((done, fail) => {
        proc.stdout.on('data', (d) => {
          output += d;
          const match = /"msg":"hookrelay listening".*"port":(\d+)|"port":(\d+).*"msg":"hookrelay listening"/.exec(output);
          if (match) done(Number(match[1] ?? match[2]));
        });
        void exited.then((code) => fail(new Error(`exited ${code} before listening: ${output}`)));
      });
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(existsSync(join(dir, 'relay.db'))).toBe(true);
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('refuses an addon cache directory other users can write to, in one line', () => {
    const { dir, binary } = isolatedBinary();
    writeFileSync(join(dir, 'config.yaml'), childConfig(dir, [['example', 'https://example.com/hooks']]));
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const run = spawnSync(binary, ['migrate', '--config', 'config.yaml'], {
      env: { PATH, HOOKRELAY_CACHE_DIR: shared },
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `hookrelay: ${shared} must be a directory of this user that others cannot write to: the SQLite addon is loaded from it (remove it, or set HOOKRELAY_CACHE_DIR)\n`,
    );
    expect(readdirSync(shared)).toEqual([]);
    // Once only its owner can write to it, the same directory is used.
    chmodSync(shared, 0o700);
    expect(spawnSync(binary, ['migrate', '--config', 'config.yaml'], { env: { PATH, HOOKRELAY_CACHE_DIR: shared }, cwd: dir }).status).toBe(
      0,
    );
    expect(readdirSync(shared)).toHaveLength(1);
  });

  it('serves over HTTP: ingests, delivers a signed event, answers /healthz and /readyz, drains on SIGTERM', async () => {
    const { dir, binary } = isolatedBinary();
    const cache = join(dir, 'cache');
    relay = await startChildRelay(dir, childConfig(dir, [['example', `${receiver.url}/hooks`]]), { PATH, HOOKRELAY_CACHE_DIR: cache }, [
      binary,
    ]);
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${relay.url}/ui/`)).text()).toContain('/ui/assets/app-');
    const res = await fetch(`${relay.url}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'payment.completed', data: { amount: '1.00' } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await receiver.waitFor((r) => r.some((x) => x.headers['webhook-id'] === id));
    const delivered = receiver.received.find((x) => x.headers['webhook-id'] === id)!;
    expect(new Webhook(TEST_SECRET).verify(delivered.body, delivered.headers)).toMatchObject({ id, data: { amount: '1.00' } });
    // The embedded SQLite addon was written once to the cache and loaded from there.
    expect(readdirSync(cache)).toHaveLength(1);
    expect(existsSync(join(dir, 'relay.db'))).toBe(true);
    relay.proc.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    relay = undefined;
  });
});
