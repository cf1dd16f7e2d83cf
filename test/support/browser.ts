/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web';
import type { Tracker } from '../../web/tracker/tracker';
import { BROWSER } from './catalogFixtures';

declare global {
  /** What `/tracker.js` leaves on the page (see web/tracker/auto.ts). */
  interface Window {
    gavel?: Tracker;
  }
}

/** Debian's chromium (installed by `.ci/run`), or `CHROMIUM_PATH`. */
function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((candidate): candidate is string => !!candidate && existsSync(candidate));
  if (!found) throw new Error('No chromium found: `apt-get install -y chromium`, or set CHROMIUM_PATH.');
  return found;
}

/**
 * Launches headless Chromium (a real browser: layout, IntersectionObserver, websockets). Headless
 * Chromium announces itself as `HeadlessChrome`, which the tracking rules refuse as a bot
 * (`isbot`), so the browser presents a desktop browser's user agent, set for the whole process:
 * a per-context override does not reach keepalive requests sent after their page unloaded.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', `--user-agent=${BROWSER['user-agent']}`],
  });
}

/** A fresh browser profile (own sessionStorage) at a laptop or phone size. */
export function newContext(browser: Browser, size: 'laptop' | 'phone' = 'laptop'): Promise<BrowserContext> {
  return browser.newContext({
    viewport: size === 'laptop' ? { width: 1280, height: 800 } : { width: 390, height: 844 },
    deviceScaleFactor: 1,
    // Tests inject axe-core as an inline script, which the pages' CSP refuses.
    bypassCSP: true,
  });
}

/** The web assets built from the sources into a temporary directory (pass as `WEB_ASSETS_DIR`). */
export async function buildWebAssets(): Promise<{ dir: string; remove: () => void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gavel-web-'));
  await buildWeb(dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
