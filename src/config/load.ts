import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, formatPath, issueEntries, readableIssue, type Problem } from './errors';
import { configSchema, type Config } from './schema';

/** Environment used for `${VAR}` substitution. */
export type Env = Record<string, string | undefined>;

/** Reads and validates a config file; throws ConfigError listing every problem. `env` defaults to process.env. */
export function loadConfig(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [{ path: '(root)', line: null, column: null, message: `cannot read config file: ${(err as Error).message}` }],
      file,
    );
  }
  return parseConfigText(text, { env, fileName: file });
}

/** Validates config text: `${VAR}` substitution, YAML, schema. Throws ConfigError. */
export function parseConfigText(text: string, opts: { env: Env; fileName?: string }): Config {
  const fileName = opts.fileName ?? '<config>';
  const subst = substituteEnv(text, opts.env);
  const lineCounter = new LineCounter();
  const doc = parseDocument(subst.text, { lineCounter, prettyErrors: false });
  const locate = createLocator(doc, lineCounter);
  if (doc.errors.length > 0) {
    const syntax = doc.errors.map((e) => locate.offset('(root)', e.pos[0], e.message));
    throw configError([...subst.problems.map((p) => envProblem(p, [])), ...syntax], fileName);
  }
  // A missing variable was replaced by nothing; its path tells which schema complaints it caused.
  const envPaths = subst.problems.map((p) => pathAtOffset(doc, doc.contents, p.offset, []));
  const envProblems = subst.problems.map((p, i) => envProblem(p, envPaths[i]!));
  const result = configSchema.safeParse(doc.toJS() ?? {}, { error: readableIssue });
  if (!result.success || envProblems.length > 0) {
    const issues = result.success ? [] : result.error.issues.flatMap(issueEntries);
    const caused = (path: PropertyKey[]) => envPaths.some((p) => startsWith(path, p));
    const schemaProblems = issues.filter((e) => !caused(e.path)).map((e) => locate.path(e.path, e.message, e.isKey));
    throw configError([...envProblems, ...schemaProblems], fileName);
  }
  return result.data;
}

function configError(problems: Problem[], fileName: string): ConfigError {
  // File order reads best; problems without a line go last. Array.sort is stable.
  const sorted = [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  return new ConfigError(sorted, fileName);
}

function envProblem(p: EnvProblem, path: PropertyKey[]): Problem {
  return { path: formatPath(path), line: p.line, column: p.column, message: p.message };
}

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length > 0 && prefix.every((seg, i) => String(seg) === String(path[i]));
}

// ---- ${VAR} substitution ------------------------------------------------------------------

/** A bad or missing variable reference: line/column in the raw text, offset in the substituted text. */
interface EnvProblem {
  line: number;
  column: number;
  offset: number;
  message: string;
}

// `$${` is an escape for a literal `${`; a `${` without its `}` is reported rather than kept.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replaces `${VAR}` and `${VAR:-default}` (default also when VAR is empty, as in sh) line by line,
 * outside comments, before YAML parsing: so `port: ${PORT:-8080}` is a number. Values are inserted
 * raw; a value with a newline would shift later line numbers, and is best avoided.
 */
export function substituteEnv(text: string, env: Env): { text: string; problems: EnvProblem[] } {
  const problems: EnvProblem[] = [];
  const out: string[] = [];
  let offset = 0;
  text.split('\n').forEach((raw, i) => {
    const done = substituteLine(raw, env);
    for (const p of done.problems) problems.push({ line: i + 1, column: p.column, offset: offset + p.outIndex, message: p.message });
    out.push(done.line);
    offset += done.line.length + 1;
  });
  return { text: out.join('\n'), problems };
}

function substituteLine(raw: string, env: Env) {
  const end = commentStart(raw);
  const code = raw.slice(0, end);
  const problems: { column: number; outIndex: number; message: string }[] = [];
  let line = '';
  let last = 0;
  for (const m of code.matchAll(REFERENCE)) {
    line += code.slice(last, m.index);
    last = m.index + m[0].length;
    const value = resolveReference(m[0], m[1], env);
    if (typeof value === 'string') line += value;
    else problems.push({ column: m.index + 1, outIndex: line.length, message: value.problem });
  }
  return { line: line + code.slice(last) + raw.slice(end), problems };
}

function resolveReference(match: string, inner: string | undefined, env: Env): string | { problem: string } {
  if (match === '$${') return '${';
  if (inner === undefined) return { problem: "unterminated '${' (missing '}'); write '$${' for a literal '${'" };
  const m = NAME_AND_DEFAULT.exec(inner);
  if (!m) return { problem: `invalid variable reference '\${${inner}}': expected \${NAME} or \${NAME:-default}` };
  const name = m[1]!;
  const value = env[name];
  if (m[2] !== undefined && (value === undefined || value === '')) return m[2];
  if (value === undefined) return { problem: `environment variable ${name} is not set (write \${${name}:-default} to give a default)` };
  return value;
}

/** Index where a YAML comment starts: `#` at line start or after whitespace, outside quotes. */
function commentStart(line: string): number {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === '"' && c === '\\') i++;
    else if (quote === "'" && c === "'" && line[i + 1] === "'") i++;
    else if (quote !== null) quote = c === quote ? null : quote;
    else if ((c === '"' || c === "'") && opensQuote(line, i)) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return i;
  }
  return line.length;
}

/** A quote only starts a quoted scalar where a value can start; in `it's` it is just a letter. */
function opensQuote(line: string, i: number): boolean {
  const before = line.slice(0, i).trimEnd();
  return before === '' || ':-[{,?'.includes(before[before.length - 1]!);
}

// ---- positions ----------------------------------------------------------------------------

/** Turns schema paths and raw offsets into Problems with 1-based line and column. */
function createLocator(doc: Document, lineCounter: LineCounter) {
  const at = (offset: number) => lineCounter.linePos(offset);
  return {
    offset(path: string, offset: number, message: string): Problem {
      const { line, col } = at(offset);
      return { path, line, column: col, message };
    },
    path(path: PropertyKey[], message: string, isKey: boolean): Problem {
      const node = nodeAtPath(doc, path, isKey);
      const start = node?.range?.[0];
      if (start === undefined) return { path: formatPath(path), line: null, column: null, message };
      const { line, col } = at(start);
      return { path: formatPath(path), line, column: col, message };
    },
  };
}

/**
 * The deepest node along `path` that exists in the file: for a missing key that is its parent map,
 * for an unknown key (`isKey`) the key itself, for a key with no value the key.
 */
function nodeAtPath(doc: Document, path: PropertyKey[], isKey: boolean): Node | null {
  let node = resolve(doc, doc.contents);
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (!pair) return node;
      const value = resolve(doc, pair.value);
      if ((last && isKey) || value === null || isEmptyScalar(value)) return pair.key as Node;
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = resolve(doc, node.items[seg]);
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}

/** The path of the deepest node whose text covers `offset` (used to place a missing variable). */
function pathAtOffset(doc: Document, raw: unknown, offset: number, path: PropertyKey[]): PropertyKey[] {
  const node = resolve(doc, raw);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (covers(pair.value, offset) || inGapAfterKey(pair.key, pair.value, offset))
        return pathAtOffset(doc, pair.value, offset, [...path, keyText(pair.key)]);
      if (covers(pair.key, offset)) return [...path, keyText(pair.key)];
    }
  } else if (isSeq(node)) {
    const i = node.items.findIndex((item) => covers(item, offset));
    if (i >= 0) return pathAtOffset(doc, node.items[i], offset, [...path, i]);
  }
  return path;
}

function resolve(doc: Document, raw: unknown): Node | null {
  if (isAlias(raw)) return (raw.resolve(doc) as Node | undefined) ?? null;
  return (raw as Node | null | undefined) ?? null;
}

function covers(raw: unknown, offset: number): boolean {
  const range = (raw as Node | null)?.range;
  // Inclusive end: a variable replaced by nothing leaves an empty node at exactly that offset.
  return !!range && offset >= range[0] && offset <= range[1];
}

/** `key: ${X}   # note` leaves an empty value that starts after the spaces; the gap belongs to it. */
function inGapAfterKey(key: unknown, value: unknown, offset: number): boolean {
  const keyEnd = (key as Node | null)?.range?.[1];
  const valueEnd = (value as Node | null)?.range?.[1];
  return keyEnd !== undefined && valueEnd !== undefined && offset > keyEnd && offset <= valueEnd;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function isEmptyScalar(node: Node): boolean {
  return isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
}
