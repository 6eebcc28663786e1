// "Verify signatures": code for the endpoint's scheme in four languages.
import { api, code, h, type Json, platform } from './core';
import { layout } from './layout';
import { install, LANGUAGES, type Language, snippet } from './snippets';

let language: Language = 'Node.js';

export async function renderVerify(params: URLSearchParams): Promise<void> {
  const subs = (await api('GET', '/subscriptions?limit=500')).data as Json[];
  const chosen = subs.find((s) => s.id === params.get('endpoint')) ?? subs[0];
  if (!chosen) {
    layout(
      'Verify signatures',
      h('p', {}, 'Add an endpoint first: this page then shows the code that checks its requests come from us.'),
      h('a', { href: '#/endpoints/new' }, 'Add endpoint'),
    );
    return;
  }
  const pick = h(
    'select',
    { id: 'verify-endpoint' },
    subs.map((s) => h('option', { value: s.id, selected: s.id === chosen.id }, s.url)),
  ) as HTMLSelectElement;
  pick.addEventListener('change', () => (location.hash = `#/verify?endpoint=${encodeURIComponent(pick.value)}`));
  const panel = h('div', {});
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Language' });
  const draw = () => {
    tabs.replaceChildren(
      ...LANGUAGES.map((lang) => {
        const tab = h('button', { type: 'button', role: 'tab', 'aria-selected': String(lang === language) }, lang);
        tab.addEventListener('click', () => {
          language = lang;
          draw();
        });
        return tab;
      }),
    );
    const setup = install(chosen.signature, language);
    panel.replaceChildren(...[setup ? code(setup) : null, code(snippet(chosen.signature, language))].filter((n) => n !== null));
  };
  draw();
  const scheme = chosen.signature.scheme as string;
  layout(
    'Verify signatures',
    h(
      'p',
      { class: 'lead' },
      `Each request ${platform} sends is signed with your endpoint's secret, so your server can check it came from us and was not changed. ` +
        'Always check the signature on the raw body, before parsing it, and answer 2xx quickly.',
    ),
    h('div', { class: 'row' }, h('label', { for: 'verify-endpoint' }, 'Endpoint'), pick),
    h(
      'p',
      { class: 'small muted' },
      `Signature scheme: ${scheme}. Keep the secret in an environment variable (WEBHOOK_SECRET here), never in your code.`,
    ),
    tabs,
    panel,
  );
}
