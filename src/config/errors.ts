import type { z } from 'zod';

/** One thing wrong with a config file, located as precisely as the file allows. */
export interface Problem {
  /** Where in the config, printed like `subscriptions[2].url`; `(root)` for the whole file. */
  path: string;
  /** 1-based line in the file, or null when no line applies (unreadable file, key absent at the root). */
  line: number | null;
  /** 1-based column, or null with line. */
  column: number | null;
  /** What is wrong, in words an operator can act on. */
  message: string;
}

/** Thrown by loadConfig/parseConfigText with every problem found, not just the first. */
export class ConfigError extends Error {
  /** Every problem, in file order. */
  readonly problems: Problem[];
  /** The file name used in the report. */
  readonly fileName: string;

  constructor(problems: Problem[], fileName: string) {
    super(formatProblems(problems, fileName));
    this.name = 'ConfigError';
    this.problems = problems;
    this.fileName = fileName;
  }
}

/** The report printed at start: `FILE:LINE:COL: path: message`, one problem per line. */
export function formatProblems(problems: Problem[], fileName: string): string {
  return problems
    .map((p) => {
      const where = p.line === null ? fileName : `${fileName}:${p.line}:${p.column ?? 1}`;
      return `${where}: ${p.path}: ${p.message}`;
    })
    .join('\n');
}

/** ['subscriptions', 2, 'url'] → `subscriptions[2].url`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(seg))) out += out === '' ? String(seg) : `.${String(seg)}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** A value as an operator wrote it, for "got …" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return typeof value === 'string' ? `'${value}'` : String(value);
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
};

/**
 * Zod error map with operator wording ("is required", "expected a list, got 'x'"); messages
 * written in the schema take precedence over it. Returns undefined to keep zod's own message.
 */
export function readableIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
      return `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      return sizeMessage('at least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return sizeMessage('at most', issue.origin, issue.maximum, issue.inclusive);
    default:
      return undefined;
  }
}

function sizeMessage(bound: 'at least' | 'at most', origin: string, limit: number | bigint, inclusive = true): string {
  if (origin === 'string' && bound === 'at least' && limit === 1) return 'must not be empty';
  if (origin === 'string') return `must be ${bound} ${limit} characters`;
  if (origin === 'array') return `must have ${bound} ${limit} ${limit === 1 ? 'entry' : 'entries'}`;
  if (!inclusive) return `must be ${bound === 'at least' ? 'more' : 'less'} than ${limit}`;
  return `must be ${bound} ${limit}`;
}

/** Splits a zod issue into problems: one per unknown key, pointed at that key. */
export function issueEntries(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string; isKey: boolean }[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], message: `unknown key '${key}'`, isKey: true }));
  }
  // A record's key schema reports "Invalid key in record"; its own message is the useful one.
  if (issue.code === 'invalid_key') {
    return [{ path: issue.path, message: issue.issues[0]?.message ?? issue.message, isKey: true }];
  }
  return [{ path: issue.path, message: issue.message, isKey: false }];
}
