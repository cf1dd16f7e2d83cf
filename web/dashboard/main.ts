/**
 * The `/dashboard` page: asks once for an API key (kept in this browser's localStorage), finds
 * out what it may see, then shows the views over the public GraphQL API. Hash routes:
 * `#overview`, `#search`, `#insights`, `#item/<id>`, `#outcomes`, `#funnels`, `#experiments/<key>`.
 */
import './style.css';
import { type ApiError, createApi, type Api, type LiveStatus } from './api';
import { h, notice, replace } from './dom';
import { OutcomesDocument } from './generated/graphql';
import type { View, ViewContext } from './views/context';
import { experimentsView } from './views/experiments';
import { funnelsView } from './views/funnels';
import { insightsView } from './views/insights';
import { itemView } from './views/item';
import { outcomesView } from './views/outcomes';
import { overviewView } from './views/overview';
import { searchView } from './views/search';

const KEY_STORAGE = 'gavel.dashboard.key';
const ROUTES: Record<string, View> = {
  overview: overviewView,
  search: searchView,
  insights: insightsView,
  item: itemView,
  outcomes: outcomesView,
  funnels: funnelsView,
  experiments: experimentsView,
};

const main = document.getElementById('main') as HTMLElement;
const status = document.getElementById('live-status') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const signOut = document.getElementById('sign-out') as HTMLButtonElement;

const STATUS_TEXT: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting… (figures may be stale)',
  refused: 'Key refused',
  stopped: 'Live updates stopped (reload the page)',
};
const REFUSED_KEY = 'The server refused this key (unknown, malformed or revoked).';
function showStatus(value: LiveStatus): void {
  // A key revoked while the page is open: back to the form, which says why.
  if (value === 'refused') return askForKey(REFUSED_KEY);
  status.textContent = STATUS_TEXT[value];
  status.dataset.state = value;
}

let api: Api | undefined;
let stopView = (): void => undefined;

/** The key form; `problem` says why it is shown again. */
function askForKey(problem?: string): void {
  stopView();
  api?.close();
  api = undefined;
  nav.hidden = true;
  signOut.hidden = true;
  status.textContent = '';
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false' });
  replace(
    main,
    h(
      'form',
      {
        class: 'key-form',
        onsubmit: (event: Event) => {
          event.preventDefault();
          void start(input.value.trim());
        },
      },
      h('h2', {}, 'API key'),
      h(
        'p',
        {},
        'An ANALYST key shows the whole marketplace; a SELLER key shows its own items. It stays in this browser until you sign out. Leave it empty on a server without keys (development).',
      ),
      problem && notice('error', problem),
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h('button', { type: 'submit' }, 'Open the dashboard'),
    ),
  );
  input.focus();
}

/** Checks the key with one query, then shows the dashboard for its role. */
async function start(key: string): Promise<void> {
  replace(main, notice('loading', 'Checking the key…'));
  const client = createApi(key, showStatus);
  let role: ViewContext['role'];
  try {
    // Marketplace-wide and ANALYST-only (SELLER keys get FORBIDDEN), and cheap: one hour's buckets.
    await client.query(OutcomesDocument, { granularity: 'HOUR', range: { last: 'PT1H' } });
    role = 'analyst';
  } catch (error) {
    client.close();
    const code = (error as ApiError).code;
    if (code === 'FORBIDDEN') role = 'seller';
    else if (code === 'UNAUTHENTICATED') return askForKey(key ? REFUSED_KEY : 'This server needs a key.');
    else return askForKey(`Could not check the key: ${(error as Error).message}`);
  }
  // The check's client was closed on FORBIDDEN; a seller gets a fresh one.
  api = role === 'seller' ? createApi(key, showStatus) : client;
  try {
    localStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Private mode: the key lasts for this page only.
  }
  nav.hidden = false;
  signOut.hidden = false;
  route({ api, role });
  window.onhashchange = () => route({ api: api!, role });
}

function route(context: ViewContext): void {
  stopView();
  const [hashName = '', argument] = location.hash.slice(1).split('/');
  const name = hashName in ROUTES ? hashName : context.role === 'seller' ? 'search' : 'overview';
  const view = ROUTES[name]!;
  for (const link of nav.querySelectorAll('a'))
    if (link.getAttribute('href') === `#${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  replace(main);
  stopView = view(main, context, argument && decodeURIComponent(argument));
}

signOut.addEventListener('click', () => {
  localStorage.removeItem(KEY_STORAGE);
  askForKey();
});

const saved = (() => {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
})();
if (saved === null) askForKey();
else void start(saved);
