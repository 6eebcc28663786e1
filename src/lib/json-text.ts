// Reading JSON *text* without turning it into values: where a value starts and ends, an object's
// keys. Ingest keeps `data` as the exact text it was sent in (SPEC 5), which JSON.parse cannot give:
// it rounds 9007199254740993 and has no positions. Every function here expects text that JSON.parse
// has already accepted, so the grammar is known to be right and the walk only has to skip; on other
// text the results are unspecified (they never loop forever: every step moves forward).

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index of the first character at or after `i` that is not JSON whitespace. */
export function skipSpace(text: string, i: number): number {
  while (i < text.length && SPACE.has(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the string token that starts at `i` (its opening quote). */
export function stringEnd(text: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    // A quote preceded by an odd run of backslashes is escaped; each run is counted once.
    let slash = quote - 1;
    while (text.charCodeAt(slash) === BACKSLASH) slash--;
    if ((quote - 1 - slash) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The value of the string token text[start, end): a slice when it has no escapes, else JSON.parse of it. */
export function decodeString(text: string, start: number, end: number): string {
  const token = text.slice(start, end);
  return token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1);
}

/** Index just past the JSON value that starts at `i`. Containers are skipped by counting brackets outside strings. */
export function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c !== 0x7b && c !== 0x5b) return scalarEnd(text, i);
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d === QUOTE) j = stringEnd(text, j) - 1;
    else if (d === 0x7b || d === 0x5b) depth++;
    else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
  }
  return text.length;
}

/** Index just past a number, `true`, `false` or `null` starting at `i`. */
function scalarEnd(text: string, i: number): number {
  let j = i + 1;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x2c || c === 0x7d || c === 0x5d || SPACE.has(c)) break;
  }
  return j;
}

/**
 * Calls `member` with each key (decoded) of the object whose `{` is at `i`, the index of its key
 * token and the index where its value starts; `member` returns the index just past that value.
 * Returns the index just past the closing `}`.
 */
export function eachMember(text: string, i: number, member: (key: string, keyAt: number, valueAt: number) => number): number {
  let j = skipSpace(text, i + 1);
  if (text.charCodeAt(j) === 0x7d) return j + 1;
  for (;;) {
    const keyEnd = stringEnd(text, j);
    const key = decodeString(text, j, keyEnd);
    const colon = skipSpace(text, keyEnd);
    j = skipSpace(text, member(key, j, skipSpace(text, colon + 1)));
    if (text.charCodeAt(j) !== 0x2c) return j + 1; // the closing brace
    j = skipSpace(text, j + 1);
  }
}

/** Like eachMember for the array whose `[` is at `i`: `element` gets each index and where its value starts. */
export function eachElement(text: string, i: number, element: (index: number, valueAt: number) => number): number {
  let j = skipSpace(text, i + 1);
  if (text.charCodeAt(j) === 0x5d) return j + 1;
  for (let n = 0; ; n++) {
    j = skipSpace(text, element(n, j));
    if (text.charCodeAt(j) !== 0x2c) return j + 1; // the closing bracket
    j = skipSpace(text, j + 1);
  }
}

/** A key that appears twice in one object: the key, where its second occurrence starts, and its path from the root. */
export interface DuplicateKey {
  key: string;
  position: number;
  path: (string | number)[];
}

/**
 * The first key that appears twice in one object, anywhere in the text (keys compared decoded, so
 * `"a"` and `"\u0061"` are the same), or null. JSON.parse keeps the last of them silently.
 */
export function findDuplicateKey(text: string): DuplicateKey | null {
  const path: (string | number)[] = [];
  let found: DuplicateKey | null = null;
  const walk = (i: number): number => {
    const c = text.charCodeAt(i);
    if (c === 0x7b) {
      const keys = new Set<string>();
      return eachMember(text, i, (key, keyAt, valueAt) => {
        if (found) return valueEnd(text, valueAt);
        if (keys.has(key)) found = { key, position: keyAt, path: [...path, key] };
        keys.add(key);
        path.push(key);
        const end = walk(valueAt);
        path.pop();
        return end;
      });
    }
    if (c === 0x5b) {
      return eachElement(text, i, (index, valueAt) => {
        if (found) return valueEnd(text, valueAt);
        path.push(index);
        const end = walk(valueAt);
        path.pop();
        return end;
      });
    }
    return valueEnd(text, i);
  };
  walk(skipSpace(text, 0));
  return found;
}

/** The exact text of the member `key` of the object at `i`, or undefined when it has none. */
export function memberText(text: string, i: number, key: string): string | undefined {
  let found: string | undefined;
  eachMember(text, i, (k, _keyAt, valueAt) => {
    const end = valueEnd(text, valueAt);
    if (k === key) found = text.slice(valueAt, end);
    return end;
  });
  return found;
}
