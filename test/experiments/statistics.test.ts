import fixtures from './fixtures/statistics.json';
import {
  chanceToBeatControl,
  clickThroughDifference,
  conversionDifference,
  cupedConversionDifference,
  cupedTheta,
  sampleRatioPValue,
  sequentialConversionDifference,
  type Estimate,
} from '../../src/experiments/statistics';

// Every expected figure was computed by GrowthBook's stats engine (gbstats 0.8.0, PyPI) from the
// same sums: see fixtures/statistics.py.

/** Equal within a relative 1e-9 (or 1e-12 near 0): the same formulas in another float pipeline. */
function close(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(1e-12, Math.abs(expected) * 1e-9));
}

function sameEstimate(actual: Estimate | null, expected: { value: number; low: number; high: number; pValue: number }) {
  expect(actual).not.toBeNull();
  close(actual!.value, expected.value);
  close(actual!.low, expected.low);
  close(actual!.high, expected.high);
  close(actual!.pValue, expected.pValue);
}

describe.each(fixtures.comparisons.map((entry) => [entry.control.sessions, entry.treatment.sessions, entry] as const))(
  'a comparison of %i control and %i treatment sessions',
  (_control, _treatment, { control, treatment, expected }) => {
    it('gives the difference in conversion rate with its 95 % Welch interval and p-value', () => {
      sameEstimate(conversionDifference(control, treatment), expected.conversion);
    });

    it('gives the difference in CTR by the delta method', () => {
      sameEstimate(clickThroughDifference(control, treatment), expected.ctr);
    });

    it('adjusts the conversion difference by CUPED with the pooled theta of pre-exposure engagement', () => {
      close(cupedTheta(control, treatment), expected.theta);
      sameEstimate(cupedConversionDifference(control, treatment), expected.cuped);
    });

    it('gives the always-valid interval, wider than the fixed-horizon one', () => {
      sameEstimate(sequentialConversionDifference(control, treatment), expected.sequential);
      expect(expected.sequential.high - expected.sequential.low).toBeGreaterThan(
        expected.conversion.high - expected.conversion.low,
      );
    });

    it('gives the chance to beat control', () => {
      close(chanceToBeatControl(control, treatment)!, expected.chanceToBeatControl);
    });
  },
);

describe('sample ratio mismatch', () => {
  it.each(fixtures.sampleRatio.map((entry) => [entry.sessions.join(' / '), entry] as const))(
    'tests the split %s against the planned weights',
    (_name, { sessions, weights, pValue }) => {
      close(sampleRatioPValue(sessions, weights), pValue);
    },
  );
});

describe('where nothing can be estimated', () => {
  const none = {
    sessions: 0,
    impressions: 0,
    impressionsSquares: 0,
    clicks: 0,
    clicksSquares: 0,
    impressionsClicks: 0,
    conversions: 0,
    pre: 0,
    preSquares: 0,
    preConversions: 0,
  };
  const some = {
    ...none,
    sessions: 100,
    conversions: 10,
    impressions: 300,
    impressionsSquares: 1_000,
    clicks: 30,
    clicksSquares: 40,
    impressionsClicks: 100,
  };

  it('answers null, not a number made up, for a control without conversions or a variant without sessions', () => {
    expect(conversionDifference(none, some)).toBeNull();
    expect(conversionDifference({ ...some, conversions: 0 }, some)).toBeNull();
    expect(cupedConversionDifference(some, none)).toBeNull();
    expect(sequentialConversionDifference(some, none)).toBeNull();
    expect(chanceToBeatControl(some, none)).toBeNull();
    expect(clickThroughDifference(some, { ...some, sessions: 1 })).toBeNull();
  });

  it('sees no mismatch without sessions', () => {
    expect(sampleRatioPValue([0, 0])).toBe(1);
  });
});
