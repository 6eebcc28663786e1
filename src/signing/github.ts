import { createHmacSha256Signer } from './hmac-sha256';

/**
 * GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`; verifies with
 * `@octokit/webhooks-methods`. During rotation the signatures are joined by ", " and octokit's
 * `verify` must be called per part; with one secret the header is exactly one signature.
 */
export const signGithub = createHmacSha256Signer({ header: 'x-hub-signature-256', encoding: 'hex', prefix: 'sha256=' });
