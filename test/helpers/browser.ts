import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** The Chromium the browser tests drive: Debian's, unless HOOKRELAY_CHROMIUM names another. */
const CHROMIUM = process.env.HOOKRELAY_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium with its own traffic (updates, sync, QUIC probes) turned off, so that every
 * request a test sees is one the page made. No sandbox: the tests may run as root in a container.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

export interface PageOptions {
  /** Where console errors and uncaught exceptions of the page are collected. */
  errors: string[];
  /** Viewport width in CSS pixels (the height is 800); default 1280. */
  width?: number;
  /** An origin every request of the page must stay on (data: URLs aside); one that leaves it is collected in `errors`. */
  stayOn?: string;
}

/** A new tab in a context of its own, so no test sees another's session storage. */
export async function openPage(browser: Browser, { errors, width = 1280, stayOn }: PageOptions): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  // Below the tests' own 30 s: a step that waits for something that never comes fails naming its
  // locator, instead of the whole test timing out without saying where.
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  if (stayOn !== undefined) {
    page.on('request', (r) => {
      if (!r.url().startsWith(stayOn) && !r.url().startsWith('data:')) errors.push(`request left the relay: ${r.url()}`);
    });
  }
  return page;
}

/** Saves full-page screenshots as `<dir>/<prefix><name>.png`. */
export function screenshots(dir: string, prefix = ''): (page: Page, name: string) => Promise<Buffer> {
  return (page, name) => {
    mkdirSync(dir, { recursive: true });
    return page.screenshot({ path: join(dir, `${prefix}${name}.png`), fullPage: true });
  };
}
