import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express, type Response } from 'express';

/** The pages Gavel serves, by path, and the built file of each (see scripts/build-web.ts). */
const PAGES: Record<string, string> = { '/demo': 'demo.html', '/dashboard': 'dashboard.html' };

/**
 * Same-origin everything, no inline scripts: the pages load only Gavel's own assets and talk only
 * to its own GraphQL endpoint (HTTP and websocket). `connect-src 'self'` covers the same-origin
 * websocket (ws: for an http page, wss: for https; CSP Level 3, every current browser), and no
 * other host's, which `ws: wss:` allowed. uPlot sets inline styles, hence `style-src`.
 */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/**
 * Serves the browser assets built into `dir`: `/tracker.js` and `/tracker.mjs` (5 minutes of
 * cache: their names are stable and pages embed them), `/assets/*` (content-hashed, cached for a
 * year), and the `/demo` and `/dashboard` pages (revalidated on every load so a deploy shows at
 * once). Without a build, those paths answer 503 naming the command that builds them.
 */
export function mountWebAssets(app: Express, dir: string): void {
  const built = (file: string): string => path.join(dir, file);
  const notBuilt = (res: Response): void => {
    res
      .status(503)
      .type('text/plain')
      .send(`Web assets are not built in ${dir}: run \`npm run build\` (npm start does it).`);
  };

  for (const file of ['tracker.js', 'tracker.mjs']) {
    app.get(`/${file}`, (_req, res) => {
      if (!existsSync(built(file))) return notBuilt(res);
      res.sendFile(built(file), {
        headers: {
          'cache-control': 'public, max-age=300',
          'content-type': 'text/javascript; charset=utf-8',
          // Any site may embed the tracker; as a script only, never sniffed into anything else.
          'access-control-allow-origin': '*',
          'x-content-type-options': 'nosniff',
        },
      });
    });
  }
  app.use('/assets', express.static(built('assets'), { immutable: true, maxAge: '365d', index: false }));
  for (const [route, file] of Object.entries(PAGES)) {
    app.get(route, (_req, res) => {
      if (!existsSync(built(file))) return notBuilt(res);
      res.sendFile(built(file), {
        headers: {
          'cache-control': 'no-cache',
          'content-security-policy': PAGE_CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        },
      });
    });
  }
}
