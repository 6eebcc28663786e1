// The frame of every portal page: the platform's name and logo, the navigation, the title.
import { type Child, canWrite, h, logo, platform, show } from './core';

export function layout(title: string, ...content: Child[]): void {
  const current = location.hash.split('?')[0] || '#/';
  const section = current.startsWith('#/deliveries') ? '#/deliveries' : current.startsWith('#/verify') ? '#/verify' : '#/';
  const nav = (href: string, text: string) => h('a', { href, ...(section === href && { 'aria-current': 'page' }) }, text);
  show(
    h(
      'header',
      {},
      h(
        'div',
        { class: 'brand' },
        logo ? h('img', { src: logo, alt: platform, class: 'logo' }) : null,
        h('span', {}, platform === 'your platform' ? 'Webhooks' : `${platform} · Webhooks`),
      ),
      h(
        'nav',
        { 'aria-label': 'Webhooks' },
        nav('#/', 'Endpoints'),
        nav('#/deliveries', 'Deliveries'),
        nav('#/verify', 'Verify signatures'),
      ),
      canWrite() ? null : h('span', { class: 'muted small' }, 'View only'),
    ),
    h('main', {}, h('h1', {}, title), ...content),
  );
}
