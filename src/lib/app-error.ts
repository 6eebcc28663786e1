/** One invalid field of a request: `path` like `events[3].type` (see formatPath). */
export interface FieldError {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  /** What went wrong in this case, for people. */
  detail?: string | undefined;
  /** One entry per invalid field (400s). */
  errors?: FieldError[] | undefined;
  /** Headers the answer carries, e.g. `retry-after`. */
  headers?: Record<string, string> | undefined;
  cause?: unknown;
}

/**
 * The one error type a caller can act on (STYLE 9): an HTTP status, a machine `code` that names the
 * problem (its problem+json `type` URI is built from it, so an id conflict and a config-declared
 * subscription are different problems even though both are 409), and details. Domain modules throw
 * it; the HTTP edge (src/http/problem.ts) renders it. Codes are snake_case and stable.
 */
export class AppError extends Error {
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    readonly status: number,
    readonly code: string,
    opts: AppErrorOptions = {},
  ) {
    super(opts.detail ?? code, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.detail = opts.detail;
    this.errors = opts.errors && opts.errors.length > 0 ? opts.errors : undefined;
    this.headers = opts.headers;
  }
}

/** 400 `invalid_request` listing every invalid field. */
export const invalidRequest = (detail: string, errors: FieldError[] = []) => new AppError(400, 'invalid_request', { detail, errors });

/** 404 `not_found`. */
export const notFound = (detail: string) => new AppError(404, 'not_found', { detail });

/** A field path as the API writes it: `['events', 3, 'type']` → `events[3].type`; empty → `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}
