/**
 * Subscription filters (SPEC section 6): a JSON condition on the event envelope
 * `{id, type, timestamp, data}`, compiled once into a predicate that runs at ingest.
 *
 * Language
 * - A filter is an object; its keys are ANDed. `{}` matches every event.
 * - A key is a dotted path starting at an envelope key (`type`, `data.amount`, `data.items.0.sku`;
 *   numeric segments index arrays), or `$and` / `$or` (non-empty arrays of filters), or `$not` (a filter).
 * - A path's condition is either a bare value (meaning `$eq`) or an operator object with one or more of
 *   `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex` (+ `$options`), all ANDed.
 *   An object mixing `$` keys and plain keys is an error; an object without `$` keys (including `{}`) is a
 *   literal compared structurally, and may not contain `$` keys at any depth (wrap it in `$eq` to allow that).
 *
 * Semantics
 * - A missing path (or one crossing a non-object) matches `$exists: false`, `$ne` and `$nin`, and nothing else.
 * - `$eq` is deep structural equality on JSON values with no coercion (`"100"` ≠ `100`, `1` = `1.0`);
 *   object key order is ignored, array order is not. `null` matches only an explicit null.
 * - Arrays are not searched implicitly (unlike MongoDB): `{ "data.tags": "a" }` does not match `["a"]`.
 * - `$gt $gte $lt $lte` compare numbers with numbers and strings with strings (UTF-16 code unit order,
 *   so ISO-8601 timestamps in one format compare chronologically); any other pairing is false.
 * - `$in` / `$nin` take an array and use `$eq` per element; `$in: []` never matches, `$nin: []` always does.
 * - `$exists` takes a boolean; a present `null` exists.
 * - `$regex` takes an RE2 pattern of at most 256 characters, tested against strings only (a match anywhere,
 *   unless anchored); `$options` may hold the flags `i m s u` (`u` changes nothing: RE2 matches code points).
 *   RE2 runs in time linear in the string, so no pattern can stall ingest (ReDoS); constructs that need
 *   backtracking (backreferences, lookaround, possessive quantifiers, atomic groups) are validation errors.
 * - Paths read own properties only; `__proto__`, `constructor` and `prototype` segments are errors.
 * - Nesting is capped at 32 levels of objects and arrays.
 *
 * compileFilter never throws on JSON input and the predicate never throws on any envelope.
 */
export { compileFilter } from './compile';
export { FIELD_OPERATORS } from './field';
export { ENVELOPE_KEYS } from './path';
export { MAX_REGEX_LENGTH, MAX_REGEX_PROGRAM_SIZE, REGEX_FLAGS } from './regex';
export { MAX_FILTER_DEPTH } from './types';
export type { CompileFilterResult, FilterError, FilterPath, FilterPredicate } from './types';
