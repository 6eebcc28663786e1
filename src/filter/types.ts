/** Where a problem sits inside the filter object: keys and array indices from its root. */
export type FilterPath = (string | number)[];

/** One thing wrong with a filter, located relative to the filter object so a caller can prefix its own path. */
export interface FilterError {
  /** Keys and indices from the filter root, e.g. `['$or', 1, 'type']`; `[]` for the filter itself. */
  path: FilterPath;
  /** What is wrong, in words an operator can act on. */
  message: string;
}

/** A compiled filter: true when the envelope passes. Never throws, whatever it is given. */
export type FilterPredicate = (envelope: unknown) => boolean;

/** The outcome of compileFilter: a predicate, or every problem found (never just the first). */
export type CompileFilterResult = { ok: true; match: FilterPredicate } | { ok: false; errors: FilterError[] };

/** A test on the value found at a path; it receives MISSING (a symbol) when the path is absent. */
export type ValueTest = (value: unknown) => boolean;

/** How deep a filter may nest objects and arrays, counting the filter object itself as 1. */
export const MAX_FILTER_DEPTH = 32;
