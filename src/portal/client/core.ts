/// <reference lib="dom" />
// What every portal page uses: building DOM, the session, calls to /api/v1 and errors in the
// customer's words. The session token lives in this tab's sessionStorage only.

import { type Child, h, replacePage } from '../../ui/client/dom';

export { type Child, h } from '../../ui/client/dom';

// Answers of the API are JSON of many shapes; the pages read the fields they show.
export type Json = any;

const SESSION_KEY = 'hookrelay.portal.session';
const root = document.getElementById('app')!;

/** The platform's name (portal.branding.name), or words that stand for it. */
export const platform = document.body.dataset.platform || 'your platform';
/** The platform's logo URL, or ''. */
export const logo = document.body.dataset.logo ?? '';

/** Replaces the whole page. */
export function show(...children: Child[]): void {
  replacePage(root, children);
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

/** A message area: results of actions, errors. */
export function notice(kind: 'ok' | 'error', ...children: Child[]): HTMLElement {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

// ---- session -----------------------------------------------------------------------------------

export const session = {
  get: () => sessionStorage.getItem(SESSION_KEY),
  set: (token: string) => sessionStorage.setItem(SESSION_KEY, token),
  clear: () => sessionStorage.removeItem(SESSION_KEY),
};

/** What the session may do: ['read'] or ['read', 'write']. */
export const scopes: string[] = [];
export const canWrite = () => scopes.includes('write');

/** The page shown when the link or the session no longer works. */
export function showEnded(): void {
  session.clear();
  show(
    h(
      'main',
      { class: 'ended' },
      h('h1', {}, 'This link has expired or was already used.'),
      h('p', {}, `Go back to ${platform} and open Webhooks again.`),
      h('p', { class: 'muted' }, 'For your security, each link opens this page once and for a limited time.'),
    ),
  );
}

/** The page shown when the platform turned webhooks off for this account. */
export function showDisabled(): void {
  session.clear();
  show(
    h(
      'main',
      { class: 'ended' },
      h('h1', {}, 'Webhooks are turned off for your account.'),
      h('p', {}, `Contact ${platform} to turn them back on.`),
    ),
  );
}

// ---- API ---------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Json,
  ) {
    super(customerMessage(status, problem));
  }
}

/** An API refusal in the customer's words; field errors are listed by `fieldErrors`. */
function customerMessage(status: number, problem: Json): string {
  if (status === 400) return problem?.errors?.length ? 'Please check these fields:' : (problem?.detail ?? 'That request was not valid.');
  if (status === 403) return 'Your access does not allow this change.';
  if (status === 404) return 'We could not find this. It may have been deleted.';
  if (status === 409) return problem?.detail ? `This cannot be done right now: ${problem.detail}.` : 'This cannot be done right now.';
  if (status === 413) return 'That is too large.';
  if (status === 429) return 'Too many requests. Please wait a moment and try again.';
  if (status >= 500) return 'The service is busy right now. Please try again in a moment.';
  return problem?.detail ?? `Something went wrong (HTTP ${status}).`;
}

/** Field errors of a 400, with field names as the forms call them. */
export function fieldErrors(err: unknown): Child {
  const errors = err instanceof ApiError ? (err.problem?.errors as { path: string; message: string }[] | undefined) : undefined;
  if (!errors?.length) return null;
  const label = (path: string) =>
    path.startsWith('url') ? 'URL' : path.startsWith('events') ? 'Event types' : path.startsWith('description') ? 'Description' : path;
  return h(
    'ul',
    {},
    errors.map((e) => h('li', {}, `${label(e.path)}: ${e.message}`)),
  );
}

/**
 * One call to /api/v1 with the session. A 401 means the session ended or expired; a 403 for a
 * disabled tenant means the platform turned webhooks off: either way the page says so and stops.
 */
export async function api(method: string, path: string, body?: unknown): Promise<Json> {
  let res: Response;
  try {
    res = await fetch(`api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${session.get() ?? ''}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new Error('We could not reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.status === 401) {
    showEnded();
    throw new ApiError(401, json);
  }
  if (res.status === 403 && isTenantDisabled(json)) {
    showDisabled();
    throw new ApiError(403, json);
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** The problem a disabled (or erased) tenant's credential gets (code tenant_disabled). */
export const isTenantDisabled = (problem: Json) => typeof problem?.type === 'string' && problem.type.endsWith('/tenant-disabled');

/** Runs an action and shows its outcome (or its error, in plain words) in `area`. */
export async function act(area: HTMLElement, fn: () => Promise<Child>): Promise<void> {
  area.replaceChildren(notice('ok', 'Working…'));
  try {
    const done = await fn();
    area.replaceChildren(done === null ? '' : notice('ok', done));
  } catch (err) {
    area.replaceChildren(notice('error', err instanceof Error ? err.message : String(err), fieldErrors(err)));
  }
}

/** A button that runs `fn`, disabled while it runs. */
export function button(text: string, fn: () => Promise<void> | void, attrs: Record<string, unknown> = {}): HTMLButtonElement {
  const el = h('button', { type: 'button', ...attrs }, text) as HTMLButtonElement;
  el.addEventListener('click', async () => {
    el.disabled = true;
    try {
      await fn();
    } finally {
      el.disabled = false;
    }
  });
  return el;
}

/** A labelled form field. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('p', { class: 'hint' }, hint) : null);
}

/** JSON shown as code. */
export const code = (text: string) => h('pre', { class: 'code' }, h('code', {}, text));

/** Event types of the catalog (SPEC 11); null when this relay has none (the route answers 404). */
export interface EventType {
  name: string;
  description?: string;
  example?: unknown;
  deprecated?: boolean;
}

let catalog: Promise<EventType[] | null> | undefined;

/** The event-type catalog, read once per page load. */
export function eventTypes(): Promise<EventType[] | null> {
  catalog ??= (async () => {
    try {
      const page = await api('GET', '/event-types');
      return (Array.isArray(page) ? page : (page?.data ?? [])) as EventType[];
    } catch (err) {
      // No catalog on this relay (404), or one this page cannot read: the forms take types as text.
      if (err instanceof ApiError && err.status !== 401 && err.status < 500) return null;
      catalog = undefined;
      throw err;
    }
  })();
  return catalog;
}
