/** One answer of the admin API: status, headers, the raw text (to search for leaked secrets) and the parsed JSON. */
export interface AdminAnswer {
  status: number;
  headers: Headers;
  text: string;
  // Answers are JSON of many shapes; the assertions check them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/**
 * A client for `/api/v1` of a running relay with one bearer token (none: no Authorization header).
 * `body` is sent as JSON; a string is sent as is (malformed JSON tests).
 */
export function adminClient(baseUrl: () => string, token: string | null) {
  return async function call(method: string, path: string, body?: unknown): Promise<AdminAnswer> {
    const res = await fetch(`${baseUrl()}/api/v1${path}`, {
      method,
      headers: {
        ...(token !== null && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
}

export type AdminCall = ReturnType<typeof adminClient>;
