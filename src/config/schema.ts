import { z } from 'zod';
import { DURATION_HINT, parseDuration, parseRate, parseSize, RATE_HINT, SIZE_HINT } from '../lib/durations';
import { checkUniqueNames, eventTypeSchema } from '../catalog/definition';
import { compileFilter } from '../filter';
import { blockedLiteral, blockedMessage } from '../net/guard';
import { literalHost } from '../net/ip-policy';
import { ed25519SecretProblem } from '../signing/ed25519';
import { VERSION } from '../version';
import { customHeaders, HEADER_NAME } from './custom-headers';
import { describeValue } from './errors';

// The config contract of SPEC section 2. Every object is strict so a misspelt key is an error,
// not a silently ignored setting. Durations become ms, sizes bytes, rates {limit, perMs} | null.

const SUBSCRIPTION_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// Segments of [A-Za-z0-9_:-] joined by '.', and '*' only as the last segment.
const EVENT_PATTERN = /^(?:[A-Za-z0-9_:-]+\.)*(?:[A-Za-z0-9_:-]+|\*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A field written in a human unit ("10s", "1mb", "50/s") and parsed into a number. */
function unitField<T>(parse: (s: string) => T, hint: string) {
  return z.unknown().transform((value, ctx): T => {
    // YAML turns `timeout: 10` into a number: say the unit is missing rather than "expected string".
    if (typeof value !== 'string' && typeof value !== 'number') {
      ctx.addIssue({ code: 'custom', message: `${hint}, got ${describeValue(value)}` });
      return z.NEVER;
    }
    try {
      return parse(String(value));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

/** Duration in ms, written "500ms", "10s", "5m", "2h" or "7d". */
const duration = () => unitField(parseDuration, DURATION_HINT);
/** Size in bytes, written "512b", "64kb", "1mb" or "1gb". */
const size = () => unitField(parseSize, SIZE_HINT);
/** Rate as {limit, perMs}, or null for `off` (YAML `false` means off too). */
const rate = () => z.preprocess((v) => (v === false ? 'off' : v), unitField(parseRate, RATE_HINT));

/** Longest subscription URL, characters, as given and once normalised. */
export const MAX_URL_LENGTH = 2048;

/**
 * An http(s) URL without credentials (they would be logged and shown in the UI), in its WHATWG
 * normal form (`HTTP://Example.COM:80/a/../b` → `http://example.com/b`): what is stored, shown and
 * dialled are the same string.
 */
const httpUrl = () =>
  z.string().transform((s, ctx) => {
    const tooLong = `must be at most ${MAX_URL_LENGTH} characters`;
    if (s.length > MAX_URL_LENGTH) {
      ctx.addIssue({ code: 'custom', message: tooLong });
      return z.NEVER;
    }
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `invalid URL '${s}'` });
      return z.NEVER;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must be http or https, got '${url.protocol.slice(0, -1)}'` });
    } else if (url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must not contain credentials (user:password@); use signature or headers instead' });
    } else if (url.href.length > MAX_URL_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `${tooLong} once normalised (${url.href.length})` });
    }
    return url.href;
  });

/** An IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8. */
const cidr = () =>
  z.string().refine((s) => z.cidrv4().safeParse(s).success || z.cidrv6().safeParse(s).success, {
    message: 'expected a CIDR like 10.0.0.0/8 or fd00::/8 (write one address as 10.0.0.5/32)',
  });

const headerName = (what: string) =>
  z.string().regex(HEADER_NAME, `${what} must contain only letters, digits and !#$%&'*+.^_\`|~- (no spaces or colons)`);

/** `server`: where the relay listens. */
const serverSchema = z.strictObject({
  /** Interface to bind; default 0.0.0.0 (all). */
  host: z.string().min(1).default('0.0.0.0'),
  /** TCP port; 0 picks a free one (tests); default 8080. */
  port: z.int().min(0).max(65535).default(8080),
  /** Largest accepted ingest body, bytes; default 1mb. */
  body_limit: size().prefault('1mb'),
  /** Origins allowed to call the API from a browser; default [] (none). */
  cors_origins: z.array(z.string().min(1)).default(() => []),
  /** How long SIGTERM waits for attempts in flight before exiting, ms; default 10s. Not in SPEC. */
  shutdown_grace: duration().prefault('10s'),
  /** How links to this relay are written (portal links, SPEC 10): an http(s) origin and optional path, no trailing `/`; default unset: no portal links. */
  public_url: publicUrl()
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
});

/** An http(s) URL without credentials, query or fragment. */
function publicUrl() {
  return z.string().refine((text) => {
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.search && !url.hash;
  }, 'must be an http:// or https:// URL without credentials, query or fragment');
}

/** An origin a browser sends (`https://app.example.com`, a port if not the default), for CSP frame-ancestors. */
const origin = z.string().refine((text) => URL.canParse(text) && new URL(text).origin === text && /^https?:/.test(text), {
  message: 'must be an origin like https://app.example.com (scheme, host and port only; no path or trailing /)',
});

/** `portal`: the customer portal at /portal (SPEC 10). */
const portalSchema = z.strictObject({
  /** Origins allowed to embed /portal in an iframe (CSP frame-ancestors); default [] (none). */
  frame_ancestors: z
    .array(origin)
    .max(50)
    .default(() => []),
  /** What the portal shows of the platform; default: no name, no logo, the default accent. */
  branding: z
    .strictObject({
      /** The platform's name, in the title and the expired-link page; default unset ("your platform"). */
      name: z.string().min(1).max(100).optional(),
      /** The logo shown in the header; its origin (only it) joins the portal's img-src; default unset. */
      logo_url: z
        .string()
        .refine(
          (text) => URL.canParse(text) && ['https:', 'http:'].includes(new URL(text).protocol),
          'logo_url must be an http:// or https:// URL',
        )
        .optional(),
      /** Buttons and links, as #rrggbb; default #4f46e5. */
      accent_color: z
        .string()
        .regex(/^#[0-9a-fA-F]{6}$/, 'accent_color must be #rrggbb, e.g. #4f46e5')
        .default('#4f46e5'),
    })
    .prefault({}),
});

/** `storage.sqlite`: the default embedded store. */
const sqliteSchema = z.strictObject({
  /** Database file; its directory is created if missing; default ./data/hookrelay.db. */
  path: z.string().min(1).default('./data/hookrelay.db'),
  /** full: an acknowledged event survives power loss; normal: faster, may lose the last ones; default full. */
  synchronous: z.enum(['full', 'normal']).default('full'),
  /**
   * Directory where POST /api/v1/backup writes its copies (it must exist; only plain file names
   * inside it are accepted); default unset: that route answers 409 and writes nothing.
   */
  backup_dir: z.string().min(1).optional(),
});

/** `storage.postgres`: several relay instances share one database. */
const postgresSchema = z.strictObject({
  /** Connection URL, postgres:// or postgresql://; required. */
  url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a URL starting with postgres:// or postgresql://'),
  /** How long a lease outlives its attempt's timeout before another instance may take the delivery over, ms; default 30s. */
  lease_margin: duration().prefault('30s'),
  /** Connections this instance opens at most; default 10. */
  max_connections: z.number().int().min(1).max(1000).default(10),
  /** A connection not established by then fails (503, retried), ms; default 5s. */
  connect_timeout: duration().prefault('5s'),
  /** A statement the server has not answered by then fails (503, retried), ms; default 10s. Also bounds a server that stops answering. */
  statement_timeout: duration().prefault('10s'),
});

/** A key for AES-256-GCM at rest: base64 of exactly 32 bytes (`openssl rand -base64 32`). */
const encryptionKey = () =>
  z.string().refine((s) => BASE64.test(s) && Buffer.from(s, 'base64').length === 32, {
    message: 'expected base64 of exactly 32 bytes (make one with: openssl rand -base64 32)',
  });

/** `storage`: at most one backend; sqlite with its defaults when none is named. */
const storageSchema = z
  .strictObject({
    /** Embedded SQLite file; the default backend. */
    sqlite: sqliteSchema.optional(),
    /** Shared PostgreSQL database instead of sqlite; default unset. */
    postgres: postgresSchema.optional(),
    /**
     * Key (base64 of 32 bytes) that encrypts the secrets of API subscriptions at rest (AES-256-GCM):
     * signing secrets and header values; default unset: they are stored in clear (warned at start).
     */
    encryption_key: encryptionKey().optional(),
    /** Older keys, still used to decrypt what they encrypted (key rotation; nothing is written with them); default unset (none). */
    previous_encryption_keys: z.array(encryptionKey()).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.sqlite && s.postgres) {
      ctx.addIssue({ code: 'custom', path: ['postgres'], message: 'choose one of storage.sqlite or storage.postgres, not both' });
    }
  })
  .transform((s) => (s.postgres ? s : { ...s, sqlite: s.sqlite ?? sqliteSchema.parse({}) }));

/** One entry of `auth.admin_tokens`. */
const adminTokenSchema = z.strictObject({
  /** Who holds the token; shown in logs, never the token itself; required. */
  name: z.string().min(1),
  /** Bearer token, at least 16 characters so it cannot be guessed; required. */
  token: z.string().min(16, 'must be at least 16 characters'),
  /**
   * What the token may do: read (GET) and/or write (the rest); tenants: the tenant routes only
   * (SPEC 9; write covers them too); default [read, write].
   */
  scopes: z
    .array(z.enum(['read', 'write', 'tenants']))
    .min(1)
    .default((): ('read' | 'write' | 'tenants')[] => ['read', 'write']),
});

/** `auth`: who may call the relay. */
const authSchema = z
  .strictObject({
    /** Bearer tokens accepted on /ingest, at least 16 characters each; default [] leaves ingest open (warned at start). */
    ingest_tokens: z.array(z.string().min(16, 'must be at least 16 characters')).default(() => []),
    /** Bearer tokens for /api/v1 and /ui; default []. */
    admin_tokens: z.array(adminTokenSchema).default(() => []),
    /** Per-token request rates; over it: 429 with Retry-After. */
    rate_limit: z
      .strictObject({
        /** Ingest requests per token, e.g. 1000/s; default off (null). */
        ingest: rate().prefault('off'),
        /** Admin requests per token; default off (null). */
        admin: rate().prefault('off'),
      })
      .prefault({}),
  })
  .superRefine(checkTokensDistinct);

/**
 * One token, one holder: the same admin token under two names (with other scopes) would be matched
 * by whichever comes first, so it is refused, as is an ingest token that is also an admin token.
 */
function checkTokensDistinct(auth: { ingest_tokens: string[]; admin_tokens: { name: string; token: string }[] }, ctx: z.RefinementCtx) {
  const holder = new Map<string, string>();
  auth.admin_tokens.forEach((t, i) => {
    const first = holder.get(t.token);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['admin_tokens', i, 'token'],
        message: `the same token is already given to '${first}'; give each holder its own`,
      });
    } else holder.set(t.token, t.name);
  });
  auth.ingest_tokens.forEach((t, i) => {
    const admin = holder.get(t);
    if (admin !== undefined)
      ctx.addIssue({ code: 'custom', path: ['ingest_tokens', i], message: `is also the admin token of '${admin}'; use separate tokens` });
  });
}

const DEFAULT_RETRY_SCHEDULE = ['5s', '5m', '30m', '2h', '5h', '10h', '10h'];

/** `delivery`: how attempts are made. */
const deliverySchema = z.strictObject({
  /** Whole attempt (connect, headers, body), ms; default 10s. */
  timeout: duration().pipe(z.number().positive('must be longer than 0ms')).prefault('10s'),
  /** Delay before each retry, ms; attempts = 1 + length; default [5s, 5m, 30m, 2h, 5h, 10h, 10h]. */
  retry_schedule: z.array(duration()).prefault(() => [...DEFAULT_RETRY_SCHEDULE]),
  /** Each delay is scaled by a random factor in [1-j, 1+j]; 0..1; default 0.2. */
  jitter: z.number().min(0).max(1).default(0.2),
  /** Attempts in flight across all subscriptions; default 256. */
  concurrency: z.int().min(1).default(256),
  /** Prefix of the relay's own headers (SPEC section 5); default X-Hookrelay-. */
  header_prefix: headerName('header_prefix').default('X-Hookrelay-'),
  /** User-Agent of every attempt; default hookrelay/<version>. */
  user_agent: z.string().min(1).default(`hookrelay/${VERSION}`),
  /** Bytes of the receiver's answer kept per attempt; default 64kb. */
  max_response_body: size().prefault('64kb'),
  /** Allow loopback/private/link-local targets (SPEC section 7); default false. */
  allow_private_networks: z.boolean().default(false),
  /** CIDRs reachable even when private networks are blocked; default []. */
  allowed_networks: z.array(cidr()).default(() => []),
  /** Disable a subscription that has failed this long without one success, ms; default 5d. */
  disable_after: duration().prefault('5d'),
  /** Names (case-insensitive) of subscription headers whose values views and attempt records show; default [] (all `[redacted]`). */
  visible_headers: z.array(headerName('visible_headers entry')).default(() => []),
});

/** `tenants` (SPEC 9): bounds on what tenants' own endpoints may do. */
const tenantsSchema = z.strictObject({
  /** CIDRs tenants' endpoints may reach although private; default [] (whatever delivery.* says). */
  allowed_networks: z.array(cidr()).default(() => []),
  /** Subscriptions per tenant unless its record's limits.max_subscriptions says otherwise; default 20. */
  max_subscriptions: z.int().min(0).default(20),
  /** The most one tenant subscription may ask for. */
  subscription_bounds: z
    .strictObject({
      /** Longest attempt timeout, ms; default 30s. */
      timeout: duration().pipe(z.number().positive('must be longer than 0ms')).prefault('30s'),
      /** Most attempts in flight; default 16. */
      max_in_flight: z.int().min(1).default(16),
      /** Most retry delays (retry_schedule entries); default 10. */
      retries: z.int().min(0).default(10),
      /** Longest retry delay, ms; default 24h. */
      max_delay: duration().prefault('24h'),
    })
    .prefault({}),
});

/** `ingest`: what producers may send (SPEC 11). */
const ingestSchema = z.strictObject({
  /** accept | reject: a type not in the event type catalog is refused with 400 under reject; default accept. Applies at reload. */
  unknown_types: z.enum(['accept', 'reject']).default('accept'),
});

/** `retention`: when finished events are deleted. */
const retentionSchema = z.strictObject({
  /** Age after which events whose deliveries all succeeded are deleted, ms; default 7d. */
  succeeded: duration().prefault('7d'),
  /** Age after which events with a failed delivery are deleted, ms; default 30d. */
  failed: duration().prefault('30d'),
});

/** `alerts`: when operational events (SPEC 12) are emitted; reloadable. */
const alertsSchema = z.strictObject({
  /** Consecutive failed attempts that make a subscription `failing` (hookrelay.subscription.failing); default 10. */
  failing_after: z.number().int().min(1, 'must be at least 1').default(10),
  /** Age of a subscription's oldest waiting delivery that emits hookrelay.backlog.delayed, ms; default 15m. */
  backlog_age: duration().pipe(z.number().positive('must be longer than 0ms')).prefault('15m'),
});

/** `log`: pino settings. */
const logSchema = z.strictObject({
  /** Pino level; default info. */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** json | pretty; default unset: pretty when stdout is a terminal, json otherwise. */
  format: z.enum(['json', 'pretty']).optional(),
});

const SIGNING_SCHEMES = ['standard-webhooks', 'ed25519', 'stripe', 'github', 'hmac-sha256', 'none'] as const;

/** One entry of `signature.previous_secrets`: an old secret still signed with until it expires. */
const previousSecretSchema = z.strictObject({
  /** The old secret, same format as `secret`; required. */
  secret: z.string().min(1),
  /** When to stop signing with it: ISO 8601 datetime → epoch ms; required. */
  expires: z.iso
    .datetime({ offset: true, message: 'expected an ISO 8601 datetime like 2026-12-01T00:00:00Z' })
    .transform((s) => Date.parse(s)),
});

/** `subscriptions[].signature`: how each request is signed. */
const signatureFields = z.strictObject({
  /** standard-webhooks | ed25519 | stripe | github | hmac-sha256 | none; default standard-webhooks. */
  scheme: z.enum(SIGNING_SCHEMES).default('standard-webhooks'),
  /** Signing secret; required unless scheme is none (whsec_… for standard-webhooks, whsk_… for ed25519). */
  secret: z.string().min(1).optional(),
  /** Old secrets still signed with until they expire (rotation); default []. */
  previous_secrets: z.array(previousSecretSchema).default(() => []),
  /** Header carrying the signature; hmac-sha256 only, and required for it. */
  header: headerName('header').optional(),
  /** Signature encoding, hex | base64; hmac-sha256 only; default hex. */
  encoding: z.enum(['hex', 'base64']).default('hex'),
  /** Text before the signature, e.g. "sha256="; hmac-sha256 only; default "". */
  prefix: z.string().default(''),
});
const signatureSchema = signatureFields.superRefine(checkSignature).prefault({});

type SignatureFields = z.output<typeof signatureFields>;

function checkSignature(sig: SignatureFields, ctx: z.RefinementCtx): void {
  checkHmacOnly(sig, ctx);
  if (sig.scheme === 'none') return;
  if (sig.secret === undefined) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: 'signature.secret is required unless scheme is none' });
  } else {
    checkSecretFormat(sig.scheme, sig.secret, ['secret'], ctx);
  }
  for (const [i, p] of sig.previous_secrets.entries()) checkSecretFormat(sig.scheme, p.secret, ['previous_secrets', i, 'secret'], ctx);
}

function checkHmacOnly(sig: SignatureFields, ctx: z.RefinementCtx): void {
  if (sig.scheme === 'hmac-sha256') {
    if (sig.header === undefined)
      ctx.addIssue({ code: 'custom', path: ['header'], message: 'signature.header is required for scheme hmac-sha256' });
    return;
  }
  // encoding and prefix have defaults, so only a non-default value shows the user set them.
  const stray = [sig.header !== undefined && 'header', sig.encoding !== 'hex' && 'encoding', sig.prefix !== '' && 'prefix'];
  for (const key of stray) {
    if (key) ctx.addIssue({ code: 'custom', path: [key], message: `signature.${key} applies only to scheme hmac-sha256` });
  }
}

/** Checks the key format each scheme's receivers expect, so a typo fails at start, not at the receiver. */
function checkSecretFormat(scheme: string, secret: string, path: (string | number)[], ctx: z.RefinementCtx): void {
  if (scheme === 'ed25519') {
    // Only 32- or 64-byte keys can sign, and a 64-byte one must carry its own public key.
    const problem = ed25519SecretProblem(secret);
    if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
    return;
  }
  if (scheme !== 'standard-webhooks') return;
  const body = secret.slice('whsec_'.length);
  const bytes = BASE64.test(body) ? Buffer.from(body, 'base64').length : 0;
  if (secret.startsWith('whsec_') && bytes >= 24 && bytes <= 64) return;
  ctx.addIssue({ code: 'custom', path, message: `a standard-webhooks secret must be 'whsec_' followed by base64 of 24 to 64 bytes` });
}

/** Most event patterns one subscription may list. */
export const MAX_EVENT_PATTERNS = 100;
/** Most retry delays one subscription may list. */
export const MAX_RETRY_DELAYS = 30;
/** Longest duration a subscription may set (timeout, each retry delay; also keep_old_for), ms: 30 days. */
export const MAX_SUBSCRIPTION_DURATION_MS = 30 * 86_400_000;
/** Longest `description`, characters. */
export const MAX_DESCRIPTION_LENGTH = 1024;
/** Largest `filter`, bytes of its JSON text (UTF-8): 16kb. */
export const MAX_FILTER_BYTES = 16 * 1024;

/** A duration a subscription sets, ms: at most MAX_SUBSCRIPTION_DURATION_MS. */
const subscriptionDuration = () => duration().pipe(z.number().max(MAX_SUBSCRIPTION_DURATION_MS, 'must be at most 30d'));

/** One subscription, as in the config file and as the admin API accepts it. Sizes are bounded (SPEC 13). */
export const subscriptionSchema = z
  .strictObject({
    /** Stable name, [a-z0-9][a-z0-9_-]{0,63}, unique; required. */
    id: z.string().regex(SUBSCRIPTION_ID, 'must match [a-z0-9][a-z0-9_-]{0,63} (lowercase letters, digits, _ and -)'),
    /** Receiver, http or https, at most 2048 characters; stored normalised; required. */
    url: httpUrl(),
    /** Free text for people, at most 1024 characters; default unset. */
    description: z.string().max(MAX_DESCRIPTION_LENGTH, `must be at most ${MAX_DESCRIPTION_LENGTH} characters`).optional(),
    /** Event type patterns, at most 100; "*" as the last segment matches one or more segments; default ["*"]. */
    events: z
      .array(
        z
          .string()
          .regex(EVENT_PATTERN, "expected an event type pattern like 'invoice.paid', 'payment.*' or '*' ('*' only as the last segment)"),
      )
      .min(1, 'must list at least one event pattern; use ["*"] for all')
      .max(MAX_EVENT_PATTERNS, `must list at most ${MAX_EVENT_PATTERNS} event patterns`)
      .default(() => ['*']),
    /** Condition on the envelope (SPEC section 6), at most 16kb as JSON, validated here with every problem's path; default unset. */
    filter: z.record(z.string(), z.unknown()).superRefine(checkFilter).optional(),
    /** false: no new deliveries are made for it; default true. */
    enabled: z.boolean().default(true),
    /** How requests are signed; default {scheme: standard-webhooks}, which needs a secret. */
    signature: signatureSchema,
    /** envelope: the whole event; data: only its data; default envelope. */
    payload: z.enum(['envelope', 'data']).default('envelope'),
    /** AES-256-GCM body (SPEC section 5); default false. */
    encrypt: z.boolean().default(false),
    /** Headers added to every request, at most 50; no Host, framing or hop-by-hop ones (see custom-headers.ts); default {}. */
    headers: customHeaders().default(() => ({})),
    /** Attempt timeout, ms, at most 30d; default unset: delivery.timeout. */
    timeout: subscriptionDuration().pipe(z.number().positive('must be longer than 0ms')).optional(),
    /** Retry delays, ms, at most 30 of at most 30d each; default unset: delivery.retry_schedule. */
    retry_schedule: z.array(subscriptionDuration()).max(MAX_RETRY_DELAYS, `must list at most ${MAX_RETRY_DELAYS} delays`).optional(),
    /** Most attempts started per window for this subscription, or null (off); default unset: no limit. */
    rate_limit: rate().optional(),
    /** Most attempts in flight for this subscription; default unset (resolved by the dispatcher). */
    max_in_flight: z.int().min(1).optional(),
    /** none | fifo (one delivery at a time, in event order); default none. */
    ordering: z.enum(['none', 'fifo']).default('none'),
  })
  .superRefine(checkSubscription);

/** Reports every problem of a filter at its own path inside it (`filter.data.amount.$gte`). */
function checkFilter(filter: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (!filterFits(filter, ctx)) return;
  const compiled = compileFilter(filter);
  if (!compiled.ok) for (const e of compiled.errors) ctx.addIssue({ code: 'custom', path: e.path, message: e.message });
}

/** False (with the issue) when a filter is over MAX_FILTER_BYTES: it is not compiled then. */
function filterFits(filter: Record<string, unknown>, ctx: z.RefinementCtx): boolean {
  const bytes = Buffer.byteLength(JSON.stringify(filter));
  if (bytes <= MAX_FILTER_BYTES) return true;
  ctx.addIssue({ code: 'custom', message: `must be at most 16kb (${MAX_FILTER_BYTES} bytes) as JSON, got ${bytes} bytes` });
  return false;
}

/** Headers every request carries from the relay itself; a signature header may not replace them. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

/** Rules that span several keys of one subscription. */
function checkSubscription(sub: { encrypt: boolean; signature: SignatureFields }, ctx: z.RefinementCtx): void {
  if (sub.encrypt && sub.signature.scheme === 'none') {
    ctx.addIssue({
      code: 'custom',
      path: ['encrypt'],
      message: 'encrypt: true needs a signature secret (the key is SHA-256 of it); scheme none has none',
    });
  }
  const header = sub.signature.header?.toLowerCase();
  if (header && RESERVED_HEADERS.has(header)) {
    ctx.addIssue({
      code: 'custom',
      path: ['signature', 'header'],
      message: `'${sub.signature.header}' is set by the relay itself; choose another header name`,
    });
  }
}

/** Reports the second and later uses of a subscription id at their own `id` path. */
function checkUniqueIds(subs: unknown[], ctx: z.RefinementCtx): void {
  const firstIndex = new Map<string, number>();
  subs.forEach((sub, i) => {
    const id = (sub as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: [i, 'id'],
        message: `duplicate subscription id '${id}' (first used by subscriptions[${first}])`,
      });
  });
}

/** `sub_` starts the ids the relay makes for API subscriptions (SPEC 9): a config id may not take it. */
function checkConfigIds(subs: unknown[], ctx: z.RefinementCtx): void {
  subs.forEach((sub, i) => {
    const id = (sub as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id.startsWith('sub_')) {
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: "may not start with 'sub_' (the prefix of ids the relay makes)" });
    }
  });
}

/** The whole config file (SPEC section 2). */
export const configSchema = z
  .strictObject({
    /** Listening socket and HTTP limits. */
    server: serverSchema.prefault({}),
    /** Where events and deliveries are kept; default sqlite at ./data/hookrelay.db. */
    storage: storageSchema.prefault({}),
    /** Tokens and rate limits. */
    auth: authSchema.prefault({}),
    /** Attempts, retries and network safety. */
    delivery: deliverySchema.prefault({}),
    /** How long finished events are kept. */
    retention: retentionSchema.prefault({}),
    /** Thresholds of operational events (SPEC 12). */
    alerts: alertsSchema.prefault({}),
    /** Bounds on tenants' own endpoints (SPEC 9). */
    tenants: tenantsSchema.prefault({}),
    /** The customer portal (SPEC 10). */
    portal: portalSchema.prefault({}),
    /** Logging. */
    log: logSchema.prefault({}),
    /** What /ingest accepts beyond SPEC 3 (unknown event types). */
    ingest: ingestSchema.prefault({}),
    /** The event type catalog declared in the file (read-only over the API); default []. */
    event_types: z
      .array(eventTypeSchema)
      .check(z.superRefine(checkUniqueNames, { when: () => true }))
      .default(() => []),
    /** Receivers declared in the file; default []. */
    subscriptions: z
      .array(subscriptionSchema)
      // Runs even when an entry is invalid, so a duplicate id is reported with the other problems.
      .check(z.superRefine(checkUniqueIds, { when: () => true }))
      .check(z.superRefine(checkConfigIds, { when: () => true }))
      .default(() => []),
  })
  // Runs even when other parts are invalid, so check-config shows a blocked URL with every other problem.
  .check(z.superRefine(checkDestinations, { when: () => true }));

/**
 * A subscription whose URL is a literal address the network guard would block fails at load, with
 * its line, instead of at its first attempt. Host names are checked when they are dialled.
 */
function checkDestinations(
  config: { delivery?: { allow_private_networks?: unknown; allowed_networks?: unknown }; subscriptions?: unknown },
  ctx: z.RefinementCtx,
): void {
  const delivery = config.delivery;
  const allowed = Array.isArray(delivery?.allowed_networks) ? (delivery.allowed_networks as string[]) : [];
  if (delivery?.allow_private_networks === true || !Array.isArray(config.subscriptions)) return;
  const rules = { allowPrivateNetworks: false, allowedNetworks: allowed };
  (config.subscriptions as { url?: unknown }[]).forEach((sub, i) => {
    // Zod runs this even when a URL failed its own check; that one is already reported.
    if (typeof sub?.url !== 'string' || !URL.canParse(sub.url)) return;
    const address = literalHost(sub.url);
    const blocked = address === null ? null : blockedLiteral(address, rules);
    if (blocked) ctx.addIssue({ code: 'custom', path: ['subscriptions', i, 'url'], message: blockedMessage(blocked, rules) });
  });
}

/** The validated config: durations in ms, sizes in bytes, rates as {limit, perMs} | null. */
export type Config = z.output<typeof configSchema>;
