/// <reference lib="dom" />
// The dashboard (GET /ui): a small browser app on the admin API only. No framework: a render
// function per page, a hash route (#/deliveries?status=failed) so the back button and links work,
// and the admin token in sessionStorage, sent as a Bearer header. What a read-only token cannot do
// is not offered (and the API refuses it anyway). Tenant pages are in tenants.ts, the shared
// helpers in kit.ts.

import {
  ApiError,
  act,
  api,
  apiText,
  badge,
  type Child,
  canTenants,
  canWrite,
  clearTimers,
  enc,
  every,
  field,
  h,
  isoOf,
  type Json,
  layout,
  link,
  localInput,
  notice,
  onSignOut,
  pager,
  params,
  session,
  show,
  TOKEN_KEY,
  table,
  tenantCell,
  tenantHref,
  tenantInput,
  when,
} from './kit';
import { catalogPage, eventTypeForm, eventTypePage } from './catalog';
import { dataText, eventPage, eventsPage, operationalEvents, payload } from './events';
import { subscriptionPage } from './subscription';
import { erasurePage, tenantForm, tenantPage, tenantsPage } from './tenants';

const STATUSES = ['pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled'];

function age(iso: string | null): string {
  if (!iso) return '—';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

// ---- sign in -------------------------------------------------------------------------------------

function signOut(message?: string): void {
  forgetToken();
  renderSignIn(message);
}
onSignOut(signOut);

function forgetToken(): void {
  session.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
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
          session.me = await api('GET', '/whoami');
          const refusal = refusalOf(session.me);
          if (refusal !== undefined) {
            forgetToken();
            error.replaceChildren(notice('error', refusal));
            return;
          }
          route();
        } catch (err) {
          sessionStorage.removeItem(TOKEN_KEY);
          const refused = err instanceof ApiError && err.status === 401;
          // 403: a token /whoami refuses (it answers any admin scope, so none is expected here).
          const lacking = err instanceof ApiError && err.status === 403;
          error.replaceChildren(
            notice(
              'error',
              refused ? 'That token was refused.' : lacking ? 'That token lacks the read scope the dashboard needs.' : String(err),
            ),
          );
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

/**
 * Why the dashboard refuses the token /whoami described, or undefined when it takes it. The
 * dashboard is the operator's (SPEC 9): a tenant credential is refused; so is an admin token for
 * provisioning customers only (`tenants` without `read`), since every page of the dashboard reads.
 */
function refusalOf(me: typeof session.me): string | undefined {
  if (me?.tenant !== undefined) return 'That is a tenant token; the dashboard needs an admin token.';
  if (!me?.scopes.includes('read')) return 'That token has only the tenants scope; the dashboard needs the read scope.';
  return undefined;
}

// ---- routing ------------------------------------------------------------------------------------

async function route(): Promise<void> {
  clearTimers();
  if (!sessionStorage.getItem(TOKEN_KEY)) return renderSignIn();
  if (!session.me) {
    try {
      session.me = await api('GET', '/whoami');
    } catch {
      return;
    }
    if (refusalOf(session.me) !== undefined) return signOut();
  }
  const path = (location.hash.slice(1).split('?')[0] || '/').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (path.length === 0) await overviewPage();
    else if (path[0] === 'tenants') await tenantRoute(path.slice(1));
    else if (path[0] === 'subscriptions' && path.length === 1) await subscriptionsPage(null);
    else if (path[0] === 'subscriptions' && path[1] === 'new') subscriptionForm(null);
    else if (path[0] === 'subscriptions' && path[2] === 'edit')
      subscriptionForm(await api('GET', `/subscriptions/${encodeURIComponent(path[1]!)}`));
    else if (path[0] === 'subscriptions' && path.length === 2) await subscriptionPage(path[1]!);
    else if (path[0] === 'events' && path.length === 1) await eventsPage();
    else if (path[0] === 'events') await eventPage(path[1]!);
    else if (path[0] === 'deliveries' && path.length === 1) await deliveriesPage();
    else if (path[0] === 'deliveries') await deliveryPage(path[1]!);
    else if (path[0] === 'catalog' && path.length === 1) await catalogPage(null);
    else if (path[0] === 'catalog' && path[2] === 'edit') eventTypeForm(await api('GET', `/event-types/${enc(path[1]!)}`));
    else if (path[0] === 'catalog') await eventTypePage(path[1]!);
    else if (path[0] === 'new-event-type') eventTypeForm(null);
    else layout('Not found', h('p', {}, 'No such page. ', link('#/', 'Overview')));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401))
      layout('Error', notice('error', String(err instanceof Error ? err.message : err)));
  }
}

/** `#/tenants…`: the list, a new one, one tenant, its edit form, its new subscription, its erasure. */
async function tenantRoute([id, sub]: string[]): Promise<void> {
  if (id === undefined) return tenantsPage();
  if (id === 'new') return tenantForm(null);
  if (sub === undefined) return tenantPage(id);
  if (sub === 'edit') return tenantForm(await api('GET', `/tenants/${encodeURIComponent(id)}`));
  if (sub === 'erasure') return erasurePage(id);
  if (sub === 'new-subscription') return subscriptionForm(null, id);
  layout('Not found', h('p', {}, 'No such page. ', link('#/tenants', 'Tenants')));
}

// ---- overview ----------------------------------------------------------------------------------------

async function overviewPage(): Promise<void> {
  const cards = h('div', { class: 'cards' });
  const failing = h('div');
  const operational = h('div', { id: 'operational-events' });
  layout(
    'Overview',
    cards,
    h('h2', {}, 'Failing or disabled platform subscriptions'),
    failing,
    canTenants() && h('p', { class: 'hint' }, "Tenants' subscriptions: the Failing column of ", link('#/tenants', 'Tenants'), '.'),
    h('h2', {}, 'Latest operational events'),
    operational,
  );
  // The relay's own reports (SPEC 12), tenants' subscriptions included: less often than the rates.
  await operationalEvents(operational);
  every(10_000, () => void operationalEvents(operational).catch(() => undefined));
  let last: { at: number; stats: Json } | null = null;
  const refresh = async () => {
    const [stats, subs] = await Promise.all([api('GET', '/stats'), api('GET', '/subscriptions?tenant=&limit=500')]);
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
        ? h('p', {}, 'None: every enabled platform subscription delivered its last attempt.')
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

// ---- subscriptions -----------------------------------------------------------------------------------

/** One page of subscriptions (50, in id order; `cursor` from the previous page), filtered by tenant. */
async function subscriptionsPage(cursor: string | null, message?: Child): Promise<void> {
  const out = h('div', { id: 'result' }, message && notice('ok', message));
  const tenant = params().get('tenant') || null;
  const query = new URLSearchParams({ limit: '50' });
  if (tenant) query.set('tenant', tenant);
  if (cursor) query.set('cursor', cursor);
  const list = await api('GET', `/subscriptions?${query}`);
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
  // After an action the page is drawn again (same page of the list) with the outcome on top.
  const again = (result: Child) => subscriptionsPage(cursor, result);
  const actions = (s: Json): Child => {
    if (!canWrite()) return null;
    const id = encodeURIComponent(s.id);
    const button = (text: string, fn: () => Promise<Child>) => h('button', { type: 'button', onclick: () => act(out, fn) }, text);
    return h(
      'div',
      { class: 'actions' },
      button(s.enabled ? 'Disable' : 'Enable', async () => {
        await api('PATCH', `/subscriptions/${id}`, { enabled: !s.enabled });
        await again(`${s.id} ${s.enabled ? 'disabled' : 'enabled'}.`);
        return null;
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
    canWrite() &&
      h(
        'p',
        { class: 'actions' },
        link('#/subscriptions/new', 'New subscription'),
        tenant && canTenants() && link(`${tenantHref(tenant)}/new-subscription`, `New subscription for ${tenant}`),
      ),
    filters,
    list.data.length === 0
      ? h(
          'p',
          {},
          tenant
            ? `Tenant ${tenant} has no subscription. `
            : 'No subscriptions yet: declare them in the config file, or create one with New subscription.',
          tenant && canTenants() && link(tenantHref(tenant), `Open tenant ${tenant}`),
        )
      : table(
          ['Subscription', 'Tenant', 'URL', 'Events', 'State', 'Last success', 'Failures in a row', 'Waiting', ''],
          list.data.map((s: Json) => [
            h('div', {}, link(`#/subscriptions/${encodeURIComponent(s.id)}`, s.id), h('div', { class: 'muted' }, s.source)),
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
    pager(cursor, list.next_cursor, (next) => void subscriptionsPage(next).catch(() => undefined)),
  );
}

/**
 * Create (`tenant`: one owned by that tenant, its id made by the relay unless given) or edit a
 * run-time subscription.
 */
function subscriptionForm(existing: Json | null, tenant: string | null = existing?.tenant ?? null): void {
  const out = h('div', { id: 'result' });
  const input = (id: string, value = '', attrs: Record<string, unknown> = {}) =>
    h('input', { id, name: id, value, ...attrs }) as HTMLInputElement;
  const id = input('sub-id', '', { required: !tenant, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}' });
  const back = tenant ? link(tenantHref(tenant), `Back to tenant ${tenant}`) : link('#/subscriptions', 'Back to subscriptions');
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
            return ['Saved. ', back];
          }
          const created = await api('POST', '/subscriptions', {
            ...(id.value && { id: id.value }),
            ...(tenant && { tenant }),
            ...body,
            signature: { scheme: scheme.value },
          });
          return [
            `Created ${created.id}. `,
            created.signature.secret ? ['Its secret (shown once): ', h('code', { class: 'secret' }, created.signature.secret), ' '] : null,
            back,
          ];
        });
      },
    },
    tenant && h('p', {}, 'Belongs to tenant ', h('strong', {}, tenant), ' (for good). Its URL must be on a public network.'),
    existing
      ? null
      : field('sub-id', 'ID', id, tenant ? 'optional: left empty, the relay makes one (sub_…)' : 'lower-case letters, digits, - and _'),
    field('sub-url', 'URL', url),
    field('sub-description', 'Description', description),
    field('sub-events', 'Event types', events, 'comma-separated patterns; * matches the rest, e.g. payment.*'),
    existing ? null : field('sub-scheme', 'Signature scheme', scheme, 'a secret is generated and shown once'),
    h('div', { class: 'field inline' }, enabled, h('label', { for: 'sub-enabled' }, 'Enabled')),
    h('button', { type: 'submit' }, existing ? 'Save' : 'Create subscription'),
  );
  const title = existing ? `Edit ${existing.id}` : tenant ? `New subscription for ${tenant}` : 'New subscription';
  layout(title, out, canWrite() ? form : notice('error', 'This token is read-only.'));
}

// ---- deliveries (the event log) ------------------------------------------------------------------------

async function deliveriesPage(): Promise<void> {
  const q = params();
  const status = h(
    'select',
    { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, ...(q.get('status') === s && { selected: true }) }, s)),
  );
  // A box, not a list of every subscription: there may be 100,000 of them (tenants').
  const subscription = h('input', {
    id: 'f-subscription',
    name: 'subscription',
    value: q.get('subscription') ?? '',
    placeholder: 'subscription id',
  }) as HTMLInputElement;
  const type = h('input', {
    id: 'f-type',
    name: 'event_type',
    value: q.get('event_type') ?? '',
    placeholder: 'payment.completed',
  }) as HTMLInputElement;
  const since = h('input', { id: 'f-since', name: 'since', type: 'datetime-local', value: localInput(q.get('since')) }) as HTMLInputElement;
  const until = h('input', { id: 'f-until', name: 'until', type: 'datetime-local', value: localInput(q.get('until')) }) as HTMLInputElement;
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
        set('subscription', subscription.value.trim());
        set('tenant', tenant.value.trim());
        set('event_type', type.value.trim());
        set('since', isoOf(since.value));
        set('until', isoOf(until.value));
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
        ? h('p', {}, 'No deliveries match. Change the filters, or send an event to /ingest.')
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

/** The last event payload shown (an event's data never changes): a delivery page's refresh reads it once. */
let shownPayload: { eventId: string; data: string } | null = null;

/** The data text of a delivery's event (GET /events/{id}: its exact JSON text). */
async function eventData(eventId: string): Promise<string> {
  if (shownPayload?.eventId !== eventId) {
    const { json, text } = await apiText('GET', `/events/${enc(eventId)}`);
    shownPayload = { eventId, data: dataText(text, json) };
  }
  return shownPayload.data;
}

async function deliveryPage(id: string): Promise<void> {
  // Called again by its own refresh and after an action: one refresh timer at a time.
  clearTimers();
  const d = await api('GET', `/deliveries/${encodeURIComponent(id)}`);
  const data = await eventData(d.event_id);
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
        ['Event', h('span', {}, d.event_type, ' · ', link(`#/events/${enc(d.event_id)}`, d.event_id))],
        ['Subscription', link(`#/subscriptions/${enc(d.subscription)}`, d.subscription)],
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
    payload(data),
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
