/** What views and attempt records show instead of a custom header's value. */
export const REDACTED = '[redacted]';

// Any header a subscription adds may carry a credential for its receiver, under any name
// (`apikey`, `X-Functions-Key`, `Ocp-Apim-Subscription-Key`…), so no list of credential-like names
// can be complete: every value is hidden unless `delivery.visible_headers` names it (SPEC 13).

/** Whether `delivery.visible_headers` lists `name` (case-insensitive). */
function visibility(visible: readonly string[]): (name: string) => boolean {
  const names = new Set(visible.map((n) => n.toLowerCase()));
  return (name) => names.has(name.toLowerCase());
}

/** A subscription's `headers` as views show them: every value `[redacted]` unless its name is visible. */
export function redactedHeaders(headers: Record<string, string>, visible: readonly string[]): Record<string, string> {
  const shown = visibility(visible);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = shown(name) ? value : REDACTED;
  return out;
}

/**
 * The request headers of an attempt as recorded: the values of `custom` ones (those the
 * subscription added, lower-case names) are `[redacted]` unless visible. The relay's own headers
 * (content type, ids, timestamp, signatures) stay as sent: they are not secrets.
 */
export function recordedHeaders(
  headers: Record<string, string>,
  custom: readonly string[],
  visible: readonly string[],
): Record<string, string> {
  if (custom.length === 0) return headers;
  const shown = visibility(visible);
  const out = { ...headers };
  for (const name of custom) if (Object.hasOwn(out, name) && !shown(name)) out[name] = REDACTED;
  return out;
}
