import { type ApiError } from '../api';
import { count, h, notice, optionalRate, replace, table } from '../dom';
import {
  FunnelLiveDocument,
  type FunnelBreakdown,
  type FunnelStep,
  type FunnelStepRowFragment,
} from '../generated/graphql';
import type { View } from './context';

const RANGES = [
  ['P7D', 'Last 7 days'],
  ['P30D', 'Last 30 days'],
] as const;
/** Step sets the view offers: a marketplace's main path, or every step. */
const STEP_SETS = [
  ['IMPRESSION,CLICK,BID,PURCHASE', 'Impression → click → bid → purchase'],
  ['IMPRESSION,CLICK,ITEM_VIEW,WATCH,BID,PURCHASE', 'All six steps'],
  ['ITEM_VIEW,WATCH,BID', 'Item view → watch → bid'],
] as const;
const BREAKDOWNS = [
  ['', 'No breakdown'],
  ['SOURCE', 'By first-touch source'],
  ['CATEGORY', 'By category'],
] as const;
const STEP_LABELS: Record<string, string> = {
  IMPRESSION: 'Impression',
  CLICK: 'Click',
  ITEM_VIEW: 'Item view',
  WATCH: 'Watch',
  BID: 'Bid',
  PURCHASE: 'Purchase',
};

/** What the view keeps across visits. */
const state: { range: string; steps: string; breakdown: string } = {
  range: 'P7D',
  steps: STEP_SETS[0][0],
  breakdown: 'SOURCE',
};

/** 42 s, 7 min, 3.2 h, 2.1 d. */
function duration(seconds: number | null | undefined): string {
  if (seconds == null) return '–';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5_400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 129_600) return `${(seconds / 3_600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** One bar per step, as wide as its share of the first step's journeys. */
function bars(steps: readonly FunnelStepRowFragment[]): HTMLElement {
  const first = steps[0]?.journeys ?? 0;
  return h(
    'ol',
    { class: 'funnel-bars', 'aria-hidden': 'true' },
    ...steps.map((step) =>
      h(
        'li',
        {},
        h('span', { class: 'funnel-label' }, STEP_LABELS[step.step] ?? step.step),
        h(
          'span',
          { class: 'funnel-track' },
          h('span', {
            class: 'funnel-bar',
            style: `width: ${first === 0 ? 0 : Math.max(0.5, (100 * step.journeys) / first).toFixed(2)}%`,
          }),
        ),
        h('span', { class: 'funnel-count' }, count(step.journeys)),
      ),
    ),
  );
}

/**
 * The marketplace funnel (a SELLER key: its own lots) from impression to purchase, with a
 * breakdown, live over `funnelUpdated`.
 */
export const funnelsView: View = (container, { api, role }) => {
  const range = h(
    'select',
    { id: 'funnel-range', onchange: () => watch() },
    ...RANGES.map(([value, label]) => h('option', { value, selected: value === state.range }, label)),
  );
  const stepSet = h(
    'select',
    { id: 'funnel-steps', onchange: () => watch() },
    ...STEP_SETS.map(([value, label]) => h('option', { value, selected: value === state.steps }, label)),
  );
  const breakdown = h(
    'select',
    { id: 'funnel-breakdown', onchange: () => watch() },
    ...BREAKDOWNS.map(([value, label]) => h('option', { value, selected: value === state.breakdown }, label)),
  );
  const body = h('div', {}, notice('loading', 'Loading the funnel…'));
  replace(
    container,
    h('h2', {}, role === 'seller' ? 'Funnel of your lots' : 'Funnel'),
    h(
      'p',
      { class: 'hint' },
      'Journeys (one session on one lot) from impression to purchase; built every few seconds from events at least 5 minutes old.',
    ),
    h(
      'div',
      { class: 'controls' },
      h('label', { for: 'funnel-range' }, 'Range '),
      range,
      h('label', { for: 'funnel-steps' }, 'Steps '),
      stepSet,
      h('label', { for: 'funnel-breakdown' }, 'Breakdown '),
      breakdown,
    ),
    body,
  );

  let stop = (): void => undefined;
  const watch = (): void => {
    stop();
    state.range = range.value;
    state.steps = stepSet.value;
    state.breakdown = breakdown.value;
    replace(body, notice('loading', 'Loading the funnel…'));
    stop = api.subscribe(
      FunnelLiveDocument,
      {
        range: { last: state.range },
        steps: state.steps.split(',') as FunnelStep[],
        ...(state.breakdown ? { breakdown: state.breakdown as FunnelBreakdown } : {}),
      },
      ({ funnelUpdated: funnel }) => {
        if ((funnel.steps[0]?.journeys ?? 0) === 0) {
          replace(body, notice('empty', 'No journeys in this range yet.'));
          return;
        }
        replace(
          body,
          bars(funnel.steps),
          table(
            'Steps',
            ['Step', 'Journeys', 'From the previous', 'From the first', 'Median time from the previous'],
            funnel.steps.map((step) => [
              STEP_LABELS[step.step] ?? step.step,
              count(step.journeys),
              optionalRate(step.conversionFromPrevious),
              optionalRate(step.conversionFromFirst),
              duration(step.medianSecondsFromPrevious),
            ]),
          ),
          funnel.breakdown.length > 0 &&
            h(
              'div',
              { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Breakdown' },
              table(
                state.breakdown === 'CATEGORY'
                  ? 'By category (journeys per step)'
                  : 'By first-touch source (journeys per step)',
                [
                  state.breakdown === 'CATEGORY' ? 'Category' : 'Source',
                  ...funnel.steps.map((step) => STEP_LABELS[step.step] ?? step.step),
                  'First → last step',
                ],
                funnel.breakdown.map((group) => [
                  group.key,
                  ...group.steps.map((step) => count(step.journeys)),
                  optionalRate(group.steps.at(-1)?.conversionFromFirst),
                ]),
              ),
            ),
        );
      },
      (error: ApiError) =>
        replace(body, notice('error', `The funnel stopped: ${error.message} (${error.code}). Reload to retry.`)),
    );
  };
  watch();
  return () => stop();
};
