// `$regex` operands. Filters run synchronously at ingest for every event and subscription, so one
// catastrophic pattern (ReDoS: exponential backtracking on input like "aaaa…!") would stall the whole
// relay. Node has no linear-time engine by default, so we bound what we can at compile time: the
// pattern length, and the classic exponential shape, a repeated group that itself repeats ((a+)+).
// This is a heuristic, not a proof: overlapping alternations such as (a|a)* still get through.

/** Longest `$regex` pattern accepted, in UTF-16 code units. */
export const MAX_REGEX_LENGTH = 256;

/** The JS RegExp flags `$options` may hold. `g` and `y` are refused: they make `test()` stateful. */
export const REGEX_FLAGS = 'imsu';

/** A compiled `$regex`, or the problems with it keyed by the operator they belong to. */
export type CompiledRegex = { ok: true; regex: RegExp } | { ok: false; errors: { at: '$regex' | '$options'; message: string }[] };

/** Validates and compiles `$regex` with its optional `$options` (undefined when absent). */
export function compileRegex(pattern: unknown, options: unknown): CompiledRegex {
  const errors: { at: '$regex' | '$options'; message: string }[] = [];
  const flags = checkFlags(options);
  if (typeof flags !== 'string') errors.push({ at: '$options', message: flags.message });
  if (typeof pattern !== 'string') {
    errors.push({ at: '$regex', message: `$regex takes a string pattern, got ${kind(pattern)}` });
  } else if (pattern.length > MAX_REGEX_LENGTH) {
    errors.push({ at: '$regex', message: `$regex pattern is ${pattern.length} characters; the limit is ${MAX_REGEX_LENGTH}` });
  } else {
    const compiled = tryCompile(pattern, typeof flags === 'string' ? flags : '');
    if (compiled instanceof RegExp) {
      if (errors.length === 0 && hasNestedRepetition(pattern)) {
        errors.push({
          at: '$regex',
          message:
            'pattern repeats a group that itself repeats (like (a+)+), which can take exponential time (ReDoS); rewrite it without nested repetition',
        });
      }
      if (errors.length === 0) return { ok: true, regex: compiled };
    } else {
      errors.push({ at: '$regex', message: compiled });
    }
  }
  return { ok: false, errors };
}

function checkFlags(options: unknown): string | { message: string } {
  if (options === undefined) return '';
  if (typeof options !== 'string') return { message: `$options takes a string of flags from '${REGEX_FLAGS}', got ${kind(options)}` };
  for (const [i, flag] of [...options].entries()) {
    if (!REGEX_FLAGS.includes(flag)) return { message: `unknown flag '${flag}' in $options; allowed: ${[...REGEX_FLAGS].join(', ')}` };
    if (options.indexOf(flag) !== i) return { message: `flag '${flag}' is repeated in $options` };
  }
  return options;
}

function tryCompile(pattern: string, flags: string): RegExp | string {
  try {
    return new RegExp(pattern, flags);
  } catch (e) {
    // V8's message already quotes the pattern: "Invalid regular expression: /(/: Unterminated group".
    return e instanceof Error ? e.message : String(e);
  }
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * True when a group quantified without an upper bound (`*`, `+`, `{n,}`) contains a variable
 * repetition (`*`, `+`, `?`, `{n,m}` with m > n), at any depth. Runs on patterns that already
 * compiled, so it can be a simple scanner rather than a full parser.
 */
export function hasNestedRepetition(pattern: string): boolean {
  const groups: boolean[] = []; // per open group: does its body repeat variably?
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    let innerRepeats = false;
    if (c === '(') {
      groups.push(false);
      i = skipGroupPrefix(pattern, i + 1);
      continue;
    } else if (c === ')') {
      innerRepeats = groups.pop() ?? false;
      i++;
    } else if (c === '|' || c === '^' || c === '$') {
      i++;
      continue; // not atoms: nothing can quantify them
    } else if (c === '[') {
      i = skipClass(pattern, i + 1);
    } else {
      i += c === '\\' ? 2 : 1;
    }
    const q = readQuantifier(pattern, i);
    if (q) {
      if (q.unbounded && innerRepeats) return true;
      i = q.end;
    }
    const last = groups.length - 1;
    if (last >= 0 && (innerRepeats || (q?.variable ?? false))) groups[last] = true;
  }
  return false;
}

// After "(": skips "?:", "?=", "?!", "?<=", "?<!" and "?<name>" so their characters are not read as atoms.
function skipGroupPrefix(p: string, i: number): number {
  if (p[i] !== '?') return i;
  if (p[i + 1] === '<' && p[i + 2] !== '=' && p[i + 2] !== '!') {
    const close = p.indexOf('>', i);
    return close < 0 ? p.length : close + 1;
  }
  return p[i + 1] === '<' ? i + 3 : i + 2;
}

// After "[": returns the index after the closing "]", honouring escapes inside the class.
function skipClass(p: string, i: number): number {
  while (i < p.length && p[i] !== ']') i += p[i] === '\\' ? 2 : 1;
  return i + 1;
}

function readQuantifier(p: string, i: number): { end: number; variable: boolean; unbounded: boolean } | null {
  const c = p[i];
  let q: { end: number; variable: boolean; unbounded: boolean } | null = null;
  if (c === '*' || c === '+') q = { end: i + 1, variable: true, unbounded: true };
  else if (c === '?') q = { end: i + 1, variable: true, unbounded: false };
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
    if (m) {
      const min = Number(m[1]);
      const unbounded = m[2] !== undefined && m[3] === '';
      const max = m[2] === undefined ? min : unbounded ? Infinity : Number(m[3]);
      q = { end: i + m[0].length, variable: max > min, unbounded };
    }
  }
  if (q && p[q.end] === '?') q.end++; // lazy suffix
  return q;
}
