import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { parseConfigText } from './load';

// SPEC 13 in the config file: the headers a subscription may add (and which values are shown), its
// URL's normal form, and the size limits of one subscription, each problem with its path and line.

/** [path, line, message] of every problem, or [] when the config loads. */
function problems(text: string): [string, number | null, string][] {
  try {
    parseConfigText(text, { env: {} });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => [p.path, p.line, p.message]);
    throw err;
  }
}

/** A config with one subscription `a` whose extra keys are the given YAML lines (4 spaces in). */
const subscription = (...extra: string[]) =>
  ['subscriptions:', '  - id: a', '    url: https://x.test/', '    signature: { scheme: none }', ...extra].join('\n');

const json = JSON.stringify;

describe('headers a subscription adds', () => {
  it.each([
    'Host',
    'host',
    'Content-Length',
    'Transfer-Encoding',
    'Expect',
    'Connection',
    'Upgrade',
    'TE',
    'Keep-Alive',
    'Proxy-Authorization',
    'Proxy-Connection',
  ])('refuse %s at its line', (name) => {
    const found = problems(subscription('    headers:', '      X-Env: prod', `      ${name}: x`));
    expect(found).toEqual([[`subscriptions[0].headers.${name}`, 7, expect.stringContaining(`'${name}' may not be set by a subscription`)]]);
  });

  it('explain why Host is refused', () => {
    expect(problems(subscription('    headers: { Host: internal.example }'))[0]?.[2]).toContain('put the host you need in the URL');
  });

  it.each([
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['CRLF', 'a\r\nInjected: yes'],
    ['NUL', 'a\u0000b'],
    ['tab', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['C1', 'a\u0085b'],
  ])('refuse a value with %s', (_, value) => {
    expect(problems(subscription(`    headers: { X-Env: ${json(value)} }`))).toEqual([
      ['subscriptions[0].headers.X-Env', 5, 'must not contain control characters (CR, LF, NUL, tab, DEL…)'],
    ]);
  });

  it('refuse a value the HTTP client could not send, and accept Latin-1', () => {
    expect(problems(subscription('    headers: { X-Env: "snow ☃" }'))[0]?.[0]).toBe('subscriptions[0].headers.X-Env');
    expect(problems(subscription('    headers: { X-Env: "café", X-Empty: "" }'))).toEqual([]);
  });

  it('must be valid tokens', () => {
    const found = problems(subscription('    headers: { "X Env": a, "X:Env": b, "": c, "X-Ok": d }'));
    expect(found.map(([path, line]) => [path, line])).toEqual([
      ['subscriptions[0].headers["X Env"]', 5],
      ['subscriptions[0].headers["X:Env"]', 5],
      ['subscriptions[0].headers[""]', 5],
    ]);
  });

  it('may be made visible with delivery.visible_headers (names, checked as header names)', () => {
    const config = parseConfigText('delivery: { visible_headers: [X-Env, x-region] }\n', { env: {} });
    expect(config.delivery.visible_headers).toEqual(['X-Env', 'x-region']);
    expect(parseConfigText('', { env: {} }).delivery.visible_headers).toEqual([]);
    expect(problems('delivery:\n  visible_headers: ["X Env"]\n').map(([path, line]) => [path, line])).toEqual([
      ['delivery.visible_headers[0]', 2],
    ]);
  });
});

describe('subscription URLs', () => {
  it('are kept in their WHATWG normal form', () => {
    const text = ['subscriptions:', '  - { id: a, url: "HTTP://Example.COM:80/a/../b", signature: { scheme: none } }'].join('\n');
    expect(parseConfigText(text, { env: {} }).subscriptions[0]?.url).toBe('http://example.com/b');
    const bare = ['subscriptions:', '  - { id: a, url: "https://X.test:443", signature: { scheme: none } }'].join('\n');
    expect(parseConfigText(bare, { env: {} }).subscriptions[0]?.url).toBe('https://x.test/');
  });
});

describe('size limits of a subscription', () => {
  const list = (n: number, item: (i: number) => string) => `[${Array.from({ length: n }, (_, i) => item(i)).join(', ')}]`;
  const OVER_30D = `${30 * 86_400_000 + 1}ms`;

  it('at most 100 event patterns', () => {
    expect(problems(subscription(`    events: ${list(100, (i) => `e${i}.*`)}`))).toEqual([]);
    expect(problems(subscription(`    events: ${list(101, (i) => `e${i}.*`)}`))).toEqual([
      ['subscriptions[0].events', 5, 'must list at most 100 event patterns'],
    ]);
  });

  it('at most 50 headers of at most 8192 characters each', () => {
    const headers = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `X-H${i}: v`).join(', ')} }`;
    expect(problems(subscription(`    headers: ${headers(50)}`))).toEqual([]);
    expect(problems(subscription(`    headers: ${headers(51)}`))).toEqual([
      ['subscriptions[0].headers', 5, 'must have at most 50 headers'],
    ]);
    expect(problems(subscription(`    headers: { X-Big: ${'v'.repeat(8192)} }`))).toEqual([]);
    expect(problems(subscription(`    headers: { X-Big: ${'v'.repeat(8193)} }`))).toEqual([
      ['subscriptions[0].headers.X-Big', 5, 'must be at most 8192 characters'],
    ]);
  });

  it('at most 30 retry delays of at most 30 days each', () => {
    expect(problems(subscription(`    retry_schedule: ${list(30, () => '30d')}`))).toEqual([]);
    expect(problems(subscription(`    retry_schedule: ${list(31, () => '1s')}`))).toEqual([
      ['subscriptions[0].retry_schedule', 5, 'must list at most 30 delays'],
    ]);
    expect(problems(subscription(`    retry_schedule: [1s, ${OVER_30D}]`))).toEqual([
      ['subscriptions[0].retry_schedule[1]', 5, 'must be at most 30d'],
    ]);
  });

  it('a timeout of at most 30 days', () => {
    expect(problems(subscription('    timeout: 30d'))).toEqual([]);
    expect(problems(subscription(`    timeout: ${OVER_30D}`))).toEqual([['subscriptions[0].timeout', 5, 'must be at most 30d']]);
  });

  it('a URL of at most 2048 characters', () => {
    const url = (n: number) => `https://x.test/${'a'.repeat(n - 'https://x.test/'.length)}`;
    const withUrl = (u: string) => ['subscriptions:', '  - id: a', `    url: ${u}`, '    signature: { scheme: none }'].join('\n');
    expect(problems(withUrl(url(2048)))).toEqual([]);
    expect(problems(withUrl(url(2049)))).toEqual([['subscriptions[0].url', 3, 'must be at most 2048 characters']]);
    // Percent-encoding makes it longer: the stored (normalised) form counts too.
    expect(problems(withUrl(`https://x.test/${'é'.repeat(400)}`))).toEqual([
      ['subscriptions[0].url', 3, 'must be at most 2048 characters once normalised (2415)'],
    ]);
  });

  it('a description of at most 1024 characters', () => {
    expect(problems(subscription(`    description: ${'d'.repeat(1024)}`))).toEqual([]);
    expect(problems(subscription(`    description: ${'d'.repeat(1025)}`))).toEqual([
      ['subscriptions[0].description', 5, 'must be at most 1024 characters'],
    ]);
  });

  it('a filter of at most 16kb as JSON', () => {
    // {"data.k":"…"} is 13 bytes around the value.
    const filter = (bytes: number) => `    filter: { "data.k": "${'f'.repeat(bytes - 13)}" }`;
    expect(json({ 'data.k': 'f'.repeat(3) }).length).toBe(16);
    expect(problems(subscription(filter(16_384)))).toEqual([]);
    expect(problems(subscription(filter(16_385)))).toEqual([
      ['subscriptions[0].filter', 5, 'must be at most 16kb (16384 bytes) as JSON, got 16385 bytes'],
    ]);
  });
});
