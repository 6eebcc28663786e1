import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { DURATION_HINT } from '../../lib/durations';
import { endPortalSessions, issuePortalLink, openPortalSession } from '../../tenants/portal-sessions';
import { TENANT_ID_HINT, TENANT_ID_PATTERN } from '../../tenants/tenant-id';
import { isJsonContentType } from '../body';
import { AppError } from '../problem';
import { audit } from './audit';
import type { AdminDeps } from './deps';
import { adminRouter } from './router';
import { problemResponses } from './schemas';

/** Largest body of the portal routes, bytes: a duration, two scopes or one token need far less. */
const PORTAL_BODY_LIMIT = 4 * 1024;

const portalBodyLimit = bodyLimit({
  maxSize: PORTAL_BODY_LIMIT,
  onError: () => {
    throw new AppError(413, 'payload_too_large', {
      detail: `a portal request body may be at most 4kb (${PORTAL_BODY_LIMIT} bytes)`,
      headers: { connection: 'close' },
    });
  },
});

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const scopes = z.array(z.enum(['read', 'write']));

const TenantParam = z.object({
  tenant: z
    .string()
    .regex(TENANT_ID_PATTERN, TENANT_ID_HINT)
    .openapi({ param: { name: 'tenant', in: 'path' }, example: 'acct_42' }),
});

const LinkInputSchema = z
  .strictObject({
    expires_in: z
      .string()
      .optional()
      .openapi({ example: '1h', description: `${DURATION_HINT}; default 1h, at most 24h` }),
    scopes: scopes.min(1).optional().openapi({ description: 'what the customer may do in the portal; default [read, write]' }),
  })
  .openapi('PortalLinkInput');

const createLink = createRoute({
  method: 'post',
  path: '/tenants/{tenant}/portal-links',
  operationId: 'createPortalLink',
  tags: ['tenants'],
  summary: 'A short-lived, single-use link to the customer portal for this tenant',
  description:
    '`url` is `<server.public_url>/portal#<link token>`: hand it to the signed-in customer (a button, or an iframe). The token is stored ' +
    'as a SHA-256 hash and works once. 404 without a tenant record; 409 when the tenant is disabled or without `server.public_url`. ' +
    'Needs `write` or `tenants`.',
  request: { params: TenantParam, body: { required: false, ...json(LinkInputSchema) } },
  responses: {
    201: {
      description: 'made',
      ...json(
        z
          .object({ url: z.string().openapi({ example: 'https://hooks.example.com/portal#hrl_…' }), expires_at: z.string() })
          .openapi('PortalLink'),
      ),
    },
    ...problemResponses(404, 409, 413),
  },
});

const endSessions = createRoute({
  method: 'delete',
  path: '/tenants/{tenant}/portal-sessions',
  operationId: 'endPortalSessions',
  tags: ['tenants'],
  summary: 'End every portal session of the tenant (and forget its unused links), on every instance at once',
  description: 'Needs `write` or `tenants`.',
  request: { params: TenantParam },
  responses: { 204: { description: 'ended' }, ...problemResponses(404) },
});

const openSession = createRoute({
  method: 'post',
  path: '/portal/sessions',
  operationId: 'openPortalSession',
  tags: ['portal'],
  summary: 'Exchange a portal link token for a session (no Authorization header: the link is the credential)',
  description:
    'The link works once (a second use is 401, on any instance) and until it expires. The session token is a tenant credential with ' +
    "the link's scopes, sent as a Bearer token; it expires with the link. 403 when the tenant is disabled.",
  security: [],
  request: { body: { required: true, ...json(z.strictObject({ token: z.string().min(1).max(200) }).openapi('PortalSessionInput')) } },
  responses: {
    201: {
      description: 'opened',
      ...json(
        z
          .object({
            token: z.string().openapi({ description: 'hrp_…: the session, shown only here', example: 'hrp_…' }),
            tenant: z.string(),
            scopes,
            expires_at: z.string(),
          })
          .openapi('PortalSession'),
      ),
    },
    ...problemResponses(401, 403, 413),
  },
});

/** `POST /portal/sessions`: before the admin bearer auth (adminRoutes mounts it first), the link token is its credential. */
export function portalSessionRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/portal/sessions', portalBodyLimit, async (c, next) => {
    if (!isJsonContentType(c.req.header('content-type') ?? '')) {
      throw new AppError(415, 'unsupported_media_type', { detail: 'the body must be application/json', headers: { connection: 'close' } });
    }
    await next();
  });
  app.openapi(openSession, async (c) => c.json(await openPortalSession(deps, c.req.valid('json').token), 201));
  return app;
}

/** Admin routes: portal links and sessions of a tenant (SPEC 10). The logic is in src/tenants/portal-sessions.ts. */
export function portalLinkRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/tenants/:tenant/portal-links', portalBodyLimit);

  app.openapi(createLink, async (c) => {
    const { tenant } = c.req.valid('param');
    const body = c.req.valid('json') ?? {};
    const link = await issuePortalLink(deps, deps.config().server.public_url, tenant, { expiresIn: body.expires_in, scopes: body.scopes });
    // Never the token: the row id, scopes and expiry.
    await audit(c, deps, 'tenant.portal_link.create', tenant, { link: link.id, scopes: link.scopes, expires_at: link.expires_at });
    return c.json({ url: link.url, expires_at: link.expires_at }, 201);
  });

  app.openapi(endSessions, async (c) => {
    const { tenant } = c.req.valid('param');
    const ended = await endPortalSessions(deps, tenant);
    await audit(c, deps, 'tenant.portal_sessions.end', tenant, { ended });
    return c.body(null, 204);
  });
  return app;
}
