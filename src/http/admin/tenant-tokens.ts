import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { DURATION_HINT } from '../../lib/durations';
import { issueTenantToken, listTenantTokens, revokeTenantToken } from '../../tenants/tokens';
import { TENANT_ID_HINT, TENANT_ID_PATTERN } from '../../tenants/tenant-id';
import { AppError } from '../problem';
import { audit } from './audit';
import type { AdminDeps } from './deps';
import { adminRouter } from './router';
import { problemResponses } from './schemas';

/** Largest body of POST /tenants/{tenant}/tokens, bytes: a name and two scopes need far less. */
const TOKEN_BODY_LIMIT = 4 * 1024;

const tokenBodyLimit = bodyLimit({
  maxSize: TOKEN_BODY_LIMIT,
  onError: () => {
    throw new AppError(413, 'payload_too_large', {
      detail: `a token body may be at most 4kb (${TOKEN_BODY_LIMIT} bytes)`,
      headers: { connection: 'close' },
    });
  },
});

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const tags = ['tenants'];

const tenantParam = z
  .string()
  .regex(TENANT_ID_PATTERN, TENANT_ID_HINT)
  .openapi({ param: { name: 'tenant', in: 'path' }, example: 'acct_42' });
const TenantParam = z.object({ tenant: tenantParam });
const TokenParam = z.object({
  tenant: tenantParam,
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'k3x9q2m7p4t8w1z5c6v0' }),
});

const TokenInputSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    scopes: z.array(z.enum(['read', 'write'])).min(1),
    expires_in: z
      .string()
      .optional()
      .openapi({ example: '90d', description: `${DURATION_HINT}; absent: never expires` }),
  })
  .openapi('TenantTokenInput');

const isoString = z.string().openapi({ format: 'date-time' });
const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(['read', 'write'])),
    created_at: isoString,
    expires_at: isoString.nullable(),
    last_used_at: isoString.nullable().openapi({ description: 'to the minute; null: never used' }),
  })
  .openapi('TenantToken');
const CreatedTokenSchema = TokenSchema.omit({ last_used_at: true })
  .extend({ token: z.string().openapi({ description: 'hrt_<id>_<secret>: shown only in this answer', example: 'hrt_k3x9…_…' }) })
  .openapi('CreatedTenantToken');

const create = createRoute({
  method: 'post',
  path: '/tenants/{tenant}/tokens',
  operationId: 'createTenantToken',
  tags,
  summary: 'A credential for the tenant on /api/v1',
  description:
    'The token is shown only in this answer and stored as a SHA-256 hash. 404 without a tenant record. Needs `write` or `tenants`.',
  request: { params: TenantParam, body: { required: true, ...json(TokenInputSchema) } },
  responses: { 201: { description: 'created', ...json(CreatedTokenSchema) }, ...problemResponses(404, 413) },
});

const list = createRoute({
  method: 'get',
  path: '/tenants/{tenant}/tokens',
  operationId: 'listTenantTokens',
  tags,
  summary: "The tenant's tokens (never their values)",
  description: 'Needs `write` or `tenants`.',
  request: { params: TenantParam },
  responses: { 200: { description: 'its tokens', ...json(z.object({ data: z.array(TokenSchema) })) }, ...problemResponses(404) },
});

const revoke = createRoute({
  method: 'delete',
  path: '/tenants/{tenant}/tokens/{id}',
  operationId: 'revokeTenantToken',
  tags,
  summary: 'Revoke a token: refused from the next request on, on every instance',
  description: 'Needs `write` or `tenants`.',
  request: { params: TokenParam },
  responses: { 204: { description: 'revoked' }, ...problemResponses(404) },
});

/** Admin routes: tenant tokens (SPEC 9). The logic is in src/tenants/tokens.ts. */
export function tenantTokenRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/tenants/:tenant/tokens', tokenBodyLimit);

  app.openapi(create, async (c) => {
    const { tenant } = c.req.valid('param');
    const body = c.req.valid('json');
    const created = await issueTenantToken(deps, tenant, { name: body.name, scopes: body.scopes, expiresIn: body.expires_in });
    // Never the token: its id, name, scopes and expiry.
    await audit(c, deps, 'tenant.token.create', tenant, {
      token: created.id,
      name: created.name,
      scopes: created.scopes,
      expires_at: created.expires_at,
    });
    return c.json(created, 201);
  });

  app.openapi(list, async (c) => c.json({ data: await listTenantTokens(deps, c.req.valid('param').tenant) }, 200));

  app.openapi(revoke, async (c) => {
    const { tenant, id } = c.req.valid('param');
    await revokeTenantToken(deps, tenant, id);
    await audit(c, deps, 'tenant.token.revoke', tenant, { token: id });
    return c.body(null, 204);
  });
  return app;
}
