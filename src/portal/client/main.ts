/// <reference lib="dom" />
// The customer portal (GET /portal, SPEC 10). It opens with a link token in its address
// (`/portal#hrl_…`): the token leaves the address bar at once (replaceState), is traded once for a
// session kept in this tab's sessionStorage, and from then on the page talks to /api/v1 only, with
// that session. Hash routes (#/endpoints/…) keep the back button working.
import { api, ApiError, h, isTenantDisabled, notice, scopes, session, show, showDisabled, showEnded } from './core';
import { renderDeliveries, renderDelivery } from './deliveries';
import { renderEndpoint, renderEndpoints, renderNewEndpoint } from './endpoints';
import { layout } from './layout';
import { renderVerify } from './verify';

async function route(): Promise<void> {
  const [path = '#/', query = ''] = location.hash.split('?');
  const params = new URLSearchParams(query);
  const parts = path.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    if (parts[0] === 'endpoints' && parts[1] === 'new') await renderNewEndpoint();
    else if (parts[0] === 'endpoints' && parts[1]) await renderEndpoint(parts[1]);
    else if (parts[0] === 'deliveries' && parts[1]) await renderDelivery(parts[1]);
    else if (parts[0] === 'deliveries') await renderDeliveries(params);
    else if (parts[0] === 'verify') await renderVerify(params);
    else await renderEndpoints();
  } catch (err) {
    // 401 and a disabled tenant have shown their own page already.
    if (err instanceof ApiError && (err.status === 401 || isTenantDisabled(err.problem))) return;
    layout(
      'Something went wrong',
      notice('error', err instanceof Error ? err.message : String(err)),
      h('a', { href: '#/' }, 'Back to endpoints'),
    );
  }
}

/** Trades the link token for a session; false when the link no longer works (its page is shown). */
async function openSession(linkToken: string): Promise<boolean> {
  const res = await fetch('api/v1/portal/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: linkToken }),
  }).catch(() => null);
  if (res === null) {
    show(
      h(
        'main',
        { class: 'ended' },
        h('h1', {}, 'We could not reach the server.'),
        h('p', {}, 'Check your connection and reload this page.'),
      ),
    );
    return false;
  }
  if (res.status === 403) showDisabled();
  else if (!res.ok) showEnded();
  if (!res.ok) return false;
  const opened = (await res.json()) as { token: string };
  session.set(opened.token);
  return true;
}

async function start(): Promise<void> {
  const hash = location.hash.slice(1);
  if (hash.startsWith('hrl_')) {
    // Out of the address bar (and so out of the history, bookmarks and screen shares) before anything else.
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
    if (!(await openSession(hash))) return;
  }
  if (session.get() === null) {
    showEnded();
    return;
  }
  try {
    const me = await api('GET', '/whoami');
    scopes.splice(0, scopes.length, ...(me.scopes as string[]));
  } catch {
    return;
  }
  window.addEventListener('hashchange', () => void route());
  await route();
}

void start();
