import { Hono } from 'hono';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { Rate } from '../lib/durations';
import type { IngestCommitter } from '../ingest/committer';
import { batchDataTexts, eventDataText } from '../ingest/data-text';
import { batchInputSchema, EVENT_ID, eventInputSchema } from '../ingest/event-input';
import { type MatchFn, prepareEvent } from '../ingest/prepare';
import type { IngestResult } from '../store/types';
import { bearerAuth } from './auth';
import { readJsonBody } from './body';
import type { CatalogVerdict } from '../catalog/catalog';
import { AppError, type FieldError, formatPath } from './problem';
import { createRateLimiter } from './rate-limit';
import { validate } from './validate';
import type { TenantIngestLimiter } from '../tenants/ingest-rate';

export interface IngestDeps {
  clock: Clock;
  committer: IngestCommitter;
  /** Ids of enabled subscriptions an event fans out to: the platform's and its tenant's. */
  match: MatchFn;
  /** Accepted bearer tokens; empty leaves ingest open. Read per request so a reload applies. */
  tokens: () => readonly string[];
  bodyLimit: () => number;
  /** `auth.rate_limit.ingest`: requests per token, null for off. Read per request so a reload applies. Absent: off. */
  rateLimit?: () => Rate | null;
  /** `limits.ingest_rate` of tenant records (SPEC 9): per tenant, per instance. Absent: not limited. */
  tenantLimiter?: TenantIngestLimiter;
  /** Where refused tokens are logged; absent: not logged. */
  logger?: Logger;
  /** The event type catalog (SPEC 11): unknown types and `data` against its type's schema. Absent: anything goes. */
  catalog?: { check(type: string, data: unknown): CatalogVerdict };
  /** Called with the events of each acknowledged request (metrics); `created` false for a replay. */
  onAccepted?: (events: readonly { created: boolean }[]) => void;
}

/** `POST /ingest` and `POST /ingest/batch` (SPEC 3). */
export function ingestRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  app.use('*', bearerAuth(deps.tokens, 'ingest', deps.logger));
  // After auth, so only valid tokens get a bucket: a flood of made-up tokens cannot grow the map.
  const limiter = createRateLimiter(() => deps.clock.now());
  app.use(
    '*',
    limiter.middleware(
      () => deps.rateLimit?.() ?? null,
      (c) => ingestKey(c.req.header('authorization'), deps.tokens()),
    ),
  );

  app.post('/', async (c) => {
    const body = await readJsonBody(c, deps.bodyLimit());
    const input = validate(eventInputSchema, body.value);
    checkCatalog(deps, [input], () => []);
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !EVENT_ID.test(idempotencyKey)) {
      throw new AppError(400, 'invalid_request', {
        detail: 'invalid Idempotency-Key header',
        errors: [{ path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters without spaces' }],
      });
    }
    if (input.tenant !== undefined) await limitTenants(deps, [input.tenant]);
    const event = prepareEvent(
      { ...input, dataText: eventDataText(body.text) },
      { idempotencyKey, now: deps.clock.now(), match: deps.match },
    );
    const [stored] = accepted(await deps.committer.submit([event]));
    deps.onAccepted?.([stored!]);
    return c.json({ id: stored!.id, deliveries: stored!.deliveries }, stored!.created ? 202 : 200);
  });

  app.post('/batch', async (c) => {
    const body = await readJsonBody(c, deps.bodyLimit());
    const input = validate(batchInputSchema, body.value);
    checkCatalog(deps, input.events, (i) => ['events', i]);
    await limitTenants(
      deps,
      input.events.flatMap((e) => (e.tenant === undefined ? [] : [e.tenant])),
    );
    const now = deps.clock.now();
    const dataTexts = batchDataTexts(body.text);
    const events = input.events.map((e, i) => prepareEvent({ ...e, dataText: dataTexts[i] }, { now, match: deps.match }));
    const repeated = repeatedWithOtherContent(events);
    if (repeated !== undefined) {
      throw new AppError(409, 'event_conflict', {
        detail: `event id ${repeated} appears twice in this batch with different type or data; nothing was stored`,
      });
    }
    const stored = accepted(await deps.committer.submit(events));
    deps.onAccepted?.(stored);
    const answer = { events: stored.map(({ id, deliveries }) => ({ id, deliveries })) };
    // A batch that only replays events stored before answers 200, like a single replay.
    return c.json(answer, stored.some((e) => e.created) ? 202 : 200);
  });

  return app;
}

/** Most `errors` entries in one answer: a batch of 1000 events each breaking its schema many times stays readable. */
const MAX_CATALOG_ERRORS = 1000;

/**
 * 400 before anything is stored when an event's type is unknown under `ingest.unknown_types:
 * reject`, or its `data` breaks its type's schema: one entry per violation, at its path in the
 * request (`data.amount`, `events[3].data.amount`).
 */
function checkCatalog(deps: IngestDeps, events: readonly { type: string; data?: unknown }[], at: (i: number) => (string | number)[]): void {
  if (!deps.catalog) return;
  const errors: FieldError[] = [];
  let invalid = false;
  events.forEach((e, i) => {
    const verdict = deps.catalog!.check(e.type, e.data === undefined ? {} : e.data);
    if (verdict.kind === 'unknown') {
      errors.push({
        path: formatPath([...at(i), 'type']),
        message: `'${e.type}' is not in the event type catalog (ingest.unknown_types is reject)`,
      });
    } else if (verdict.kind === 'invalid') {
      invalid = true;
      for (const p of verdict.problems) errors.push({ path: formatPath([...at(i), 'data', ...p.path]), message: p.message });
    }
  });
  if (errors.length === 0) return;
  const shown = errors.slice(0, MAX_CATALOG_ERRORS);
  const more = errors.length - shown.length;
  throw new AppError(400, invalid ? 'schema_violation' : 'unknown_event_type', {
    detail: `${invalid ? "data does not match its event type's schema" : 'unknown event type'}; nothing was stored${more > 0 ? ` (${more} more problems not listed)` : ''}`,
    errors: shown,
  });
}

/** 429 with Retry-After when a tenant's events are over its `limits.ingest_rate`; nothing is taken from any bucket then. */
async function limitTenants(deps: IngestDeps, tenants: readonly string[]): Promise<void> {
  if (!deps.tenantLimiter || tenants.length === 0) return;
  const counts = new Map<string, number>();
  for (const t of tenants) counts.set(t, (counts.get(t) ?? 0) + 1);
  const over = await deps.tenantLimiter.take(counts);
  if (over === null) return;
  throw new AppError(429, 'rate_limited', {
    detail: `tenant '${over.tenant}' is over its ingest_rate of ${over.rate.limit} events per ${over.rate.perMs / 1000}s; nothing was stored`,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(over.waitMs / 1000))) },
  });
}

/** The bucket of a request that passed auth: its token, or one shared bucket while ingest is open. */
function ingestKey(authorization: string | undefined, tokens: readonly string[]): string {
  const token = tokens.length === 0 ? undefined : /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
  return token ?? 'open';
}

/** An id given to two events of one batch with different content, if any (the same content twice is fine). */
function repeatedWithOtherContent(events: readonly { id: string; contentHash: string }[]): string | undefined {
  const seen = new Map<string, string>();
  for (const e of events) {
    const hash = seen.get(e.id);
    if (hash !== undefined && hash !== e.contentHash) return e.id;
    seen.set(e.id, e.contentHash);
  }
  return undefined;
}

function accepted(result: IngestResult) {
  if (result.kind === 'conflict') {
    throw new AppError(409, 'event_conflict', { detail: `event ${result.id} was already ingested with a different type, tenant or data` });
  }
  if (result.kind === 'tenant_erasing') {
    throw new AppError(409, 'tenant_erasing', {
      detail: `tenant '${result.tenant}' is being erased; its events are refused; nothing was stored`,
    });
  }
  return result.events;
}
