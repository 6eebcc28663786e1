/** Header names whose values are credentials for the receiver: kept out of attempt records. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key)$|token|secret|password|api-key/i;

/**
 * The request headers as recorded for the admin API: credentials a subscription adds for its
 * receiver (`headers: {Authorization: …}`) become `[redacted]`. Signatures stay: they are not secrets.
 */
export function recordedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = CREDENTIAL_HEADER.test(name) ? '[redacted]' : value;
  return out;
}
