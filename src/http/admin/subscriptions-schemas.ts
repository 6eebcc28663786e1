import { z } from '@hono/zod-openapi';
import { z as zod } from 'zod';
import { MAX_SUBSCRIPTION_DURATION_MS, subscriptionSchema } from '../../config/schema';
import { DURATION_HINT, parseDuration, RATE_HINT } from '../../lib/durations';

// OpenAPI schemas of the subscription routes. Request bodies are checked here only for being a
// JSON object: the real check is the config's own subscriptionSchema (in src/subscriptions), so the API
// accepts exactly what the config file does and reports every problem at once, with its path.

/** The config's subscription schema as JSON Schema (input side), with the unit fields described. */
function subscriptionJsonSchema(): Record<string, unknown> {
  const schema = zod.toJSONSchema(subscriptionSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete schema.$schema;
  const properties = schema.properties as Record<string, unknown>;
  properties.timeout = { type: 'string', description: `attempt timeout; ${DURATION_HINT}; default delivery.timeout`, example: '10s' };
  properties.retry_schedule = {
    type: 'array',
    items: { type: 'string', example: '5m' },
    description: 'delay before each retry; default delivery.retry_schedule',
  };
  properties.rate_limit = { type: 'string', description: `attempts started per time for this subscription; ${RATE_HINT}`, example: '50/s' };
  return schema;
}

const inputJson = subscriptionJsonSchema();

/** POST body: one subscription as in the config file plus `tenant`; `id` and `signature.secret` generated when omitted. */
export const SubscriptionInputSchema = z.looseObject({}).openapi('SubscriptionInput', {
  ...inputJson,
  properties: {
    ...(inputJson.properties as Record<string, unknown>),
    tenant: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
      description: 'the tenant it belongs to (404 if the tenant has no record); fixed at creation',
      example: 'acct_42',
    },
  },
  required: ['url'],
  description:
    'A subscription as in the config file (SPEC 2), plus an optional `tenant`. `id` may be omitted: `sub_` + 26 lower-case ' +
    'characters is made. `signature.secret` may be omitted: one is generated for the scheme and answered once.',
});

/** PATCH body: any top-level fields of a subscription. */
export const SubscriptionPatchSchema = z.looseObject({}).openapi('SubscriptionPatch', {
  ...inputJson,
  required: [],
  description:
    'Top-level fields to change; null removes one (back to its default). A given `signature` replaces the stored one, except that, ' +
    'while the scheme stays the same, an omitted `secret` or `previous_secrets` keeps the stored ones. `id` cannot change. ' +
    'Config-declared subscriptions accept only `enabled`.',
});

const SCHEMES = ['standard-webhooks', 'ed25519', 'stripe', 'github', 'hmac-sha256', 'none'] as const;
const isoString = (description: string) => z.string().openapi({ description, format: 'date-time', example: '2026-11-23T10:00:00.000Z' });

const HealthSchema = z
  .object({
    last_success_at: isoString('last successful attempt').nullable(),
    last_failure_at: isoString('last failed attempt').nullable(),
    failure_streak: z.number().int().openapi({ description: 'failed attempts since the last success' }),
    backlog: z.number().int().openapi({ description: 'deliveries waiting (pending + retrying)' }),
    oldest_waiting_at: isoString('creation time of the oldest waiting delivery').nullable(),
  })
  .openapi('SubscriptionHealth');

const SignatureViewSchema = z
  .object({
    scheme: z.enum(SCHEMES),
    header: z.string().optional().openapi({ description: 'hmac-sha256 only' }),
    encoding: z.enum(['hex', 'base64']).optional().openapi({ description: 'hmac-sha256 only' }),
    prefix: z.string().optional().openapi({ description: 'hmac-sha256 only' }),
    public_key: z.string().optional().openapi({ description: 'ed25519 only: the whpk_… key receivers verify with', example: 'whpk_…' }),
    previous_secrets: z
      .array(z.object({ expires: isoString('when this old secret stops signing') }))
      .openapi({ description: 'old secrets still signing (never the secrets themselves)' }),
  })
  .openapi('SignatureView', { description: 'how requests are signed; secrets are never shown here' });

/** A subscription as the API shows it: no secrets; durations as strings. */
export const SubscriptionSchema = z
  .object({
    id: z.string().openapi({ example: 'billing' }),
    source: z
      .enum(['config', 'api'])
      .openapi({ description: 'config: declared in the config file (only enabled may change); api: created over this API' }),
    tenant: z.string().nullable().openapi({ description: 'the tenant it belongs to; null for platform subscriptions', example: 'acct_42' }),
    url: z.string(),
    description: z.string().optional(),
    events: z.array(z.string()),
    filter: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().openapi({ description: 'effective: as declared, or as changed at run time (API, or 410 Gone)' }),
    disabled_reason: z.string().nullable(),
    signature: SignatureViewSchema,
    payload: z.enum(['envelope', 'data']),
    encrypt: z.boolean(),
    headers: z.record(z.string(), z.string()),
    timeout: z.string().optional().openapi({ example: '10s' }),
    retry_schedule: z.array(z.string()).optional(),
    rate_limit: z.string().optional().openapi({ example: '50/s' }),
    max_in_flight: z.number().int().optional(),
    ordering: z.enum(['none', 'fifo']),
    health: HealthSchema,
    created_at: isoString('API subscriptions only').optional(),
    updated_at: isoString('API subscriptions only').optional(),
  })
  .openapi('Subscription');

/** The answer to a create: the view plus `signature.secret`, shown this once. */
export const CreatedSubscriptionSchema = SubscriptionSchema.extend({
  signature: SignatureViewSchema.extend({
    secret: z.string().optional().openapi({ description: 'the signing secret; shown only in this answer (absent for scheme none)' }),
  }),
}).openapi('CreatedSubscription');

/** `{id}` of every per-subscription route. */
export const SubscriptionIdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'billing' }) });

/** POST /subscriptions/{id}/rotate-secret body. */
export const RotateSecretBody = z.strictObject({
  secret: z.string().min(1).optional().openapi({ description: 'the new secret; default: generated for the scheme' }),
  keep_old_for: z
    .string()
    .refine((s) => isDuration(s), DURATION_HINT)
    .refine((s) => !isDuration(s) || parseDuration(s) <= MAX_SUBSCRIPTION_DURATION_MS, 'must be at most 30d')
    .default('24h')
    .openapi({ description: 'how long the old secret keeps signing next to the new one; at most 30d', example: '24h' }),
});

/** The answer to a rotation. */
export const RotationSchema = z
  .object({
    secret: z.string().openapi({ description: 'the new secret; shown only in this answer' }),
    public_key: z.string().optional().openapi({ description: 'ed25519 only: the new whpk_… public key' }),
    previous_secrets: z.array(z.object({ expires: isoString('when this old secret stops signing') })),
  })
  .openapi('SecretRotation');

const requiredIso = (description: string) =>
  z.iso
    .datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-11-23T10:00:00Z' })
    .transform((s) => Date.parse(s))
    .openapi({ description, example: '2026-11-23T10:00:00Z' });

/** POST /subscriptions/{id}/recover body. */
export const RecoverBody = z.strictObject({
  since: requiredIso('deliveries created at or after this time'),
  until: requiredIso('deliveries created before this time; default now').optional(),
});

function isDuration(s: string): boolean {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}
