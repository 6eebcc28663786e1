// `$regex` operands. Filters run synchronously at ingest for every event and subscription, so a
// backtracking engine (JS RegExp) lets one pattern such as ^(a|a)*$ stall the whole relay on a short
// hostile string. They run on RE2 instead (re2js, pure JS): time linear in the input, whatever the
// pattern, because RE2 has no constructs that need backtracking. Those constructs (backreferences,
// lookaround, possessive quantifiers, ...) are refused here with a message naming them.

import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/** Longest `$regex` pattern accepted, in UTF-16 code units. */
export const MAX_REGEX_LENGTH = 256;

/**
 * Most RE2 instructions a compiled `$regex` may hold. Matching costs at most about input length ×
 * instructions, and counted repetition expands (`(a{1,30}){1,30}` is ~1,900), so this bounds the
 * constant of the linear time; RE2's own limit is far higher.
 */
export const MAX_REGEX_PROGRAM_SIZE = 2000;

/** The flags `$options` may hold: i, m and s as in JS; u is accepted and changes nothing (RE2 always matches code points). */
export const REGEX_FLAGS = 'imsu';

const FLAG_BITS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL, u: 0 };

/** Why a construct is refused: appended to every message naming one. */
const LINEAR = 'filters use linear-time (RE2) regular expressions';

/** A compiled `$regex`: `test` is true when the pattern matches anywhere in the string (like RegExp.test). */
export interface FilterRegex {
  test(input: string): boolean;
}

/** A compiled `$regex`, or the problems with it keyed by the operator they belong to. */
export type CompiledRegex = { ok: true; regex: FilterRegex } | { ok: false; errors: { at: '$regex' | '$options'; message: string }[] };

/** Validates and compiles `$regex` with its optional `$options` (undefined when absent). */
export function compileRegex(pattern: unknown, options: unknown): CompiledRegex {
  const errors: { at: '$regex' | '$options'; message: string }[] = [];
  const flags = checkFlags(options);
  if (typeof flags !== 'number') errors.push({ at: '$options', message: flags.message });
  if (typeof pattern !== 'string') {
    errors.push({ at: '$regex', message: `$regex takes a string pattern, got ${kind(pattern)}` });
  } else if (pattern.length > MAX_REGEX_LENGTH) {
    errors.push({ at: '$regex', message: `$regex pattern is ${pattern.length} characters; the limit is ${MAX_REGEX_LENGTH}` });
  } else {
    const compiled = tryCompile(pattern, typeof flags === 'number' ? flags : 0);
    if (typeof compiled === 'string') errors.push({ at: '$regex', message: compiled });
    else if (errors.length === 0) return { ok: true, regex: compiled };
  }
  return { ok: false, errors };
}

function checkFlags(options: unknown): number | { message: string } {
  if (options === undefined) return 0;
  if (typeof options !== 'string') return { message: `$options takes a string of flags from '${REGEX_FLAGS}', got ${kind(options)}` };
  let bits = 0;
  for (const [i, flag] of [...options].entries()) {
    if (!REGEX_FLAGS.includes(flag)) return { message: `unknown flag '${flag}' in $options; allowed: ${[...REGEX_FLAGS].join(', ')}` };
    if (options.indexOf(flag) !== i) return { message: `flag '${flag}' is repeated in $options` };
    bits |= FLAG_BITS[flag]!;
  }
  return bits;
}

function tryCompile(pattern: string, flags: number): RE2JS | string {
  return compileLinear(pattern, flags, { what: '$regex pattern', why: LINEAR });
}

/**
 * Compiles `pattern` on RE2 (linear time in the input, whatever the pattern), or says why not in
 * words naming `what` (e.g. "pattern") and `why` linear-time expressions are used. The program
 * size is bounded by MAX_REGEX_PROGRAM_SIZE; the pattern's length is the caller's to bound. Also
 * used for JSON Schema `pattern` and `patternProperties` (catalog/json-schema.ts).
 */
export function compileLinear(pattern: string, flags: number, words: { what: string; why: string }): RE2JS | string {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, flags);
  } catch (e) {
    if (e instanceof RE2JSSyntaxException) return describeSyntaxError(pattern, e, words.why);
    if (e instanceof RE2JSException) return `Invalid regular expression: ${e.message}`;
    throw e; // not a verdict on the pattern: a bug, let it surface
  }
  const size = re.programSize();
  if (size > MAX_REGEX_PROGRAM_SIZE) {
    return `${words.what} is too complex: it compiles to ${size} instructions, the limit is ${MAX_REGEX_PROGRAM_SIZE} (counted repetitions such as {1,100} are expanded; use * or + where the count does not matter)`;
  }
  return re;
}

/**
 * Names the construct RE2 refused when it is one a backtracking engine would have accepted; other
 * syntax errors keep RE2's own words ("missing closing ): `(`"). `e.input` is the offending text.
 */
function describeSyntaxError(pattern: string, e: RE2JSSyntaxException, linear: string): string {
  const at = e.input ?? '';
  const unsupported = (what: string) => `${what} are not supported: ${linear}`;
  if (e.error === 'invalid escape sequence') {
    if (/^\\[1-9k]/.test(at) || at === '\\g') return unsupported(`backreferences (${at})`);
    if (at === '\\u') return `\\u escapes are not supported: write \\x{00e9} for U+00E9 (${linear})`;
    return `the escape ${at} is not supported: ${linear} (see https://github.com/google/re2/wiki/Syntax)`;
  }
  if (e.error === 'invalid named capture' && /^\(\?<[=!]/.test(at)) return unsupported('lookbehind assertions ((?<= and (?<!)');
  if (e.error === 'invalid nested repetition operator' && at.endsWith('+')) return unsupported(`possessive quantifiers (${at})`);
  if (e.error === 'invalid or unsupported Perl syntax') {
    if (at === '(?=' || at === '(?!') return unsupported('lookahead assertions ((?= and (?!)');
    if (at === '(?>') return unsupported('atomic groups ((?>…))');
    if (at === '(?(') return unsupported('conditionals ((?(…)…|…))');
    if (at === '(?P' && pattern.includes('(?P=')) return unsupported('backreferences ((?P=name))');
    if (/^\(\?(?:R|\d|&|P)/.test(at)) return unsupported(`recursion and subroutine calls (${at}…)`);
  }
  return `Invalid regular expression: ${e.message.replace(/^error parsing regexp: /, '')}`;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
