// JSON Schema (2020-12) for event payloads (SPEC 11), on Ajv. Two things Ajv would allow are
// refused here before it compiles: a `$ref` that leaves the schema (it would mean fetching, or a
// registry of other documents), and a regular expression the linear-time engine cannot run.
// Every `pattern` and `patternProperties` key runs on RE2 (the engine of filter `$regex`), so no
// schema can make ingest backtrack for seconds on a short hostile string.

import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { compileLinear } from '../filter/regex';

/** A problem with a schema or a value, at a path of keys and indexes inside it. */
export interface JsonSchemaProblem {
  path: (string | number)[];
  message: string;
}

/** Longest `pattern` (or `patternProperties` key), in UTF-16 code units. */
export const MAX_SCHEMA_PATTERN_LENGTH = 1024;

/** Largest schema, bytes of its JSON text: 64kb. */
export const MAX_SCHEMA_BYTES = 64 * 1024;

/** The only `$schema` accepted (the dialect Ajv runs); absent means the same. */
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const LINEAR = 'event type schemas use linear-time (RE2) regular expressions';

/**
 * `code.regExp` for Ajv: patterns on RE2. Ajv keys its cache of compiled patterns by toString(),
 * so that must name the pattern. Patterns reaching here were checked by schemaProblems.
 */
function re2Engine(pattern: string): { test(input: string): boolean; toString(): string } {
  const compiled = compileLinear(pattern, 0, { what: 'pattern', why: LINEAR });
  if (typeof compiled === 'string') throw new Error(compiled);
  return { test: (input) => compiled.test(input), toString: () => `re2:${pattern}` };
}
re2Engine.code = 're2';

// One instance for every schema: `addUsedSchema: false` keeps two types' equal `$id`s from
// clashing; compiled schemas are dropped with forget(). `strict: false`: 2020-12 lets a schema
// carry keywords it does not know (`example`, `x-…`) as annotations. `format` is an annotation
// too (no format is checked), as the 2020-12 default says.
const ajv = new Ajv2020({
  allErrors: true,
  strict: false,
  validateFormats: false,
  addUsedSchema: false,
  code: { regExp: re2Engine },
});

/** A schema compiled, or every problem found with it (paths inside the schema). */
export type CompiledSchema =
  | { ok: true; validate: ValidateFunction; schema: object | boolean }
  | { ok: false; problems: JsonSchemaProblem[] };

/** Checks and compiles a schema (an object or a boolean). Call forget() with it once it is no longer used. */
export function compileJsonSchema(schema: unknown): CompiledSchema {
  if (typeof schema !== 'boolean' && !isObject(schema)) {
    return { ok: false, problems: [{ path: [], message: 'a JSON Schema is an object (or true / false)' }] };
  }
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > MAX_SCHEMA_BYTES) {
    return { ok: false, problems: [{ path: [], message: `must be at most 64kb (${MAX_SCHEMA_BYTES} bytes) as JSON, got ${bytes} bytes` }] };
  }
  const problems = schemaProblems(schema, []);
  // Ajv throws on a `$schema` it does not know, rather than saying so.
  if (problems.some((p) => p.path.length === 1 && p.path[0] === '$schema')) return { ok: false, problems };
  if (!validSchema(schema)) {
    // One problem per place: a bad `type` alone fails enum, type and the anyOf joining them.
    const first = new Map<string, ErrorObject>();
    for (const e of ajv.errors ?? []) if (!first.has(e.instancePath)) first.set(e.instancePath, e);
    problems.push(...[...first.values()].map((e) => ({ path: pointerPath(e.instancePath), message: metaMessage(e) })));
  }
  if (problems.length > 0) return { ok: false, problems };
  try {
    return { ok: true, validate: ajv.compile(schema), schema };
  } catch (err) {
    // A local `$ref` to nothing, say: Ajv finds it only while compiling.
    return { ok: false, problems: [{ path: [], message: `invalid schema: ${(err as Error).message}` }] };
  }
}

/** Validates against the 2020-12 meta-schema; a schema Ajv cannot even look at (it throws) is reported as one error. */
function validSchema(schema: object | boolean): boolean {
  try {
    return ajv.validateSchema(schema) as boolean;
  } catch (err) {
    ajv.errors = [{ instancePath: '', schemaPath: '', keyword: 'invalid', params: {}, message: (err as Error).message }];
    return false;
  }
}

/** Drops a compiled schema from Ajv's cache (a type replaced or deleted). */
export function forget(schema: object | boolean): void {
  if (typeof schema === 'object') ajv.removeSchema(schema);
}

/**
 * Every violation of `value` against a compiled schema, each at its path inside the value: a
 * missing required property at the property (`amount`), an unknown one at itself.
 */
export function violations(validate: ValidateFunction, value: unknown): JsonSchemaProblem[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const path = valuePath(value, e.instancePath);
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof params.missingProperty === 'string')
      return { path: [...path, params.missingProperty], message: 'is required' };
    if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
      return { path: [...path, params.additionalProperty], message: 'is not allowed (additionalProperties)' };
    if (e.keyword === 'unevaluatedProperties' && typeof params.unevaluatedProperty === 'string')
      return { path: [...path, params.unevaluatedProperty], message: 'is not allowed (unevaluatedProperties)' };
    return { path, message: e.message ?? `fails ${e.keyword}` };
  });
}

// Keywords whose values are data, not schemas: a `$ref` or `pattern` inside them means nothing.
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/** Remote references and regular expressions RE2 cannot run, anywhere in the schema. */
function schemaProblems(node: unknown, path: (string | number)[]): JsonSchemaProblem[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => schemaProblems(item, [...path, i]));
  if (!isObject(node)) return [];
  const problems: JsonSchemaProblem[] = [];
  for (const [key, value] of Object.entries(node)) {
    const at = [...path, key];
    if (DATA_KEYWORDS.has(key)) continue;
    if ((key === '$ref' || key === '$dynamicRef' || key === '$recursiveRef') && typeof value === 'string' && !value.startsWith('#')) {
      problems.push({
        path: at,
        message: `remote references are not allowed ('${value}'): only references inside the schema, like '#/$defs/amount'`,
      });
    } else if (key === '$schema' && path.length === 0 && value !== DIALECT && value !== `${DIALECT}#`) {
      problems.push({ path: at, message: `only JSON Schema 2020-12 is supported: omit $schema or write '${DIALECT}'` });
    } else if (key === 'pattern' && typeof value === 'string') {
      const problem = patternProblem(value);
      if (problem) problems.push({ path: at, message: problem });
    } else if (key === 'patternProperties' && isObject(value)) {
      for (const name of Object.keys(value)) {
        const problem = patternProblem(name);
        if (problem) problems.push({ path: [...at, name], message: problem });
      }
    }
    problems.push(...schemaProblems(value, at));
  }
  return problems;
}

function patternProblem(pattern: string): string | null {
  if (pattern.length > MAX_SCHEMA_PATTERN_LENGTH)
    return `pattern is ${pattern.length} characters; the limit is ${MAX_SCHEMA_PATTERN_LENGTH}`;
  const compiled = compileLinear(pattern, 0, { what: 'pattern', why: LINEAR });
  return typeof compiled === 'string' ? compiled : null;
}

/** A meta-schema error in words: which keyword of the schema is wrong and how. */
function metaMessage(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'type') return `must be ${String(params.type)} here`;
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues))
    return `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return e.message ?? `fails ${e.keyword}`;
}

/** A JSON Pointer (`/a/0/b`) as path segments; numbers only where `value` holds an array. */
function valuePath(value: unknown, pointer: string): (string | number)[] {
  const path: (string | number)[] = [];
  let node = value;
  for (const key of pointerPath(pointer)) {
    const seg = Array.isArray(node) && /^\d+$/.test(String(key)) ? Number(key) : String(key);
    path.push(seg);
    node = isObject(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[seg] : undefined;
  }
  return path;
}

function pointerPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
