/// <reference lib="dom" />
// The dashboard (GET /ui): a small browser app on the admin API only. No framework: a render
// function per page, a hash route (#/deliveries?status=failed) so the back button and links work,
// and the admin token in sessionStorage, sent as a Bearer header. What a read-only token cannot do
// is not offered (and the API refuses it anyway).

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Child = Node | string | number | null | undefined | false | Child[];

const TOKEN_KEY = 'hookrelay.token';
const STATUSES = ['pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled'];
const root = document.getElementById('app')!;
let me: { name: string; scopes: string[]; tenant?: string } | null = null;
/** Timers of the page on screen; cleared when the page changes. */
let timers: number[] = [];

// ---- DOM -----------------------------------------------------------------------------------------

function h(tag: string, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'value') (el as HTMLInputElement).value = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

function show(...children: Child[]): void {
  root.replaceChildren();
  append(root, children);
}

const canWrite = () => me?.scopes.includes('write') ?? false;
const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
const badge = (status: string) => h('span', { class: `badge ${status}` }, status);
const link = (href: string, text: string) => h('a', { href }, text);

/** A row's tenant: a link to that tenant's deliveries, or `platform` for the platform's own (tenant null). */
function tenantCell(tenant: string | null | undefined): Child {
  return tenant ? link(`#/deliveries?tenant=${encodeURIComponent(tenant)}`, tenant) : h('span', { class: 'muted' }, 'platform');
}

/** The "Tenant id" filter input (SPEC 8's `?tenant=`; left empty: every tenant and the platform). */
function tenantInput(value: string | null): HTMLInputElement {
  return h('input', { id: 'f-tenant', name: 'tenant', value: value ?? '', placeholder: 'acct_42', maxlength: 128 }) as HTMLInputElement;
}

function age(iso: string | null): string {
  if (!iso) return '—';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** A message area at the top of a page: results of actions, errors. */
function notice(kind: 'ok' | 'error', ...children: Child[]): HTMLElement {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

// ---- API -----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Json,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
  }
}

async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  // Signed in, then refused (the token was removed from the config): back to the sign-in page.
  if (res.status === 401 && me) signOut('Your token was refused; sign in again.');
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** Runs an action and shows its outcome in `area`. */
async function act(area: HTMLElement, fn: () => Promise<Child>): Promise<void> {
  try {
    area.replaceChildren(notice('ok', await fn()));
  } catch (err) {
    const problem = err instanceof ApiError ? err.problem : null;
    area.replaceChildren(
      notice(
        'error',
        err instanceof Error ? err.message : String(err),
        problem?.errors
          ? h(
              'ul',
              {},
              problem.errors.map((e: Json) => h('li', {}, `${e.path}: ${e.message}`)),
            )
          : null,
      ),
    );
  }
}

// ---- sign in -------------------------------------------------------------------------------------

function signOut(message?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  renderSignIn(message);
}

function renderSignIn(message?: string): void {
  clearTimers();
  const error = h('div', { id: 'signin-error' }, message ? notice('error', message) : null);
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  }) as HTMLInputElement;
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        try {
          me = await api('GET', '/whoami');
          // The dashboard is the operator's (SPEC 9): a tenant credential is refused here.
          if (me?.tenant !== undefined) {
            me = null;
            sessionStorage.removeItem(TOKEN_KEY);
            error.replaceChildren(notice('error', 'That is a tenant token; the dashboard needs an admin token.'));
            return;
          }
          route();
        } catch (err) {
          sessionStorage.removeItem(TOKEN_KEY);
          error.replaceChildren(notice('error', err instanceof ApiError && err.status === 401 ? 'That token was refused.' : String(err)));
        }
      },
    },
    h('h1', {}, 'hookrelay'),
    h('label', { for: 'token' }, 'Admin token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
    h('p', { class: 'hint' }, 'The token stays in this tab (session storage) and is sent to this relay only.'),
  );
  show(form);
  input.focus();
}

// ---- layout and routing ----------------------------------------------------------------------------

function layout(title: string, ...content: Child[]): void {
  const current = location.hash.split('?')[0] || '#/';
  const nav = (href: string, text: string) => h('a', { href, ...(current === href && { 'aria-current': 'page' }) }, text);
  show(
    h(
      'header',
      {},
      h('strong', { class: 'brand' }, 'hookrelay'),
      h('nav', { 'aria-label': 'Main' }, nav('#/', 'Overview'), nav('#/subscriptions', 'Subscriptions'), nav('#/deliveries', 'Deliveries')),
      h(
        'span',
        { class: 'who' },
        `${me?.name ?? ''}${canWrite() ? '' : ' (read-only)'} `,
        h('button', { type: 'button', class: 'link', onclick: () => signOut() }, 'Sign out'),
      ),
    ),
    h('main', {}, h('h1', {}, title), ...content),
  );
}

function clearTimers(): void {
  for (const t of timers) clearInterval(t);
  timers = [];
}

function every(ms: number, fn: () => void): void {
  timers.push(window.setInterval(fn, ms));
}

function params(): URLSearchParams {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}

async function route(): Promise<void> {
  clearTimers();
  if (!sessionStorage.getItem(TOKEN_KEY)) return renderSignIn();
  if (!me) {
    try {
      me = await api('GET', '/whoami');
    } catch {
      return;
    }
    if (me?.tenant !== undefined) {
      me = null;
      sessionStorage.removeItem(TOKEN_KEY);
      return renderSignIn();
    }
  }
  const path = (location.hash.slice(1).split('?')[0] || '/').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (path.length === 0) await overviewPage();
    else if (path[0] === 'subscriptions' && path.length === 1) await subscriptionsPage();
    else if (path[0] === 'subscriptions' && path[1] === 'new') subscriptionForm(null);
    else if (path[0] === 'subscriptions' && path[2] === 'edit')
      subscriptionForm(await api('GET', `/subscriptions/${encodeURIComponent(path[1]!)}`));
    else if (path[0] === 'deliveries' && path.length === 1) await deliveriesPage();
    else if (path[0] === 'deliveries') await deliveryPage(path[1]!);
    else layout('Not found', h('p', {}, 'No such page. ', link('#/', 'Overview')));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401))
      layout('Error', notice('error', String(err instanceof Error ? err.message : err)));
  }
}

// ---- overview ----------------------------------------------------------------------------------------

async function overviewPage(): Promise<void> {
  const cards = h('div', { class: 'cards' });
  const failing = h('div');
  layout('Overview', cards, h('h2', {}, 'Failing or disabled subscriptions'), failing);
  let last: { at: number; stats: Json } | null = null;
  const refresh = async () => {
    const [stats, subs] = await Promise.all([api('GET', '/stats'), api('GET', '/subscriptions?limit=500')]);
    const now = Date.now();
    const total = (s: Json) => STATUSES.reduce((n, k) => n + s.deliveries[k], 0);
    const rate = (pick: (s: Json) => number) => (last ? ((pick(stats) - pick(last.stats)) / ((now - last.at) / 1000)).toFixed(1) : '…');
    const card = (label: string, value: Child) =>
      h('div', { class: 'card' }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
    cards.replaceChildren(
      card('deliveries created / s (ingest)', rate(total)),
      card(
        'succeeded / s',
        rate((s) => s.deliveries.succeeded),
      ),
      card(
        'failed / s',
        rate((s) => s.deliveries.failed),
      ),
      card('waiting deliveries', stats.backlog),
      card('oldest waiting', age(stats.oldest_waiting_at)),
      card('failed, in all', stats.deliveries.failed),
    );
    last = { at: now, stats };
    const bad = subs.data.filter((s: Json) => !s.enabled || s.health.failure_streak > 0);
    failing.replaceChildren(
      bad.length === 0
        ? h('p', {}, 'None: every enabled subscription delivered its last attempt.')
        : table(
            ['Subscription', 'State', 'Failures in a row', 'Last success', 'Waiting'],
            bad.map((s: Json) => [
              link(`#/deliveries?subscription=${encodeURIComponent(s.id)}&status=failed`, s.id),
              s.enabled ? 'failing' : `disabled${s.disabled_reason ? `: ${s.disabled_reason}` : ''}`,
              s.health.failure_streak,
              when(s.health.last_success_at),
              s.health.backlog,
            ]),
          ),
    );
  };
  await refresh();
  every(2000, () => void refresh().catch(() => undefined));
}

function table(head: string[], rows: Child[][]): HTMLElement {
  return h(
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
  );
}

// ---- subscriptions -----------------------------------------------------------------------------------

async function subscriptionsPage(): Promise<void> {
  const out = h('div', { id: 'result' });
  const tenant = params().get('tenant') || null;
  const list = await api('GET', `/subscriptions?limit=500${tenant ? `&tenant=${encodeURIComponent(tenant)}` : ''}`);
  const tenantFilter = tenantInput(tenant);
  const filters = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const value = tenantFilter.value.trim();
        location.hash = value ? `#/subscriptions?tenant=${encodeURIComponent(value)}` : '#/subscriptions';
      },
    },
    field('f-tenant', 'Tenant id', tenantFilter),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const actions = (s: Json): Child => {
    if (!canWrite()) return null;
    const id = encodeURIComponent(s.id);
    const button = (text: string, fn: () => Promise<Child>) => h('button', { type: 'button', onclick: () => act(out, fn) }, text);
    return h(
      'div',
      { class: 'actions' },
      button(s.enabled ? 'Disable' : 'Enable', async () => {
        await api('PATCH', `/subscriptions/${id}`, { enabled: !s.enabled });
        await subscriptionsPage();
        return `${s.id} ${s.enabled ? 'disabled' : 'enabled'}.`;
      }),
      s.enabled &&
        button('Send test event', async () => {
          const r = await api('POST', `/subscriptions/${id}/test`);
          return ['Test event sent: ', link(`#/deliveries/${r.delivery_id}`, r.delivery_id)];
        }),
      s.source === 'api' &&
        s.signature.scheme !== 'none' &&
        button('Rotate secret', async () => {
          const r = await api('POST', `/subscriptions/${id}/rotate-secret`, {});
          return ['New secret for ', s.id, ' (shown once; the old one signs for 24 h more): ', h('code', { class: 'secret' }, r.secret)];
        }),
      s.source === 'api' && link(`#/subscriptions/${id}/edit`, 'Edit'),
    );
  };
  layout(
    'Subscriptions',
    out,
    canWrite() && h('p', {}, link('#/subscriptions/new', 'New subscription')),
    filters,
    list.data.length === 0
      ? h('p', {}, 'No subscriptions match.')
      : table(
          ['Subscription', 'Tenant', 'URL', 'Events', 'State', 'Last success', 'Failures in a row', 'Waiting', ''],
          list.data.map((s: Json) => [
            h('div', {}, link(`#/deliveries?subscription=${encodeURIComponent(s.id)}`, s.id), h('div', { class: 'muted' }, s.source)),
            tenantCell(s.tenant),
            h('span', { class: 'url' }, s.url),
            s.events.join(', '),
            s.enabled ? 'enabled' : h('span', { title: s.disabled_reason ?? '' }, 'disabled'),
            when(s.health.last_success_at),
            s.health.failure_streak,
            s.health.backlog,
            actions(s),
          ]),
        ),
  );
}

function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint && h('div', { class: 'hint', id: `${id}-hint` }, hint));
}

function subscriptionForm(existing: Json | null): void {
  const out = h('div', { id: 'result' });
  const input = (id: string, value = '', attrs: Record<string, unknown> = {}) =>
    h('input', { id, name: id, value, ...attrs }) as HTMLInputElement;
  const id = input('sub-id', '', { required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}' });
  const url = input('sub-url', existing?.url ?? '', { type: 'url', required: true });
  const description = input('sub-description', existing?.description ?? '');
  const events = input('sub-events', (existing?.events ?? ['*']).join(', '));
  const scheme = h(
    'select',
    { id: 'sub-scheme', name: 'scheme' },
    ['standard-webhooks', 'ed25519', 'stripe', 'github', 'none'].map((s) => h('option', { value: s }, s)),
  ) as HTMLSelectElement;
  const enabled = input('sub-enabled', '', { type: 'checkbox', ...((existing?.enabled ?? true) && { checked: true }) });
  const form = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(out, async () => {
          const body: Json = {
            url: url.value,
            events: events.value
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            enabled: enabled.checked,
            ...(description.value && { description: description.value }),
          };
          if (existing) {
            await api('PATCH', `/subscriptions/${encodeURIComponent(existing.id)}`, body);
            return ['Saved. ', link('#/subscriptions', 'Back to subscriptions')];
          }
          const created = await api('POST', '/subscriptions', { id: id.value, ...body, signature: { scheme: scheme.value } });
          return [
            `Created ${created.id}. `,
            created.signature.secret ? ['Its secret (shown once): ', h('code', { class: 'secret' }, created.signature.secret), ' '] : null,
            link('#/subscriptions', 'Back to subscriptions'),
          ];
        });
      },
    },
    existing ? null : field('sub-id', 'ID', id, 'lower-case letters, digits, - and _'),
    field('sub-url', 'URL', url),
    field('sub-description', 'Description', description),
    field('sub-events', 'Event types', events, 'comma-separated patterns; * matches the rest, e.g. payment.*'),
    existing ? null : field('sub-scheme', 'Signature scheme', scheme, 'a secret is generated and shown once'),
    h('div', { class: 'field inline' }, enabled, h('label', { for: 'sub-enabled' }, 'Enabled')),
    h('button', { type: 'submit' }, existing ? 'Save' : 'Create subscription'),
  );
  layout(existing ? `Edit ${existing.id}` : 'New subscription', out, canWrite() ? form : notice('error', 'This token is read-only.'));
}

// ---- deliveries (the event log) ------------------------------------------------------------------------

async function deliveriesPage(): Promise<void> {
  const q = params();
  const subs = await api('GET', '/subscriptions?limit=500');
  const status = h(
    'select',
    { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, ...(q.get('status') === s && { selected: true }) }, s)),
  );
  const subscription = h(
    'select',
    { id: 'f-subscription', name: 'subscription' },
    h('option', { value: '' }, 'any'),
    subs.data.map((s: Json) => h('option', { value: s.id, ...(q.get('subscription') === s.id && { selected: true }) }, s.id)),
  );
  const type = h('input', {
    id: 'f-type',
    name: 'event_type',
    value: q.get('event_type') ?? '',
    placeholder: 'payment.completed',
  }) as HTMLInputElement;
  const local = (iso: string | null) =>
    iso ? new Date(Date.parse(iso) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : '';
  const since = h('input', { id: 'f-since', name: 'since', type: 'datetime-local', value: local(q.get('since')) }) as HTMLInputElement;
  const until = h('input', { id: 'f-until', name: 'until', type: 'datetime-local', value: local(q.get('until')) }) as HTMLInputElement;
  const tenant = tenantInput(q.get('tenant'));
  const live = h('input', { id: 'f-live', type: 'checkbox', checked: true }) as HTMLInputElement;
  const filters = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams();
        const set = (k: string, v: string) => v && next.set(k, v);
        set('status', (status as HTMLSelectElement).value);
        set('subscription', (subscription as HTMLSelectElement).value);
        set('tenant', tenant.value.trim());
        set('event_type', type.value.trim());
        set('since', since.value ? new Date(since.value).toISOString() : '');
        set('until', until.value ? new Date(until.value).toISOString() : '');
        location.hash = `#/deliveries?${next}`;
      },
    },
    field('f-status', 'Status', status),
    field('f-subscription', 'Subscription', subscription),
    field('f-tenant', 'Tenant id', tenant),
    field('f-type', 'Event type', type),
    field('f-since', 'Since', since),
    field('f-until', 'Until', until),
    h('button', { type: 'submit' }, 'Filter'),
    h('div', { class: 'field inline' }, live, h('label', { for: 'f-live' }, 'Live updates')),
  );
  const results = h('div', { id: 'deliveries' });
  layout('Deliveries', filters, results);

  const query = new URLSearchParams();
  for (const k of ['status', 'subscription', 'tenant', 'event_type', 'since', 'until']) if (q.get(k)) query.set(k, q.get(k)!);
  query.set('limit', '50');
  let cursor: string | null = null;
  const load = async () => {
    const page = await api('GET', `/deliveries?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    results.replaceChildren(
      page.data.length === 0
        ? h('p', {}, 'No deliveries match.')
        : table(
            ['Delivery', 'Event type', 'Subscription', 'Tenant', 'Status', 'Attempts', 'Last answer', 'Updated'],
            page.data.map((d: Json) => [
              link(`#/deliveries/${d.id}`, d.id),
              d.event_type,
              d.subscription,
              tenantCell(d.tenant),
              badge(d.status),
              d.attempts,
              d.last_status_code ?? d.last_error ?? '—',
              when(d.updated_at),
            ]),
          ),
      h(
        'p',
        { class: 'pager' },
        cursor && h('button', { type: 'button', onclick: () => ((cursor = null), void load()) }, 'Newest'),
        page.next_cursor &&
          h('button', { type: 'button', onclick: () => ((cursor = page.next_cursor), (live.checked = false), void load()) }, 'Older'),
      ),
    );
  };
  await load();
  // Live: the first page again every few seconds, unless the user turned it off or paged back.
  every(2000, () => {
    if (live.checked && cursor === null) void load().catch(() => undefined);
  });
}

// ---- one delivery --------------------------------------------------------------------------------------

function headersTable(headers: Record<string, string>): HTMLElement {
  return h(
    'table',
    { class: 'headers' },
    h(
      'tbody',
      {},
      Object.entries(headers).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))),
    ),
  );
}

async function deliveryPage(id: string): Promise<void> {
  // Called again by its own refresh and after an action: one refresh timer at a time.
  clearTimers();
  const d = await api('GET', `/deliveries/${encodeURIComponent(id)}`);
  const out = h('div', { id: 'result' });
  const waiting = d.status === 'pending' || d.status === 'retrying';
  const button = (text: string, path: string) =>
    h(
      'button',
      {
        type: 'button',
        onclick: () =>
          act(
            out,
            async () => (await api('POST', `/deliveries/${encodeURIComponent(id)}/${path}`), await deliveryPage(id), `${text}: done.`),
          ),
      },
      text,
    );
  layout(
    `Delivery ${d.id}`,
    out,
    h(
      'dl',
      { class: 'facts' },
      [
        ['Status', badge(d.status)],
        ['Event', h('span', {}, d.event_type, ' · ', h('code', {}, d.event_id))],
        ['Subscription', link(`#/deliveries?subscription=${encodeURIComponent(d.subscription)}`, d.subscription)],
        ['Tenant', tenantCell(d.tenant)],
        ['Attempts', d.attempts],
        ['Next attempt', when(d.next_attempt_at)],
        ['Created', when(d.created_at)],
        ['Updated', when(d.updated_at)],
      ].map(([k, v]) => [h('dt', {}, k as string), h('dd', {}, v as Child)]),
    ),
    canWrite() &&
      h(
        'div',
        { class: 'actions' },
        d.status !== 'delivering' && d.status !== 'succeeded' && button('Retry now', 'retry'),
        waiting && button('Cancel', 'cancel'),
      ),
    h('h2', {}, 'Attempts'),
    d.attempt_log.length === 0
      ? h('p', {}, 'No attempt yet.')
      : d.attempt_log
          .slice()
          .reverse()
          .map((a: Json) =>
            h(
              'section',
              { class: 'attempt', 'aria-label': `Attempt ${a.attempt}` },
              h(
                'h3',
                {},
                `Attempt ${a.attempt} · `,
                a.response ? `HTTP ${a.response.status}` : 'no answer',
                ` · ${a.duration_ms} ms · ${when(a.started_at)}`,
              ),
              a.error && h('p', { class: 'error-text' }, a.error),
              h('details', {}, h('summary', {}, `Request: POST ${a.request.url}`), headersTable(a.request.headers)),
              a.response &&
                h(
                  'details',
                  { open: true },
                  h('summary', {}, 'Response'),
                  headersTable(a.response.headers),
                  h('pre', { class: 'body', 'aria-label': 'Response body' }, a.response.body ?? ''),
                ),
            ),
          ),
  );
  if (waiting || d.status === 'delivering') every(2000, () => void deliveryPage(id).catch(() => undefined));
}

window.addEventListener('hashchange', () => void route());
void route();
