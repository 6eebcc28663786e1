import { z } from 'zod';

/** SPEC 9: a tenant id is the platform's own id for its customer. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Message of an invalid tenant id, the same wherever one is given (route, ingest, subscription). */
export const TENANT_ID_HINT = 'expected a tenant id: 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit';

/** A tenant id field. */
export const tenantIdSchema = z.string().regex(TENANT_ID_PATTERN, TENANT_ID_HINT);
