import { describe, expect, it } from 'vitest';
import { ConfigError, type Problem } from './errors';
import { parseConfigText } from './load';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function problemsOf(text: string): Problem[] {
  try {
    parseConfigText(text, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

/** A one-subscription config with `extra` lines added to the subscription (at line 4 onwards). */
const withSub = (...extra: string[]) =>
  ['subscriptions:', '  - id: a', '    url: https://x.test/', ...extra].join('\n') + '\n';

describe('features that are built load without problems', () => {
  it.each(['stripe', 'github', 'ed25519', 'hmac-sha256'])('signature scheme %s', (scheme) => {
    const sig = scheme === 'ed25519' ? `{ scheme: ed25519, secret: whsk_${Buffer.alloc(32).toString('base64')} }` : `{ scheme: ${scheme}, secret: s }`;
    const fixed = scheme === 'hmac-sha256' ? sig.replace(' }', ', header: X-Sig }') : sig;
    expect(problemsOf(withSub(`    signature: ${fixed}`))).toEqual([]);
  });

  it('previous_secrets and encrypt', () => {
    const lines = ['    signature:', `      secret: ${SECRET}`, `      previous_secrets: [{ secret: ${SECRET}, expires: "2026-12-01T00:00:00Z" }]`, '    encrypt: true'];
    expect(problemsOf(withSub(...lines))).toEqual([]);
  });

  it('per-subscription rate_limit, max_in_flight and ordering', () => {
    const sig = `    signature: { secret: ${SECRET} }`;
    expect(problemsOf(withSub(sig, '    rate_limit: 50/s', '    max_in_flight: 4', '    ordering: fifo'))).toEqual([]);
    expect(problemsOf(withSub(sig, '    rate_limit: off', '    ordering: none'))).toEqual([]);
    expect(problemsOf('delivery:\n  disable_after: 12h\n')).toEqual([]);
  });

  it('auth.rate_limit for ingest and admin', () => {
    expect(problemsOf('auth:\n  rate_limit: { ingest: 1000/s, admin: 10/s }\n')).toEqual([]);
    expect(problemsOf('auth:\n  rate_limit: { ingest: off, admin: false }\n')).toEqual([]);
  });

  it('refuses encrypt with scheme none, and a signature header the relay sets itself', () => {
    expect(problemsOf(withSub('    signature: { scheme: none }', '    encrypt: true')).map((p) => [p.path, p.line])).toEqual([['subscriptions[0].encrypt', 5]]);
    const reserved = problemsOf(withSub('    signature: { scheme: hmac-sha256, secret: s, header: Webhook-Id }'));
    expect(reserved.map((p) => [p.path, p.message])).toEqual([
      ['subscriptions[0].signature.header', "'Webhook-Id' is set by the relay itself; choose another header name"],
    ]);
  });
});

describe('features validated but not built yet', () => {
  it('storage.postgres', () => {
    expect(problemsOf('storage:\n  postgres: { url: "postgres://db/relay" }\n')).toEqual([
      { path: 'storage.postgres', line: 2, column: 13, message: 'storage.postgres is not supported yet; use storage.sqlite' },
    ]);
  });

  it('runs only after the schema passes', () => {
    const problems = problemsOf('storage:\n  postgres: { url: "postgres://db/relay" }\n  bogus: 1\n');
    expect(problems.map((p) => p.message)).toEqual(["unknown key 'bogus'"]);
  });
});
