import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
    "Writes the copy as `name` inside the directory `storage.sqlite.backup_dir` of the relay's config, mode 0600: the copy holds every " +
    'event and, unless `storage.encryption_key` is set, every signing secret. `name` is a plain file name (no `/` or `\\`, not `.` or `..`, ' +
    'no control characters, at most 255 bytes). A backup never overwrites anything: 409 when the name exists (a symlink too, which is ' +
    'never followed). 409 without `storage.sqlite.backup_dir` (nothing is written) and with `storage.postgres`. ' +
    'The answer holds the name, the absolute path and the size in bytes.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.strictObject({
            name: z
              .string()
              .min(1)
              .max(255)
              .refine(isPlainFileName, {
                message: 'must be a plain file name: no / or \\, not . or .., no control characters, at most 255 bytes',
              })
              .openapi({ example: 'hookrelay-2026-11-23.db', description: 'file name inside storage.sqlite.backup_dir' }),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'the copy is complete',
      content: { 'application/json': { schema: z.object({ name: z.string(), path: z.string(), bytes: z.number().int() }) } },
    },
    ...problemResponses(409),
  },
});

const whoami = createRoute({
  method: 'get',
  path: '/whoami',
  operationId: 'whoami',
  tags: ['operations'],
  summary: 'The credential this request authenticated with: its name, scopes and, for a tenant credential, its tenant',
  description: 'For clients such as the dashboard, which hide what a read-only token cannot do (the API refuses it anyway).',
  responses: {
    200: {
      description: 'the token',
      content: {
        'application/json': {
          schema: z
            .object({
              name: z.string(),
              scopes: z.array(z.enum(['read', 'write', 'tenants'])),
              tenant: z.string().optional().openapi({ description: "a tenant credential's tenant; absent for operator tokens" }),
            })
            .openapi('WhoAmI'),
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
    const viewer = c.get('viewer');
    return c.json({ name: viewer.name, scopes: [...viewer.scopes], ...(viewer.kind === 'tenant' && { tenant: viewer.tenant }) }, 200);
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

  // The copy holds every event (and every secret stored in clear): only `write`-scoped tokens may
  // call it (adminAuth: POST needs write), and only into the directory the operator named.
  app.openapi(backup, async (c) => {
    if (!deps.store.capabilities.backup)
      throw new AppError(409, 'backup_unsupported', {
        detail: "backup copies the SQLite store; this relay uses storage.postgres: back it up with pg_dump or your provider's snapshots",
      });
    const dir = deps.config().storage.sqlite?.backup_dir;
    if (dir === undefined)
      throw new AppError(409, 'backup_disabled', {
        detail: 'storage.sqlite.backup_dir is not set: set it to the directory backups may be written to',
      });
    if (!isDirectory(dir)) throw new AppError(409, 'backup_dir_missing', { detail: `storage.sqlite.backup_dir ${dir} is not a directory` });
    const { name } = c.req.valid('json');
    const path = join(resolve(dir), name);
    try {
      await deps.store.backup(path);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'EEXIST' && code !== 'LIVE_DATABASE') throw err;
      // The live database and its companions exist too (or are about to): never a target.
      throw new AppError(409, 'file_exists', { detail: `${name} exists in the backup directory; a backup never overwrites a file` });
    }
    const bytes = statSync(path).size;
    await audit(c, deps, 'store.backup', null, { name, path, bytes });
    return c.json({ name, path, bytes }, 200);
  });

  return app;
}

/** A name that stays inside the directory it is joined to, and that file systems accept. */
function isPlainFileName(name: string): boolean {
  if (name === '.' || name === '..' || name.includes('/') || name.includes('\\')) return false;
  // NUL and other control characters: refused by file systems, or confusing in listings and logs.
  for (const ch of name) if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) return false;
  return Buffer.byteLength(name) <= 255;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
