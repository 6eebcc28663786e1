/// <reference lib="dom" />
// What every dashboard page is built with: a tiny DOM helper, the admin API client, the signed-in
// token's identity, the page layout with its navigation, and the page's timers.

import { type Child, h, replacePage } from './dom';

export { type Child, h } from './dom';
export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export const TOKEN_KEY = 'hookrelay.token';
const root = document.getElementById('app')!;

/** Who signed in (GET /whoami); null before sign-in. */
export const session: { me: { name: string; scopes: string[]; tenant?: string } | null } = { me: null };
/** Timers of the page on screen; cleared when the page changes. */
let timers: number[] = [];
/** Set by main.ts: back to the sign-in page with a message. */
let signedOut: (message?: string) => void = () => undefined;
export const onSignOut = (fn: (message?: string) => void) => {
  signedOut = fn;
};

// ---- DOM -----------------------------------------------------------------------------------------

export function show(...children: Child[]): void {
  replacePage(root, children);
}

export const canWrite = () => session.me?.scopes.includes('write') ?? false;
/**
 * Tenant routes take `write` or `tenants` (SPEC 8); a `read` token gets 403 on them, GET included.
 * Every signed-in token has `read`: sign-in refuses one without it (a `tenants`-only token).
 */
export const canTenants = () => canWrite() || (session.me?.scopes.includes('tenants') ?? false);
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
export const badge = (status: string) => h('span', { class: `badge ${status}` }, status);
export const link = (href: string, text: string) => h('a', { href }, text);
/** `#/tenants/acct%2F1`-safe link target of a tenant's page. */
export const tenantHref = (tenant: string) => `#/tenants/${encodeURIComponent(tenant)}`;

/**
 * A row's tenant: a link to that tenant's page (or its deliveries, for a token that may not read
 * tenants), or `platform` for the platform's own (tenant null).
 */
export function tenantCell(tenant: string | null | undefined): Child {
  if (!tenant) return h('span', { class: 'muted' }, 'platform');
  return link(canTenants() ? tenantHref(tenant) : `#/deliveries?tenant=${encodeURIComponent(tenant)}`, tenant);
}

/** The "Tenant id" filter input (SPEC 8's `?tenant=`; left empty: every tenant and the platform). */
export function tenantInput(value: string | null): HTMLInputElement {
  return h('input', { id: 'f-tenant', name: 'tenant', value: value ?? '', placeholder: 'acct_42', maxlength: 128 }) as HTMLInputElement;
}

/** A message area at the top of a page: results of actions, errors. */
export function notice(kind: 'ok' | 'error', ...children: Child[]): HTMLElement {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

export function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint && h('div', { class: 'hint', id: `${id}-hint` }, hint));
}

export function table(head: string[], rows: Child[][]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

/** A definition list of facts (label, value). */
export function facts(rows: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}

// ---- API -----------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Json,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
  }
}

export async function api(method: string, path: string, body?: unknown): Promise<Json> {
  return (await apiText(method, path, body)).json;
}

/** As api(), also with the answer's JSON text (event `data` is shown from it, never re-serialised). */
export async function apiText(method: string, path: string, body?: unknown): Promise<{ json: Json; text: string }> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  // Signed in, then refused (the token was removed from the config): back to the sign-in page.
  if (res.status === 401 && session.me) signedOut('Your token was refused; sign in again.');
  if (!res.ok) throw new ApiError(res.status, json);
  return { json, text };
}

/** Index just past the JSON string whose opening quote is at `i`. */
function stringEnd(text: string, i: number): number {
  i++;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Index of the end of the JSON value starting at `i`: the `,` `}` or `]` after it one level up, or the text's end. */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) return i;
      depth--;
    } else if (c === ',' && depth === 0) return i;
    i++;
  }
  return i;
}

/**
 * The JSON text of member `key` of the object `text` holds, exactly as written. JSON.parse then
 * JSON.stringify would not give it back: 9007199254740993 would come back rounded (SPEC 5).
 */
export function rawMember(text: string, key: string): string | undefined {
  let i = text.indexOf('{') + 1;
  while (i > 0 && i < text.length) {
    const start = text.indexOf('"', i);
    if (start < 0) return undefined;
    const keyEnd = stringEnd(text, start);
    const colon = text.indexOf(':', keyEnd);
    const end = valueEnd(text, colon + 1);
    if (JSON.parse(text.slice(start, keyEnd)) === key) return text.slice(colon + 1, end).trim();
    if (text[end] !== ',') return undefined;
    i = end + 1;
  }
  return undefined;
}

/** An error as a notice: the API's detail and every invalid field with its path. */
export function errorNotice(err: unknown): HTMLElement {
  const problem = err instanceof ApiError ? err.problem : null;
  return notice(
    'error',
    err instanceof Error ? err.message : String(err),
    problem?.errors
      ? h(
          'ul',
          {},
          problem.errors.map((e: Json) => h('li', {}, `${e.path}: ${e.message}`)),
        )
      : null,
  );
}

/** Runs an action and shows its outcome in `area` (nothing: the action drew a page of its own). */
export async function act(area: HTMLElement, fn: () => Promise<Child>): Promise<void> {
  try {
    const outcome = await fn();
    area.replaceChildren(...(outcome === null || outcome === undefined ? [] : [notice('ok', outcome)]));
  } catch (err) {
    area.replaceChildren(errorNotice(err));
  }
}

// ---- layout, timers, the hash's query --------------------------------------------------------------

export function layout(title: string, ...content: Child[]): void {
  const current = `#/${location.hash.slice(2).split(/[/?]/)[0] ?? ''}`;
  const nav = (href: string, text: string) => h('a', { href, ...(current === href && { 'aria-current': 'page' }) }, text);
  const me = session.me;
  show(
    h(
      'header',
      {},
      h('strong', { class: 'brand' }, 'hookrelay'),
      h(
        'nav',
        { 'aria-label': 'Main' },
        nav('#/', 'Overview'),
        canTenants() && nav('#/tenants', 'Tenants'),
        nav('#/subscriptions', 'Subscriptions'),
        nav('#/events', 'Events'),
        nav('#/deliveries', 'Deliveries'),
        nav('#/catalog', 'Catalog'),
      ),
      h(
        'span',
        { class: 'who' },
        `${me?.name ?? ''}${canWrite() ? '' : ' (read-only)'} `,
        h('button', { type: 'button', class: 'link', onclick: () => signedOut() }, 'Sign out'),
      ),
    ),
    h('main', {}, h('h1', {}, title), ...content),
  );
}

export function clearTimers(): void {
  for (const t of timers) clearInterval(t);
  timers = [];
}

export function every(ms: number, fn: () => void): void {
  timers.push(window.setInterval(fn, ms));
}

export function params(): URLSearchParams {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}

/**
 * "Next page" / "First page" buttons of a cursor listing. `load(cursor)` shows one page; the
 * cursor stays in the page (not the URL), as the API's cursors are opaque and short-lived in use.
 */
export function pager(cursor: string | null, next: string | null, load: (cursor: string | null) => void): HTMLElement {
  return h(
    'p',
    { class: 'pager' },
    cursor && h('button', { type: 'button', onclick: () => load(null) }, 'First page'),
    next && h('button', { type: 'button', onclick: () => load(next) }, 'Next page'),
  );
}

/** An ISO time as a `datetime-local` input's value (local time, to the minute); '' for none. */
export const localInput = (iso: string | null) =>
  iso ? new Date(Date.parse(iso) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : '';

/** A `datetime-local` input's value as ISO 8601 ('' for an empty one). */
export const isoOf = (local: string) => (local ? new Date(local).toISOString() : '');

export const enc = encodeURIComponent;
