/// <reference lib="dom" />
// Tenant pages of the dashboard (SPEC 9): the list (id prefix search, one page at a time), a new or
// edited record, one tenant (record, subscriptions, recent deliveries, tokens, erase) and the
// progress of an erasure. Every request asks for what the page shows: one page of tenants, one
// tenant, its first subscriptions and its latest deliveries, never every tenant or subscription.

import {
  ApiError,
  act,
  api,
  badge,
  type Child,
  canTenants,
  canWrite,
  clearTimers,
  errorNotice,
  every,
  facts,
  field,
  h,
  type Json,
  layout,
  link,
  notice,
  pager,
  params,
  table,
  tenantHref,
  when,
} from './kit';

/** Tenants shown per page of the list. */
const TENANTS_PER_PAGE = 50;
/** Subscriptions shown per page on a tenant's page. */
const SUBSCRIPTIONS_PER_PAGE = 20;
/** Latest deliveries shown on a tenant's page. */
const RECENT_DELIVERIES = 10;
/** The tenant id rule of SPEC 9, for the form. */
const TENANT_ID_PATTERN = '[A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}';

/** A message for the next page drawn (after an action that moves to another page). */
let flash: Child = null;
const takeFlash = (): Child => {
  const message = flash;
  flash = null;
  return message;
};

const enc = encodeURIComponent;
const stateOf = (t: Json) => (t.state === 'erasing' ? 'erasing' : t.enabled ? 'enabled' : 'disabled');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function needsTenantScope(): boolean {
  if (canTenants()) return false;
  layout('Tenants', notice('error', 'Tenants need an admin token with the write or tenants scope; this one has neither.'));
  return true;
}

// ---- the list ----------------------------------------------------------------------------------------

/** `#/tenants?q=acct_`: one page of tenants whose id starts with `q`, with their counts. */
export async function tenantsPage(cursor: string | null = null): Promise<void> {
  if (needsTenantScope()) return;
  const q = params().get('q') ?? '';
  const query = new URLSearchParams({ limit: String(TENANTS_PER_PAGE) });
  if (q) query.set('q', q);
  if (cursor) query.set('cursor', cursor);
  const page = await api('GET', `/tenants?${query}`);
  const search = h('input', { id: 'f-q', name: 'q', value: q, placeholder: 'acct_', maxlength: 128 }) as HTMLInputElement;
  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const value = search.value.trim();
        location.hash = value ? `#/tenants?q=${enc(value)}` : '#/tenants';
      },
    },
    field('f-q', 'Tenant id starts with', search),
    h('button', { type: 'submit' }, 'Search'),
  );
  const empty = q
    ? h('p', {}, `No tenant id starts with “${q}”. Check the spelling, or create it with New tenant.`)
    : h('p', {}, 'No tenants yet. Create one with New tenant, or from your backend with PUT /api/v1/tenants/{id}.');
  layout(
    'Tenants',
    h('div', { id: 'result' }, takeFlash()),
    h('p', {}, link('#/tenants/new', 'New tenant')),
    filters,
    page.data.length === 0
      ? empty
      : table(
          ['Tenant', 'Name', 'State', 'Subscriptions', 'Waiting deliveries', 'Failing subscriptions'],
          page.data.map((t: Json) => [
            link(t.state === 'erasing' ? `${tenantHref(t.id)}/erasure` : tenantHref(t.id), t.id),
            t.name ?? h('span', { class: 'muted' }, '—'),
            badge(stateOf(t)),
            t.subscriptions,
            t.backlog,
            t.failing > 0 ? h('strong', { class: 'error-text' }, t.failing) : t.failing,
          ]),
        ),
    pager(cursor, page.next_cursor, (next) => void tenantsPage(next).catch((err) => showError(err))),
  );
}

function showError(err: unknown): void {
  if (!(err instanceof ApiError && err.status === 401)) layout('Error', errorNotice(err));
}

// ---- create or change a record ---------------------------------------------------------------------------

/** The record's fields as PUT takes them: PUT replaces the whole record, so every kept field is sent. */
function recordBody(t: Json, enabled: boolean): Json {
  return {
    ...(t.name && { name: t.name }),
    ...(t.metadata && { metadata: t.metadata }),
    enabled,
    limits: { max_subscriptions: t.limits.max_subscriptions, ingest_rate: t.limits.ingest_rate },
  };
}

/** `#/tenants/new` and `#/tenants/{id}/edit`. */
export function tenantForm(existing: Json | null): void {
  if (needsTenantScope()) return;
  const out = h('div', { id: 'result' });
  const input = (id: string, value: unknown = '', attrs: Record<string, unknown> = {}) =>
    h('input', { id, name: id, value: value ?? '', ...attrs }) as HTMLInputElement;
  const id = input('t-id', '', { required: true, pattern: TENANT_ID_PATTERN, maxlength: 128, autocomplete: 'off' });
  const name = input('t-name', existing?.name, { maxlength: 200 });
  const maxSubs = input('t-max-subscriptions', existing?.limits.max_subscriptions, { type: 'number', min: 0, step: 1 });
  const rate = input('t-ingest-rate', existing?.limits.ingest_rate, { placeholder: '100/s' });
  const metadata = h(
    'textarea',
    { id: 't-metadata', name: 't-metadata', rows: 4, placeholder: '{"plan": "pro"}' },
    existing?.metadata ? JSON.stringify(existing.metadata, null, 2) : '',
  ) as HTMLTextAreaElement;
  const enabled = input('t-enabled', '', { type: 'checkbox', ...((existing?.enabled ?? true) && { checked: true }) });
  const submit = async (): Promise<Child> => {
    const tenant = existing?.id ?? id.value.trim();
    let meta: unknown;
    try {
      meta = metadata.value.trim() ? JSON.parse(metadata.value) : undefined;
    } catch {
      throw new Error('Metadata is not valid JSON.');
    }
    if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta)))
      throw new Error('Metadata must be a JSON object, like {"plan": "pro"}.');
    // PUT replaces: a "new" tenant whose id is taken would silently overwrite it.
    if (!existing && (await exists(tenant))) return ['Tenant ', link(tenantHref(tenant), tenant), ' already exists; open it to change it.'];
    await api('PUT', `/tenants/${enc(tenant)}`, {
      ...(name.value.trim() && { name: name.value.trim() }),
      ...(meta !== undefined && { metadata: meta }),
      enabled: enabled.checked,
      limits: { max_subscriptions: maxSubs.value === '' ? null : Number(maxSubs.value), ingest_rate: rate.value.trim() || null },
    });
    flash = notice('ok', existing ? `Saved ${tenant}.` : `Created tenant ${tenant}.`);
    location.hash = tenantHref(tenant);
    return null;
  };
  const form = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(out, submit);
      },
    },
    existing ? null : field('t-id', 'Tenant id', id, "your platform's own id for this customer, e.g. acct_42"),
    field('t-name', 'Name', name),
    field('t-max-subscriptions', 'Max subscriptions', maxSubs, 'left empty: tenants.max_subscriptions of the config'),
    field('t-ingest-rate', 'Ingest rate', rate, 'events per time, e.g. 100/s; left empty: no limit'),
    field('t-metadata', 'Metadata', metadata, 'a JSON object, at most 8 kb; left empty: none'),
    h('div', { class: 'field inline' }, enabled, h('label', { for: 't-enabled' }, 'Enabled')),
    h('button', { type: 'submit' }, existing ? 'Save' : 'Create tenant'),
  );
  layout(
    existing ? `Edit tenant ${existing.id}` : 'New tenant',
    out,
    form,
    h('p', {}, link(existing ? tenantHref(existing.id) : '#/tenants', existing ? `Back to tenant ${existing.id}` : 'Back to tenants')),
  );
}

/** Through the list (one row), not GET /tenants/{id}: a 404 would be logged by the browser as an error. */
async function exists(tenant: string): Promise<boolean> {
  const page = await api('GET', `/tenants?q=${enc(tenant)}&limit=1`);
  return page.data[0]?.id === tenant;
}

// ---- one tenant ----------------------------------------------------------------------------------------

/** `#/tenants/{id}`: its record, subscriptions and health, latest deliveries, tokens, and erasure. */
export async function tenantPage(id: string, message: Child = takeFlash()): Promise<void> {
  if (needsTenantScope()) return;
  clearTimers();
  let t: Json;
  try {
    t = await api('GET', `/tenants/${enc(id)}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    layout(
      `Tenant ${id}`,
      h(
        'p',
        {},
        `There is no tenant ${id}. `,
        link('#/tenants', 'Find it among the tenants'),
        ' or ',
        link('#/tenants/new', 'create it'),
        '.',
      ),
    );
    return;
  }
  if (t.state === 'erasing') return erasurePage(id);
  const out = h('div', { id: 'result' }, message);
  const subscriptions = h('div', { id: 'tenant-subscriptions' });
  const deliveries = h('div', { id: 'tenant-deliveries' });
  const tokens = h('div', { id: 'tenant-tokens' });
  layout(
    `Tenant ${id}`,
    out,
    recordSection(t, out),
    h('h2', {}, 'Health'),
    t.failing === 0
      ? h('p', {}, t.subscriptions === 0 ? 'Nothing to check yet: it has no subscription.' : 'No failing subscription.')
      : h('p', { class: 'error-text' }, `${plural(t.failing, 'subscription')} failing: marked failing in the list below.`),
    h('h2', {}, 'Subscriptions'),
    canWrite() && h('p', {}, link(`${tenantHref(id)}/new-subscription`, 'New subscription for this tenant')),
    subscriptions,
    h('h2', {}, 'Recent deliveries'),
    deliveries,
    h('h2', {}, 'Tokens'),
    tokens,
    h('h2', {}, 'Erase tenant'),
    eraseSection(id),
  );
  await Promise.all([showSubscriptions(subscriptions, id, null), showDeliveries(deliveries, id), showTokens(tokens, id)]);
  // Deliveries change by themselves: the latest again every 2 s while the page is on screen.
  every(2000, () => void showDeliveries(deliveries, id).catch(() => undefined));
}

/** The record's facts, with Disable/Enable (a PUT that keeps the rest of the record) and Edit. */
function recordSection(t: Json, out: HTMLElement): Child[] {
  const id: string = t.id;
  const toggle = async (): Promise<Child> => {
    // Read again just before: PUT replaces the whole record, and another operator may have changed it.
    const now = await api('GET', `/tenants/${enc(id)}`);
    await api('PUT', `/tenants/${enc(id)}`, recordBody(now, !now.enabled));
    await tenantPage(id, notice('ok', `Tenant ${id} ${now.enabled ? 'disabled' : 'enabled'}.`));
    return null;
  };
  const none = (text: string) => h('span', { class: 'muted' }, text);
  return [
    facts([
      ['Name', t.name ?? none('none')],
      ['State', badge(stateOf(t))],
      ['Subscriptions', t.subscriptions],
      ['Waiting deliveries', t.backlog],
      ['Max subscriptions', t.limits.max_subscriptions ?? none('config default')],
      ['Ingest rate', t.limits.ingest_rate ?? none('no limit')],
      ['Metadata', t.metadata ? h('pre', { class: 'body' }, JSON.stringify(t.metadata, null, 2)) : none('none')],
      ['Created', when(t.created_at)],
      ['Updated', when(t.updated_at)],
    ]),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', onclick: () => act(out, toggle) }, t.enabled ? 'Disable tenant' : 'Enable tenant'),
      link(`${tenantHref(id)}/edit`, 'Edit record'),
    ),
    !t.enabled && h('p', { class: 'hint' }, 'Disabled: its events reach platform subscriptions only, and its tokens are refused.'),
  ];
}

async function showSubscriptions(area: HTMLElement, tenant: string, cursor: string | null): Promise<void> {
  const query = new URLSearchParams({ tenant, limit: String(SUBSCRIPTIONS_PER_PAGE) });
  if (cursor) query.set('cursor', cursor);
  const page = await api('GET', `/subscriptions?${query}`);
  const state = (s: Json): Child =>
    !s.enabled
      ? h('span', { title: s.disabled_reason ?? '' }, `disabled${s.disabled_reason ? `: ${s.disabled_reason}` : ''}`)
      : s.health.failure_streak > 0
        ? badge('failing')
        : 'enabled';
  area.replaceChildren(
    page.data.length === 0
      ? h(
          'p',
          {},
          canWrite()
            ? 'No subscriptions yet. Create one with New subscription for this tenant, or issue a token so the tenant creates its own.'
            : 'No subscriptions yet.',
        )
      : table(
          ['Subscription', 'URL', 'Events', 'State', 'Last success', 'Failures in a row', 'Waiting', ''],
          page.data.map((s: Json) => [
            link(`#/subscriptions/${enc(s.id)}/edit`, s.id),
            h('span', { class: 'url' }, s.url),
            s.events.join(', '),
            state(s),
            when(s.health.last_success_at),
            s.health.failure_streak,
            s.health.backlog,
            link(`#/deliveries?subscription=${enc(s.id)}`, 'Deliveries'),
          ]),
        ),
    pager(
      cursor,
      page.next_cursor,
      (next) => void showSubscriptions(area, tenant, next).catch((err) => area.replaceChildren(errorNotice(err))),
    ),
  );
}

async function showDeliveries(area: HTMLElement, tenant: string): Promise<void> {
  const page = await api('GET', `/deliveries?tenant=${enc(tenant)}&limit=${RECENT_DELIVERIES}`);
  area.replaceChildren(
    page.data.length === 0
      ? h('p', {}, `No deliveries yet. They appear here when /ingest receives an event with "tenant": "${tenant}".`)
      : table(
          ['Delivery', 'Event type', 'Subscription', 'Status', 'Attempts', 'Last answer', 'Updated'],
          page.data.map((d: Json) => [
            link(`#/deliveries/${enc(d.id)}`, d.id),
            d.event_type,
            d.subscription,
            badge(d.status),
            d.attempts,
            d.last_status_code ?? d.last_error ?? '—',
            when(d.updated_at),
          ]),
        ),
    h('p', {}, link(`#/deliveries?tenant=${enc(tenant)}`, 'All of its deliveries')),
  );
}

// ---- tokens ----------------------------------------------------------------------------------------

/** The tenant's tokens and the form that issues one; `out` shows the outcome of both. */
async function showTokens(area: HTMLElement, tenant: string): Promise<void> {
  const out = h('div', { id: 'token-result' });
  const list = h('div');
  const draw = async () => list.replaceChildren(tokenTable(tenant, await api('GET', `/tenants/${enc(tenant)}/tokens`), out, draw));
  area.replaceChildren(out, list, tokenForm(tenant, out, draw));
  await draw();
}

function tokenTable(tenant: string, tokens: { data: Json[] }, out: HTMLElement, redraw: () => Promise<void>): HTMLElement {
  if (tokens.data.length === 0) return h('p', {}, "No tokens. Issue one for the tenant's own backend to call /api/v1 as this tenant.");
  const revoke = (tk: Json) =>
    h(
      'button',
      {
        type: 'button',
        'aria-label': `Revoke ${tk.name}`,
        onclick: () =>
          act(out, async () => {
            await api('DELETE', `/tenants/${enc(tenant)}/tokens/${enc(tk.id)}`);
            await redraw();
            return `Token ${tk.name} revoked: it is refused from now on.`;
          }),
      },
      'Revoke',
    );
  return table(
    ['Name', 'Id', 'Scopes', 'Created', 'Expires', 'Last used', ''],
    tokens.data.map((tk) => [
      tk.name,
      h('code', {}, tk.id),
      tk.scopes.join(', '),
      when(tk.created_at),
      tk.expires_at ? when(tk.expires_at) : 'never',
      tk.last_used_at ? when(tk.last_used_at) : 'never',
      revoke(tk),
    ]),
  );
}

function tokenForm(tenant: string, out: HTMLElement, redraw: () => Promise<void>): HTMLElement {
  const name = h('input', {
    id: 'tk-name',
    name: 'tk-name',
    required: true,
    maxlength: 200,
    placeholder: 'billing backend',
  }) as HTMLInputElement;
  const scope = (s: string) => h('input', { id: `tk-${s}`, type: 'checkbox', checked: true, value: s }) as HTMLInputElement;
  const read = scope('read');
  const write = scope('write');
  const expires = h('input', { id: 'tk-expires', name: 'tk-expires', placeholder: '90d' }) as HTMLInputElement;
  const issue = async (): Promise<Child> => {
    const scopes = [read, write].filter((c) => c.checked).map((c) => c.value);
    if (scopes.length === 0) throw new Error('Pick at least one scope.');
    const created = await api('POST', `/tenants/${enc(tenant)}/tokens`, {
      name: name.value.trim(),
      scopes,
      ...(expires.value.trim() && { expires_in: expires.value.trim() }),
    });
    name.value = '';
    await redraw();
    return [
      `Token ${created.name} issued. Copy it now: it is shown only this once. `,
      h('code', { class: 'secret', 'aria-label': 'New token' }, created.token),
    ];
  };
  return h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Issue a token',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(out, issue);
      },
    },
    field('tk-name', 'Token name', name),
    h('div', { class: 'field inline' }, read, h('label', { for: 'tk-read' }, 'read')),
    h('div', { class: 'field inline' }, write, h('label', { for: 'tk-write' }, 'write')),
    field('tk-expires', 'Expires in', expires, 'e.g. 90d; left empty: never'),
    h('button', { type: 'submit' }, 'Issue token'),
  );
}

// ---- erasure -----------------------------------------------------------------------------------------

function eraseSection(id: string): HTMLElement {
  const out = h('div');
  const confirm = h('input', { id: 'erase-confirm', name: 'erase-confirm', autocomplete: 'off', spellcheck: 'false' }) as HTMLInputElement;
  const button = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Erase tenant') as HTMLButtonElement;
  confirm.addEventListener('input', () => {
    button.disabled = confirm.value !== id;
  });
  return h(
    'form',
    {
      class: 'danger-zone',
      'aria-label': 'Erase tenant',
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (confirm.value !== id) return;
        void act(out, async () => {
          await api('DELETE', `/tenants/${enc(id)}`);
          location.hash = `${tenantHref(id)}/erasure`;
          return null;
        });
      },
    },
    h(
      'p',
      {},
      'Erases everything of this tenant: its record, subscriptions, tokens, events, their deliveries (to platform subscriptions too) ',
      'and attempts. It cannot be undone. New events for it are refused until the erasure is done.',
    ),
    field('erase-confirm', `Type ${id} to confirm`, confirm),
    button,
    out,
  );
}

/** `#/tenants/{id}/erasure`: the rows erased so far, read every second until it is done. */
export async function erasurePage(id: string): Promise<void> {
  if (needsTenantScope()) return;
  clearTimers();
  const area = h('div', { id: 'erasure' });
  layout(`Erasure of tenant ${id}`, area);
  const draw = async (): Promise<boolean> => {
    const e = await api('GET', `/tenants/${enc(id)}/erasure`);
    const done = e.state === 'done';
    area.replaceChildren(
      done
        ? notice('ok', `Done: tenant ${id} and all its data are erased. The id may be used again, as a new tenant.`)
        : notice('ok', 'Erasing… this page follows it until it is done.'),
      facts([
        ['State', badge(e.state)],
        ['Events erased', e.events],
        ['Deliveries erased', e.deliveries],
        ['Attempts erased', e.attempts],
        ['Started', when(e.started_at)],
        ['Finished', when(e.finished_at)],
      ]),
      h('p', {}, link('#/tenants', 'Back to tenants')),
    );
    if (done) clearTimers();
    return done;
  };
  try {
    if (await draw()) return;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    area.replaceChildren(h('p', {}, `Tenant ${id} was never erased. `, link(tenantHref(id), 'Open the tenant')));
    return;
  }
  every(1000, () => void draw().catch(() => undefined));
}
