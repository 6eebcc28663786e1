import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import type { AdminDeps } from './deps';
import { ConfigError } from '../../config/errors';
import { AppError } from '../problem';
import { audit } from './audit';
import { auditLogRoutes } from './audit-log';
import { adminRouter } from './router';
import { problemResponses, problemsOf } from './schemas';
import { statsRoutes } from './stats';

const reload = createRoute({
  method: 'post',
  path: '/reload',
  operationId: 'reloadConfig',
  tags: ['operations'],
  summary: 'Re-read the config file (as SIGHUP does)',
  description:
    'An invalid file is rejected whole: 400 with one entry per problem in `errors` (`path` is `FILE:LINE: key.path`), and the running config stays. ' +
    'Subscriptions created over the API are kept. 409 when the relay was not started from a config file.',
  responses: {
    200: {
      description: 'the new config runs',
      content: {
        'application/json': {
          schema: z.object({
            reloaded: z.literal(true),
            subscriptions: z.number().int().openapi({ description: 'subscriptions now loaded (config and API)' }),
          }),
        },
      },
    },
    ...problemResponses(409),
  },
});

const backup = createRoute({
  method: 'post',
  path: '/backup',
  operationId: 'backupStore',
  tags: ['operations'],
  summary: 'Consistent copy of the SQLite store while running',
  description:
    "`path` is a file on the relay's machine (relative paths are from its working directory); its directory must exist and the file must not " +
    '(409): a backup never overwrites anything. The answer holds the absolute path and the size in bytes.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({ path: z.string().min(1).max(4096).openapi({ example: '/var/backups/hookrelay-2026-11-23.db' }) }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'the copy is complete',
      content: { 'application/json': { schema: z.object({ path: z.string(), bytes: z.number().int() }) } },
    },
    ...problemResponses(409),
  },
});

const whoami = createRoute({
  method: 'get',
  path: '/whoami',
  operationId: 'whoami',
  tags: ['operations'],
  summary: 'The admin token this request authenticated with: its name and scopes',
  description: 'For clients such as the dashboard, which hide what a read-only token cannot do (the API refuses it anyway).',
  responses: {
    200: {
      description: 'the token',
      content: {
        'application/json': {
          schema: z.object({ name: z.string(), scopes: z.array(z.enum(['read', 'write'])) }).openapi('WhoAmI'),
        },
      },
    },
    ...problemsOf([401, 403, 429]),
  },
});

/** Admin routes: operations (SPEC 8 `/stats`, `/reload`, `/backup`; and `/audit`). */
export function operationRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.route('/', statsRoutes(deps));
  app.openapi(whoami, (c) => {
    const actor = c.get('actor');
    return c.json({ name: actor.name, scopes: [...actor.scopes] }, 200);
  });
  app.route('/', auditLogRoutes(deps));

  app.openapi(reload, async (c) => {
    let subscriptions: number;
    try {
      subscriptions = await deps.reload();
    } catch (err) {
      // Who tried matters too: a rejected reload is recorded, though it changed nothing.
      if (err instanceof ConfigError) await audit(c, deps, 'config.reload', null, { rejected: true, problems: err.problems.length });
      throw err;
    }
    await audit(c, deps, 'config.reload', null, { subscriptions });
    return c.json({ reloaded: true as const, subscriptions }, 200);
  });

  // Writes a file wherever the relay's user may write, and the copy holds every event and every
  // subscription secret: that is why only `write`-scoped tokens may call it (adminAuth: POST needs write).
  app.openapi(backup, async (c) => {
    if (!deps.store.capabilities.backup)
      throw new AppError(409, 'backup_unsupported', {
        detail: "backup copies the SQLite store; this relay uses storage.postgres: back it up with pg_dump or your provider's snapshots",
      });
    const path = resolve(c.req.valid('json').path);
    if (existsSync(path)) throw new AppError(409, 'file_exists', { detail: `${path} exists; a backup never overwrites a file` });
    if (!isDirectory(dirname(path))) {
      throw new AppError(400, 'invalid_request', {
        detail: 'the backup directory does not exist',
        errors: [{ path: 'path', message: `${dirname(path)} is not a directory` }],
      });
    }
    await deps.store.backup(path);
    const bytes = statSync(path).size;
    await audit(c, deps, 'store.backup', null, { path, bytes });
    return c.json({ path, bytes }, 200);
  });

  return app;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
