// Event type names (SPEC 3), without zod: the config schema and the catalog use them too, and
// importing a module that builds zod schemas before @hono/zod-openapi extends zod would leave
// those schemas without `.openapi()` (see http/admin/ingest-doc.ts).

/** SPEC 3: 1-128 characters of `A-Z a-z 0-9 . _ : -`. */
export const EVENT_TYPE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Event types the relay makes itself (test events, operational events). */
export const RESERVED_TYPE_PREFIX = 'hookrelay.';
