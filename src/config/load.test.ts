import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type Problem } from './errors';
import { loadConfig, parseConfigText } from './load';
import { configWarnings } from './warnings';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The problems an operator would see for `text`; fails the test if the config is accepted. */
function problemsOf(text: string, env: Record<string, string> = {}): Problem[] {
  try {
    parseConfigText(text, { env, fileName: 'hookrelay.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('config was accepted');
}

function errorOf(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfigText(text, { env, fileName: 'hookrelay.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;

describe('defaults', () => {
  it('an empty file is all defaults', () => {
    const config = parseConfigText('', { env: {} });
    expect(config.server).toEqual({ host: '0.0.0.0', port: 8080, body_limit: 1_048_576, cors_origins: [], shutdown_grace: 10_000 });
    expect(config.storage).toEqual({ sqlite: { path: './data/hookrelay.db', synchronous: 'full' } });
    expect(config.auth).toEqual({ ingest_tokens: [], admin_tokens: [], rate_limit: { ingest: null, admin: null } });
    expect(config.delivery.retry_schedule).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(config.delivery).toMatchObject({ timeout: 10_000, jitter: 0.2, concurrency: 256, header_prefix: 'X-Hookrelay-' });
    expect(config.delivery).toMatchObject({ user_agent: 'hookrelay/0.1.0', max_response_body: 65_536, disable_after: 432_000_000 });
    expect(config.delivery).toMatchObject({ allow_private_networks: false, allowed_networks: [] });
    expect(config.retention).toEqual({ succeeded: 604_800_000, failed: 2_592_000_000 });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.subscriptions).toEqual([]);
  });

  it('a file of comments only is all defaults', () => {
    expect(parseConfigText('# nothing here\n', { env: {} }).server.port).toBe(8080);
  });

  it('fills a subscription with its defaults', () => {
    const config = parseConfigText(
      lines('subscriptions:', '  - id: a', '    url: https://x.test/h', `    signature: { secret: ${SECRET} }`),
      { env: {} },
    );
    expect(config.subscriptions[0]).toEqual({
      id: 'a',
      url: 'https://x.test/h',
      events: ['*'],
      enabled: true,
      signature: { scheme: 'standard-webhooks', secret: SECRET, previous_secrets: [], encoding: 'hex', prefix: '' },
      payload: 'envelope',
      encrypt: false,
      headers: {},
      ordering: 'none',
    });
  });

  it('keeps postgres without adding sqlite', () => {
    const config = parseConfigText(lines('storage:', '  postgres: { url: "postgres://db/x" }'), { env: {} });
    expect(config.storage.sqlite).toBeUndefined();
    expect(config.storage.postgres?.url).toBe('postgres://db/x');
  });
});

describe('environment variables', () => {
  it('replaces ${VAR} before parsing, so a number stays a number', () => {
    const config = parseConfigText('server: { port: ${PORT} }\n', { env: { PORT: '9090' } });
    expect(config.server.port).toBe(9090);
  });

  it('uses the default of ${VAR:-default} when VAR is unset or empty', () => {
    const text = 'server: { host: "${HOST:-127.0.0.1}", port: ${PORT:-8081} }\n';
    expect(parseConfigText(text, { env: {} }).server).toMatchObject({ host: '127.0.0.1', port: 8081 });
    expect(parseConfigText(text, { env: { PORT: '' } }).server.port).toBe(8081);
    expect(parseConfigText(text, { env: { HOST: '::1' } }).server.host).toBe('::1');
  });

  it('names a missing variable and its line, without the follow-on complaints', () => {
    const problems = problemsOf(lines('server:', '  port: 8080', 'auth:', '  ingest_tokens: ["${INGEST_TOKEN}"]'));
    expect(problems).toEqual([
      {
        path: 'auth.ingest_tokens[0]',
        line: 4,
        column: 20,
        message: expect.stringContaining('environment variable INGEST_TOKEN is not set'),
      },
    ]);
  });

  it('reports every missing variable', () => {
    const problems = problemsOf(lines('subscriptions:', '  - id: a', '    url: ${URL_A}', '    signature: { secret: "${SECRET_A}" }'));
    expect(problems.map((p) => [p.line, p.path, p.message.slice(0, 26)])).toEqual([
      [3, 'subscriptions[0].url', 'environment variable URL_A'],
      [4, 'subscriptions[0].signature.secret', 'environment variable SECRE'],
    ]);
  });

  it('places a missing variable followed by a comment at its key', () => {
    const text = lines(
      'subscriptions:',
      '  - id: a',
      '    url: https://x.test/',
      '    signature:',
      '      secret: ${SECRET_A}    # from the vault',
    );
    expect(problemsOf(text)).toEqual([
      { path: 'subscriptions[0].signature.secret', line: 5, column: 15, message: expect.stringContaining('SECRET_A is not set') },
    ]);
  });

  it('ignores ${…} in comments', () => {
    const text = lines(
      '# url: ${DATABASE_URL}',
      'storage:',
      '  sqlite: { path: ./x.db }  # or ${OTHER}',
      '  # postgres:',
      '  #   url: ${DATABASE_URL}',
    );
    expect(parseConfigText(text, { env: {} }).storage.sqlite?.path).toBe('./x.db');
  });

  it('does not mistake # inside quotes or a URL for a comment', () => {
    const text = lines('subscriptions:', '  - id: a', '    url: "https://x.test/#${FRAG}"', '    signature: { scheme: none }');
    expect(parseConfigText(text, { env: { FRAG: 'top' } }).subscriptions[0]?.url).toBe('https://x.test/#top');
    expect(problemsOf(text)[0]?.message).toContain('FRAG');
  });

  it('keeps $${ as a literal ${', () => {
    const config = parseConfigText('auth: { ingest_tokens: ["a$${B}-long-enough-token"] }\n', { env: {} });
    expect(config.auth.ingest_tokens).toEqual(['a${B}-long-enough-token']);
  });

  it('rejects a malformed reference', () => {
    expect(problemsOf('server: { host: "${not valid}" }\n')[0]?.message).toContain("invalid variable reference '${not valid}'");
  });
});

describe('problems an operator sees', () => {
  it('names an unknown key and points at it', () => {
    const problems = problemsOf(lines('server:', '  port: 8080', '  prot: 9', 'colour: blue'));
    expect(problems).toEqual([
      { path: 'server.prot', line: 3, column: 3, message: "unknown key 'prot'" },
      { path: 'colour', line: 4, column: 1, message: "unknown key 'colour'" },
    ]);
  });

  it('rejects a bad URL and a non-http one', () => {
    const text = lines(
      'subscriptions:',
      '  - { id: a, url: "not a url", signature: { scheme: none } }',
      '  - { id: b, url: "ftp://x.test/", signature: { scheme: none } }',
      '  - { id: c, url: "https://u:p@x.test/", signature: { scheme: none } }',
    );
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['subscriptions[0].url', 2],
      ['subscriptions[1].url', 3],
      ['subscriptions[2].url', 4],
    ]);
    expect(problems[0]?.message).toContain('invalid URL');
    expect(problems[1]?.message).toContain('must be http or https');
    expect(problems[2]?.message).toContain('credentials');
  });

  it('rejects a bad duration, including a bare number', () => {
    const problems = problemsOf(lines('delivery:', '  timeout: 10', '  retry_schedule: [1s, soon, 5m]'));
    expect(problems).toEqual([
      { path: 'delivery.timeout', line: 2, column: 12, message: "expected a duration like 500ms, 10s, 5m, 2h or 7d, got '10'" },
      { path: 'delivery.retry_schedule[1]', line: 3, column: 24, message: "expected a duration like 500ms, 10s, 5m, 2h or 7d, got 'soon'" },
    ]);
  });

  it('rejects a bad size', () => {
    expect(problemsOf('server:\n  body_limit: 1 megabyte\n')).toEqual([
      { path: 'server.body_limit', line: 2, column: 15, message: "expected a size like 512b, 64kb, 1mb or 1gb, got '1 megabyte'" },
    ]);
  });

  it('reports a duplicate subscription id at the second one', () => {
    const text = lines(
      'subscriptions:',
      '  - { id: a, url: "https://x.test/", signature: { scheme: none } }',
      '  - { id: a, url: "https://y.test/", signature: { scheme: none } }',
    );
    expect(problemsOf(text)).toEqual([
      { path: 'subscriptions[1].id', line: 3, column: 11, message: "duplicate subscription id 'a' (first used by subscriptions[0])" },
    ]);
  });

  it('reports a duplicate id along with other problems in the list', () => {
    const text = lines(
      'subscriptions:',
      '  - { id: a, url: "https://x.test/", signature: { scheme: none } }',
      '  - { id: a, url: "nope", signature: { scheme: none } }',
    );
    expect(problemsOf(text).map((p) => p.path)).toEqual(['subscriptions[1].id', 'subscriptions[1].url']);
  });

  it('reports several problems at once, in file order, in the message too', () => {
    const err = errorOf(lines('server:', '  port: 70000', 'delivery:', '  jitter: 2', '  concurrency: 0', 'log: { level: loud }'));
    expect(err.message).toBe(
      [
        'hookrelay.yaml:2:9: server.port: must be at most 65535',
        'hookrelay.yaml:4:11: delivery.jitter: must be at most 1',
        'hookrelay.yaml:5:16: delivery.concurrency: must be at least 1',
        "hookrelay.yaml:6:15: log.level: expected one of fatal, error, warn, info, debug, trace, silent, got 'loud'",
      ].join('\n'),
    );
  });

  it('points a missing required key at its parent map', () => {
    const problems = problemsOf(lines('subscriptions:', '  - id: a', '    signature: { scheme: none }'));
    expect(problems).toEqual([{ path: 'subscriptions[0].url', line: 2, column: 5, message: 'is required' }]);
  });

  it('explains a missing secret, also when signature is left out', () => {
    const problems = problemsOf(lines('subscriptions:', '  - id: a', '    url: https://x.test/'));
    expect(problems).toEqual([
      { path: 'subscriptions[0].signature.secret', line: 2, column: 5, message: 'signature.secret is required unless scheme is none' },
    ]);
  });

  it('checks secret formats per scheme', () => {
    const sub = (sig: string) => lines('subscriptions:', `  - { id: a, url: "https://x.test/", signature: ${sig} }`);
    expect(problemsOf(sub('{ secret: "whsec_c2hvcnQ=" }'))[0]?.message).toContain("'whsec_' followed by base64 of 24 to 64 bytes");
    expect(problemsOf(sub('{ secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }'))[0]?.message).toContain('whsec_');
    expect(problemsOf(sub('{ scheme: ed25519, secret: "nope" }'))[0]?.message).toContain("'whsk_' followed by base64");
    expect(problemsOf(sub('{ scheme: hmac-sha256, secret: s }'))[0]).toMatchObject({
      path: 'subscriptions[0].signature.header',
      message: 'signature.header is required for scheme hmac-sha256',
    });
    expect(problemsOf(sub('{ scheme: none, prefix: "sha256=" }'))[0]?.message).toBe('signature.prefix applies only to scheme hmac-sha256');
  });

  it('validates event patterns, header names and CIDRs', () => {
    const text = lines(
      'delivery:',
      '  allowed_networks: [10.0.0.0/8, "fd00::/8", 10.0.0.5]',
      'subscriptions:',
      '  - id: a',
      '    url: https://x.test/',
      '    events: ["payment.*", "*", "a.*.b"]',
      '    headers: { X-Env: prod, "Bad Header": x }',
      '    signature: { scheme: none }',
    );
    expect(problemsOf(text).map((p) => [p.path, p.line])).toEqual([
      ['delivery.allowed_networks[2]', 2],
      ['subscriptions[0].events[2]', 6],
      ['subscriptions[0].headers["Bad Header"]', 7],
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf(lines('server:', '  port: 8080', '  host: [unclosed'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(3);
    expect(problems[0]?.path).toBe('(root)');
  });

  it('reports a duplicated YAML key', () => {
    expect(problemsOf(lines('server:', '  port: 1', '  port: 2'))[0]?.line).toBe(3);
  });

  it('rejects a file whose top is not a map', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([{ path: '(root)', line: 1, column: 1, message: 'expected a map, got a list' }]);
  });

  it('rejects both storage backends', () => {
    expect(problemsOf(lines('storage:', '  sqlite: { path: x.db }', '  postgres: { url: "postgres://db" }'))[0]).toMatchObject({
      path: 'storage.postgres',
      line: 3,
      message: 'choose one of storage.sqlite or storage.postgres, not both',
    });
  });

  it('converts units, rates and datetimes', () => {
    const config = parseConfigText(
      lines(
        'subscriptions:',
        '  - id: a',
        '    url: https://x.test/',
        '    timeout: 1.5s',
        '    retry_schedule: [1s, 10s]',
        '    rate_limit: off',
        '    signature: { scheme: none }',
      ),
      { env: {} },
    );
    expect(config.subscriptions[0]).toMatchObject({ timeout: 1500, retry_schedule: [1000, 10_000], rate_limit: null });
  });
});

describe('loadConfig', () => {
  it('reads a file and names it in the report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  port: "x"\n');
    expect(() => loadConfig(file, {})).toThrow(`${file}:2:9: server.port: expected a number, got 'x'`);
  });

  it('reports a file that cannot be read', () => {
    try {
      loadConfig('/nonexistent/hookrelay.yaml', {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ path: '(root)', line: null, column: null });
      expect(problems[0]?.message).toMatch(/^cannot read config file: ENOENT/);
    }
  });

  it('loads config.example.yaml with no environment variables', () => {
    const config = loadConfig(join(import.meta.dirname, '../../config.example.yaml'), {});
    expect(config.server.port).toBe(8080);
    expect(config.storage.sqlite?.path).toBe('./data/hookrelay.db');
    expect(config.auth.ingest_tokens).toEqual(['dev-ingest-token']);
    expect(config.auth.admin_tokens).toEqual([{ name: 'ops', token: 'dev-admin-token-change-me', scopes: ['read', 'write'] }]);
    expect(config.delivery.allow_private_networks).toBe(true);
    expect(config.delivery.retry_schedule).toEqual([1000, 5000, 30_000, 120_000, 600_000]);
    expect(config.subscriptions).toMatchObject([
      { id: 'example', url: 'http://127.0.0.1:9000/webhooks', events: ['*'], signature: { scheme: 'standard-webhooks', secret: SECRET } },
    ]);
  });
});

describe('tokens and warnings (security review)', () => {
  it('refuses an ingest token shorter than 16 characters and one admin token given to two holders', () => {
    const problems = problemsOf(
      lines(
        'auth:',
        '  ingest_tokens: ["x"]',
        '  admin_tokens:',
        '    - { name: ops, token: "same-token-0123456789", scopes: [read, write] }',
        '    - { name: viewer, token: "same-token-0123456789", scopes: [read] }',
      ),
    );
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['auth.ingest_tokens[0]', 2],
      ['auth.admin_tokens[1].token', 5],
    ]);
    expect(problems[1]!.message).toMatch(/already given to 'ops'/);
  });

  it('reports a blocked subscription URL together with the other problems of the file', () => {
    const problems = problemsOf(
      lines('server: { port: "x" }', 'subscriptions:', '  - { id: a, url: "http://127.0.0.1:9/x", signature: { scheme: none } }'),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(['server.port', 'subscriptions[0].url']);
  });

  it('warns about open ingest, no admin tokens, the published example tokens and private networks', () => {
    const open = parseConfigText(lines('delivery: { allow_private_networks: true }'), { env: {} });
    expect(configWarnings(open).join('\n')).toMatch(
      /ingest_tokens is empty[\s\S]*admin_tokens is empty[\s\S]*allow_private_networks is true/,
    );
    const example = loadConfig(join(__dirname, '../../config.example.yaml'), {});
    // Its tokens are published and it may reach private networks: it listens on this machine only.
    expect(example.server.host).toBe('127.0.0.1');
    expect(configWarnings(example).join('\n')).toMatch(/published tokens are in use \(dev-ingest-token, dev-admin-token-change-me\)/);
    const careful = parseConfigText(
      lines('auth:', '  ingest_tokens: ["a-real-ingest-token-123"]', '  admin_tokens: [ { name: ops, token: "a-real-admin-token-123" } ]'),
      { env: {} },
    );
    expect(configWarnings(careful)).toEqual([]);
  });
});
