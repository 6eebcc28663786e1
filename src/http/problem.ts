import type { Context } from 'hono';

/** One invalid field of a request: `path` like `events[3].type`. */
export interface FieldError {
  path: string;
  message: string;
}

/** The one error type of the HTTP edge (STYLE 9), rendered as RFC 9457 problem+json. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? title);
  }
}

const TYPE_BASE = 'https://hookrelay.dev/problems/';

/** Renders a problem+json response; `type` is a stable URI per status. */
export function problem(_c: Context, err: AppError): Response {
  const body: Record<string, unknown> = {
    type: TYPE_BASE + slug(err.title),
    title: err.title,
    status: err.status,
  };
  if (err.detail) body.detail = err.detail;
  if (err.errors) body.errors = err.errors;
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { 'content-type': 'application/problem+json', ...err.headers },
  });
}

const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(^-|-$)/g, '');

/** Field path of a zod issue: `events[3].type`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}
