import { z } from '@hono/zod-openapi';

/** RFC 9457 problem details, as every error of the API is answered. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** The error answers every admin route may give, for the OpenAPI description. */
export const problemResponses = (...statuses: number[]) => problemsOf([400, 401, 403, 429, 503, ...statuses]);

/** Problem answers for exactly these statuses. */
export const problemsOf = (statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: PROBLEM_TEXT[s] ?? 'error', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );

const PROBLEM_TEXT: Record<number, string> = {
  400: 'invalid request: every invalid field in `errors`',
  401: 'missing or invalid admin token',
  403: 'the token lacks the scope',
  404: 'not found',
  409: 'conflict with the current state',
  413: 'the body is over its size limit',
  415: 'the body is not application/json',
  429: 'rate limited; see Retry-After',
  503: 'storage unavailable; see Retry-After',
};

/** `limit` (1-500, default 50) and `cursor` of every listing. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: 'page size, 1-500', example: 50 }),
  cursor: z.string().optional().openapi({ description: "from the previous page's next_cursor" }),
};

/**
 * `?tenant=` of the listings (SPEC 8): a tenant id, or empty for the platform's own (null); absent:
 * every one (undefined).
 */
export const tenantQuery = z
  .string()
  .regex(/^(?:[A-Za-z0-9][A-Za-z0-9._:-]{0,127})?$/, 'expected a tenant id, or nothing for platform ones only')
  .optional()
  .transform((s) => (s === undefined ? undefined : s === '' ? null : s))
  .openapi({ description: "only this tenant's; empty: only the platform's own", example: 'acct_42' });

/** An ISO 8601 time parameter, turned into epoch ms. */
export const isoTime = (description: string) =>
  z.iso
    .datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-11-23T10:00:00Z' })
    .transform((s) => Date.parse(s))
    .optional()
    .openapi({ description, example: '2026-11-23T10:00:00Z' });

/** Epoch ms as ISO 8601 (null stays null). */
export { isoOrNull as iso } from '../../lib/time';

/** `{data, next_cursor}` of a listing. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), next_cursor: z.string().nullable() });
