import { type ApiError } from '../api';
import { count, h, notice, optionalRate, replace, table } from '../dom';
import {
  ExperimentLiveDocument,
  type ConversionKind,
  type DifferenceFragment,
  type ExperimentLiveSubscription,
} from '../generated/graphql';
import type { View } from './context';

type Results = NonNullable<ExperimentLiveSubscription['experimentResultsUpdated']>;

const CONVERSIONS = [
  ['BID', 'Bid'],
  ['PURCHASE', 'Purchase'],
  ['WATCH', 'Watch'],
  ['ITEM_VIEW', 'Item view'],
] as const;
/** The steps of a variant's funnel, as the table shows them. */
const STEPS = [
  ['CLICK', 'Clicked'],
  ['ITEM_VIEW', 'Viewed'],
  ['WATCH', 'Watched'],
  ['BID', 'Bid'],
  ['PURCHASE', 'Bought'],
] as const;
/** Experiment keys as tracking accepts them. */
const KEY = /^[A-Za-z0-9_.:-]{1,64}$/;

/** +1.23 pp */
const points = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(2)} pp`;
const interval = (difference: DifferenceFragment | null | undefined): string =>
  difference ? `${points(difference.value)} [${points(difference.low)}, ${points(difference.high)}]` : '–';

/**
 * Each variant's interval against control on one scale, with the zero line: the fixed-horizon
 * 95 % interval as a bar, the always-valid one as a thinner, longer bar.
 */
function intervalChart(results: Results): HTMLElement | false {
  const compared = results.variants.filter((variant) => variant.versusControl?.conversion);
  if (compared.length === 0) return false;
  const ends = compared.flatMap((variant) => {
    const { conversion, sequentialConversion } = variant.versusControl!;
    return [conversion!.low, conversion!.high, sequentialConversion?.low ?? 0, sequentialConversion?.high ?? 0, 0];
  });
  const low = Math.min(...ends);
  const span = Math.max(...ends) - low || 1;
  const at = (value: number) => `${((100 * (value - low)) / span).toFixed(2)}%`;
  const bar = (className: string, from: number, to: number) =>
    h('span', { class: className, style: `left: ${at(from)}; width: calc(${at(to)} - ${at(from)})` });
  return h(
    'figure',
    { class: 'intervals' },
    h(
      'figcaption',
      {},
      `Conversion difference against ${results.control}: 95 % interval (thick) and always-valid interval (thin)`,
    ),
    ...compared.map((variant) => {
      const { conversion, sequentialConversion } = variant.versusControl!;
      return h(
        'div',
        { class: 'interval-row' },
        h('span', { class: 'interval-label' }, variant.variant),
        h(
          'span',
          { class: 'interval-track', role: 'img', 'aria-label': `${variant.variant}: ${interval(conversion)}` },
          h('span', { class: 'interval-zero', style: `left: ${at(0)}` }),
          sequentialConversion && bar('interval-sequential', sequentialConversion.low, sequentialConversion.high),
          bar(
            conversion!.low > 0
              ? 'interval-fixed better'
              : conversion!.high < 0
                ? 'interval-fixed worse'
                : 'interval-fixed',
            conversion!.low,
            conversion!.high,
          ),
        ),
      );
    }),
  );
}

/** An experiment's variants against control (ANALYST keys), live over `experimentResultsUpdated`. */
export const experimentsView: View = (container, { api, role }, argument) => {
  if (role === 'seller') {
    replace(
      container,
      notice('empty', 'Experiments compare the whole marketplace’s sessions: they need an ANALYST key.'),
    );
    return () => undefined;
  }
  const key = h('input', { id: 'experiment-key', value: argument ?? '', spellcheck: 'false', autocomplete: 'off' });
  const conversion = h(
    'select',
    { id: 'experiment-conversion' },
    ...CONVERSIONS.map(([value, label]) => h('option', { value }, label)),
  );
  const body = h('div', {});
  replace(
    container,
    h('h2', {}, 'Experiments'),
    h(
      'form',
      {
        class: 'controls',
        onsubmit: (event: Event) => {
          event.preventDefault();
          location.hash = `#experiments/${encodeURIComponent(key.value.trim())}`;
        },
      },
      h('label', { for: 'experiment-key' }, 'Experiment '),
      key,
      h('label', { for: 'experiment-conversion' }, 'Converts on '),
      conversion,
      h('button', { type: 'submit' }, 'Show'),
    ),
    body,
  );

  let stop = (): void => undefined;
  const watch = (): void => {
    stop();
    if (!argument) {
      replace(body, notice('empty', 'Name the experiment your pages tag with data-gavel-experiment.'));
      return;
    }
    if (!KEY.test(argument)) {
      replace(body, notice('error', 'An experiment key is 1 to 64 letters, digits or _ . : -'));
      return;
    }
    replace(body, notice('loading', 'Loading the experiment…'));
    stop = api.subscribe(
      ExperimentLiveDocument,
      { experiment: argument, conversion: conversion.value as ConversionKind },
      ({ experimentResultsUpdated: results }) => {
        if (!results) {
          replace(
            body,
            notice(
              'empty',
              `“${argument}” is not defined yet: define it with defineExperiment (its variants and control).`,
            ),
          );
          return;
        }
        replace(
          body,
          results.sampleRatio.mismatch &&
            h(
              'p',
              { class: 'notice error', role: 'alert', id: 'srm-warning' },
              `Sample ratio mismatch (p = ${results.sampleRatio.pValue.toExponential(1)}): the variants did not split evenly. The assignment or the tracking is broken; do not trust these results.`,
            ),
          results.conflictedSessions > 0 &&
            h(
              'p',
              { class: 'hint' },
              `${count(results.conflictedSessions)} sessions were seen in more than one variant and are left out.`,
            ),
          intervalChart(results),
          h(
            'div',
            { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Variants' },
            table(
              `Variants against ${results.control}`,
              [
                'Variant',
                'Sessions',
                'CTR',
                'Conversions',
                'Rate',
                'Difference (95 %)',
                'Always-valid interval',
                'CUPED',
                'Chance to beat control',
              ],
              results.variants.map((variant) => [
                variant.variant,
                count(variant.sessions),
                optionalRate(variant.clickThroughRate),
                count(variant.conversions),
                optionalRate(variant.conversionRate),
                variant.versusControl ? interval(variant.versusControl.conversion) : 'control',
                variant.versusControl?.sequentialConversion
                  ? `[${points(variant.versusControl.sequentialConversion.low)}, ${points(variant.versusControl.sequentialConversion.high)}]`
                  : '–',
                variant.versusControl ? interval(variant.versusControl.cupedConversion) : '–',
                optionalRate(variant.versusControl?.chanceToBeatControl),
              ]),
            ),
          ),
          h(
            'div',
            { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Funnel by variant' },
            table(
              'Funnel by variant (sessions after their exposure)',
              ['Variant', ...STEPS.map(([, label]) => label)],
              results.variants.map((variant) => [
                variant.variant,
                ...STEPS.map(([step]) => {
                  const reached = variant.funnel.find((entry) => entry.step === step);
                  return reached ? `${count(reached.sessions)} (${optionalRate(reached.share)})` : '–';
                }),
              ]),
            ),
          ),
        );
      },
      (error: ApiError) =>
        replace(body, notice('error', `The experiment stopped: ${error.message} (${error.code}). Reload to retry.`)),
    );
  };
  conversion.addEventListener('change', () => watch());
  watch();
  return () => stop();
};
