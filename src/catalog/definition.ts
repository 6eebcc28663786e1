import { z } from 'zod';
import { EVENT_TYPE, RESERVED_TYPE_PREFIX } from '../ingest/event-type';
import { compileJsonSchema, forget, violations } from './json-schema';

// One event type of the catalog (SPEC 11), as the config file declares it and as
// `PUT /event-types/{name}` accepts it: the same schema, so both refuse the same definitions.

/** Longest `description`, characters. */
export const MAX_EVENT_TYPE_DESCRIPTION = 1024;
/** Largest `example`, bytes of its JSON text: 64kb. */
export const MAX_EXAMPLE_BYTES = 64 * 1024;

/** An event type name as SPEC 3 writes types; `hookrelay.*` are the relay's own (built in). */
export const eventTypeName = z
  .string()
  .regex(EVENT_TYPE, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')
  .refine((t) => !t.startsWith(RESERVED_TYPE_PREFIX), `types starting '${RESERVED_TYPE_PREFIX}' are the relay's own (built in)`);

/** The fields of a definition besides its name. */
const fields = {
  /** For people: what happened when this event is sent, at most 1024 characters; default unset. */
  description: z.string().max(MAX_EVENT_TYPE_DESCRIPTION, `must be at most ${MAX_EVENT_TYPE_DESCRIPTION} characters`).optional(),
  /** JSON Schema 2020-12 that `data` must match at ingest (no remote $ref; RE2 patterns); default unset: any data. */
  schema: z.unknown().optional(),
  /** A `data` value, sent by test events of this type; it must match `schema`; default unset. */
  example: z.unknown().optional(),
  /** Still accepted, but producers and subscribers should move off it; default false. */
  deprecated: z.boolean().default(false),
  /** Hidden from tenant credentials (catalog, portal, OpenAPI), who cannot subscribe to it; default false. */
  internal: z.boolean().default(false),
};

/** One `event_types[]` entry of the config. */
export const eventTypeSchema = z.strictObject({ name: eventTypeName, ...fields }).superRefine(checkSchemaAndExample);

/** The body of `PUT /event-types/{name}`: `name`, if given, must be the one in the path (checked by the route). */
export const eventTypeBodySchema = z.strictObject({ name: z.string().optional(), ...fields }).superRefine(checkSchemaAndExample);

/** A definition as validated (defaults applied). */
export type EventTypeDefinition = z.output<typeof eventTypeSchema>;

/**
 * The schema compiles (every problem at its path inside `schema`), and the example, if any,
 * matches it (every violation at its path inside `example`). The compiled schema is dropped:
 * the catalog compiles it again, once per type and version.
 */
function checkSchemaAndExample(def: { schema?: unknown; example?: unknown }, ctx: z.RefinementCtx): void {
  if (def.example !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(def.example) ?? '');
    if (bytes > MAX_EXAMPLE_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['example'],
        message: `must be at most 64kb (${MAX_EXAMPLE_BYTES} bytes) as JSON, got ${bytes} bytes`,
      });
      return;
    }
  }
  if (def.schema === undefined) return;
  const compiled = compileJsonSchema(def.schema);
  if (!compiled.ok) {
    for (const p of compiled.problems) ctx.addIssue({ code: 'custom', path: ['schema', ...p.path], message: p.message });
    return;
  }
  if (def.example !== undefined) {
    for (const v of violations(compiled.validate, def.example)) {
      ctx.addIssue({ code: 'custom', path: ['example', ...v.path], message: `the example does not match the schema: ${v.message}` });
    }
  }
  forget(compiled.schema);
}

/** Reports the second and later uses of a type name at their own `name` path. */
export function checkUniqueNames(types: unknown[], ctx: z.RefinementCtx): void {
  const firstIndex = new Map<string, number>();
  types.forEach((t, i) => {
    const name = (t as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `duplicate event type '${name}' (first declared by event_types[${first}])`,
      });
  });
}
