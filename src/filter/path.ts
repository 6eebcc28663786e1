// Dotted paths into the event envelope. Parsed once at compile time; the lookup reads only own
// properties, so a path can never reach Object.prototype (or anything inherited) whatever the event holds.

/** Stands for "no value at this path"; a symbol so it can never equal a JSON value. */
export const MISSING: unique symbol = Symbol('missing');

/** The envelope keys a path may start with (SPEC section 5). */
export const ENVELOPE_KEYS: readonly string[] = ['id', 'type', 'timestamp', 'data'];

// Rejected because they name prototype machinery, not data: a filter on them is either an attack
// probe or a mistake, and answering "missing" silently would hide the mistake.
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

// Canonical array indices only: "01" or "1e0" would be a second spelling of the same element.
const INDEX = /^(?:0|[1-9]\d{0,8})$/;

/** Reads the value at a parsed path, or MISSING. */
export type PathGetter = (root: unknown) => unknown;

/** A path parsed into a getter, or the reason it is invalid. */
export type ParsedPath = { ok: true; get: PathGetter } | { ok: false; message: string };

/** Parses `data.items.0.sku` into a getter; numeric segments index arrays, other segments read object keys. */
export function parsePath(path: string): ParsedPath {
  const keys = path.split('.');
  for (const [i, key] of keys.entries()) {
    if (key === '') return { ok: false, message: `invalid path '${path}': segment ${i + 1} is empty` };
    if (FORBIDDEN_SEGMENTS.has(key)) {
      return { ok: false, message: `invalid path '${path}': segment '${key}' is not allowed (only plain data keys are read)` };
    }
  }
  if (!ENVELOPE_KEYS.includes(keys[0]!)) {
    return {
      ok: false,
      message: `invalid path '${path}': it must start with ${ENVELOPE_KEYS.join(', ')} (the event envelope), e.g. 'data.${path}'`,
    };
  }
  const indices = keys.map((k) => (INDEX.test(k) ? Number(k) : -1));
  return { ok: true, get: (root) => lookup(root, keys, indices) };
}

function lookup(root: unknown, keys: readonly string[], indices: readonly number[]): unknown {
  let current: unknown = root;
  for (let i = 0; i < keys.length; i++) {
    if (typeof current !== 'object' || current === null) return MISSING;
    if (Array.isArray(current)) {
      // Arrays answer only to indices: `items.length` is not data and must read as missing.
      const index = indices[i]!;
      if (index < 0 || index >= current.length) return MISSING;
      current = current[index];
    } else {
      const key = keys[i]!;
      if (!Object.hasOwn(current, key)) return MISSING;
      current = (current as Record<string, unknown>)[key];
    }
  }
  // JSON has no undefined; an own property holding it (an envelope built in code) counts as absent.
  return current === undefined ? MISSING : current;
}
