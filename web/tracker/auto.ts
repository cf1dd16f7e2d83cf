/**
 * `/tracker.js`: the one-script-tag form of the tracker. Options come from the tag's data
 * attributes, e.g. `<script src="https://gavel.example/tracker.js" data-user-id="u1" defer></script>`;
 * the endpoint defaults to the `/graphql` of the server the script came from. The running tracker
 * is `window.gavel`.
 */
import { startTracker, type Tracker, type TrafficSource } from './tracker';

declare global {
  interface Window {
    gavel?: Tracker;
  }
}

const script = document.currentScript as HTMLScriptElement | null;
const data = script?.dataset ?? {};
const number = (value: string | undefined): number | undefined => (value ? Number(value) : undefined);
const start = (): void => {
  window.gavel ??= startTracker({
    endpoint: data.endpoint ?? new URL('/graphql', script?.src || location.href).href,
    userId: data.userId,
    defaultSource: data.source?.toUpperCase() as TrafficSource | undefined,
    batchSize: number(data.batchSize),
    flushDelayMs: number(data.flushDelayMs),
  });
};
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
