import { createHash } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import type { Config } from '../config/schema';
import { ChangeFollower, type FollowPolicy, coalescing } from '../lib/change-follower';
import type { Logger } from '../lib/logger';
import type { Store, StoredEventType } from '../store/types';
import { OPERATIONAL_TYPE_DOCS } from '../operational/types';
import { eventTypeBodySchema } from './definition';
import { compileJsonSchema, forget, type JsonSchemaProblem, violations } from './json-schema';

/** Where a catalog entry comes from: the config file and the relay itself are read-only over the API. */
export type EventTypeSource = 'config' | 'api' | 'builtin';

/** One event type in force. */
export interface CatalogEntry {
  name: string;
  description: string | null;
  /** JSON Schema of `data`; undefined: any data. */
  schema?: unknown;
  /** Example `data`; undefined: none. */
  example?: unknown;
  deprecated: boolean;
  internal: boolean;
  source: EventTypeSource;
  /** Identity of this definition: a compiled schema is reused while it stays the same. */
  version: string;
  /** API types only (epoch ms); null for config and built-in ones. */
  createdAt: number | null;
  updatedAt: number | null;
}

/** What ingest learns of one event's type and data. */
export type CatalogVerdict = { kind: 'ok' } | { kind: 'unknown' } | { kind: 'invalid'; problems: JsonSchemaProblem[] };

export interface CatalogDeps {
  store: Store;
  logger: Logger;
}

/** How often the catalog version is read when nothing announced a change (the safety net under NOTIFY). */
export const CATALOG_POLL_MS = 1000;

/** Following the store: the poll, and what is logged once per outage (when reading stops, and when it works again). */
const CATALOG_FOLLOW: FollowPolicy = {
  pollMs: CATALOG_POLL_MS,
  failing: 'cannot read the event type catalog; the types in force stay as they are',
  recovered: 'the event type catalog is read again',
};

/**
 * The event types in force (SPEC 11): the config's, the relay's own (SPEC 12) and the API's, derived
 * from the config and the store. Like the live set of subscriptions it is never changed by hand:
 * API writes go to the store (raising the catalog version), then `refresh()` reads the catalog
 * again if the version moved. Other instances learn of a change through `store.onEventTypeChange`
 * (Postgres NOTIFY) or the poll of the version, one small read a second. Schemas are compiled on
 * first use, once per type and version; a replaced or deleted type's compiled schema is dropped.
 */
export class EventCatalog {
  private fromConfig = new Map<string, CatalogEntry>();
  private fromStore = new Map<string, CatalogEntry>();
  private readonly builtins = new Map<string, CatalogEntry>(OPERATIONAL_TYPE_DOCS.map((b) => [b.name, builtinEntry(b)]));
  private sorted: CatalogEntry[] | undefined;
  private readonly compiled = new Map<string, { version: string; validate: ValidateFunction; schema: object | boolean }>();
  /** Catalog version of the store last read; -1: never read. */
  private seen = -1;
  /** A failed read leaves the types in force as they are. */
  private readonly follower: ChangeFollower;

  constructor(
    private readonly deps: CatalogDeps,
    private config: Config,
  ) {
    this.fromConfig = configEntries(config);
    this.follower = new ChangeFollower(CATALOG_FOLLOW, deps.logger, () => this.refresh());
  }

  /** Applies a new config (start, reload): its `event_types` and `ingest.unknown_types`. */
  setConfig(config: Config): void {
    this.config = config;
    this.fromConfig = configEntries(config);
    this.changed();
  }

  /**
   * Reads the stored catalog if its version moved since the last read. Calls while one runs share
   * the next run, so a caller that wrote a change and then awaits this sees it in force.
   */
  readonly refresh = coalescing(() => this.readIfMoved());

  private async readIfMoved(): Promise<void> {
    const { store, logger } = this.deps;
    if ((await store.eventTypesVersion()) === this.seen) return;
    const catalog = await store.listEventTypes();
    const entries = new Map<string, CatalogEntry>();
    for (const row of catalog.types) {
      const entry = storedEntry(row);
      if (entry) entries.set(row.name, entry);
      else logger.warn({ event_type: row.name }, 'a stored event type no longer validates; it is left out of the catalog');
    }
    this.fromStore = entries;
    this.seen = catalog.version;
    this.changed();
  }

  /** Keeps the catalog in step with other instances: their announcements and a poll. */
  start(): void {
    this.follower.start((onChange) => this.deps.store.onEventTypeChange?.(onChange));
  }

  stop(): void {
    this.follower.stop();
  }

  /** The type in force with this name: the relay's own, then the config's, then the API's. */
  get(name: string): CatalogEntry | undefined {
    return this.builtins.get(name) ?? this.fromConfig.get(name) ?? this.fromStore.get(name);
  }

  /** Every type in force, by name; a shared array, not to be modified. */
  all(): readonly CatalogEntry[] {
    if (this.sorted === undefined) {
      const names = new Set([...this.builtins.keys(), ...this.fromConfig.keys(), ...this.fromStore.keys()]);
      this.sorted = [...names].sort().map((n) => this.get(n)!);
    }
    return this.sorted;
  }

  /** Whether the config file declares `name` (read-only over the API). */
  declaredInConfig(name: string): boolean {
    return this.fromConfig.has(name);
  }

  /**
   * Judges one event at ingest: a type outside the catalog is `unknown` under
   * `ingest.unknown_types: reject` (fine under accept); data breaking its type's schema is
   * `invalid`, with every violation at its path inside `data`.
   */
  check(type: string, data: unknown): CatalogVerdict {
    const entry = this.get(type);
    if (!entry) return this.config.ingest.unknown_types === 'reject' ? { kind: 'unknown' } : { kind: 'ok' };
    if (entry.schema === undefined) return { kind: 'ok' };
    const problems = violations(this.validatorOf(entry), data);
    return problems.length === 0 ? { kind: 'ok' } : { kind: 'invalid', problems };
  }

  /** The compiled schema of a type, compiled once per version. */
  private validatorOf(entry: CatalogEntry): ValidateFunction {
    const cached = this.compiled.get(entry.name);
    if (cached?.version === entry.version) return cached.validate;
    if (cached) forget(cached.schema);
    const compiled = compileJsonSchema(entry.schema);
    // Every definition in force was validated when it was declared or stored.
    if (!compiled.ok) throw new Error(`event type ${entry.name}: its schema does not compile: ${compiled.problems[0]?.message}`);
    this.compiled.set(entry.name, { version: entry.version, validate: compiled.validate, schema: compiled.schema });
    return compiled.validate;
  }

  /** Drops what was derived from the entries: the sorted list, and compiled schemas of types gone or replaced. */
  private changed(): void {
    this.sorted = undefined;
    for (const [name, c] of this.compiled) {
      if (this.get(name)?.version === c.version) continue;
      forget(c.schema);
      this.compiled.delete(name);
    }
  }
}

function builtinEntry(b: (typeof OPERATIONAL_TYPE_DOCS)[number]): CatalogEntry {
  const base = { name: b.name, description: b.description, example: b.example, deprecated: false, internal: false };
  return { ...base, source: 'builtin', version: 'builtin', createdAt: null, updatedAt: null };
}

function configEntries(config: Config): Map<string, CatalogEntry> {
  return new Map(
    config.event_types.map((t) => {
      // The definition's own text names its version: a reload that keeps it keeps the compiled schema.
      const version = `config:${createHash('sha256').update(JSON.stringify(t)).digest('base64url')}`;
      const entry: CatalogEntry = {
        name: t.name,
        description: t.description ?? null,
        ...(t.schema !== undefined && { schema: t.schema }),
        ...(t.example !== undefined && { example: t.example }),
        deprecated: t.deprecated,
        internal: t.internal,
        source: 'config',
        version,
        createdAt: null,
        updatedAt: null,
      };
      return [t.name, entry];
    }),
  );
}

/** An API type from its row; null when its spec no longer validates. */
function storedEntry(row: StoredEventType): CatalogEntry | null {
  const parsed = eventTypeBodySchema.safeParse(row.spec);
  if (!parsed.success) return null;
  const t = parsed.data;
  return {
    name: row.name,
    description: t.description ?? null,
    ...(t.schema !== undefined && { schema: t.schema }),
    ...(t.example !== undefined && { example: t.example }),
    deprecated: t.deprecated,
    internal: t.internal,
    source: 'api',
    version: `api:${row.version}`,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
