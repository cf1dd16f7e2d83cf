import { buildDayLists, isCurrent, rangeCandidates, settles, type DayRowCounts } from '../../src/searches/dayLists';

/** The leading queries of a range found from each day's lists (src/searches/dayLists.ts). */

/** A query's day: every clicked search clicked once. */
const row = (query: string, searches: number, zeroResults = 0, clickedSearches = 0): DayRowCounts => ({
  query,
  filterKey: '',
  searches,
  zeroResults,
  clicks: clickedSearches,
  clickedSearches,
});
const day = (n: number) => new Date(Date.UTC(2026, 2, n));
const built = new Date('2026-03-31T00:00:00Z');

it("lists a day's leaders per ranking with the floor no query left out exceeds", () => {
  const list = buildDayLists(day(1), [row('a', 5, 0, 1), row('b', 4, 4), row('c', 3), row('d', 1)], null, built, 2);
  expect(list.top.map((entry) => [entry.query, entry.value])).toEqual([
    ['a', 5],
    ['b', 4],
  ]);
  expect(list.floors.top).toBe(4);
  expect(list.zeroResult.map((entry) => entry.query)).toEqual(['b']);
  expect(list.floors.zeroResult).toBe(0); // every query with a zero-result search is listed
  // Searches that found results and got no click: a 4 of 5, c 3, d 1; b found nothing.
  expect(list.noClick.map((entry) => [entry.query, entry.value])).toEqual([
    ['a', 4],
    ['c', 3],
  ]);
  expect(list.floors.noClick).toBe(3);
  expect(list.totals).toEqual({ searches: 13, zeroResults: 4, clicks: 1 });
});

it('names as contenders every query that could still lead, and the most an unlisted one could reach', () => {
  // Two days, two listed each: "steady" is third on both days, listed on neither.
  const lists = [
    buildDayLists(day(1), [row('x', 10), row('y', 6), row('steady', 5)], null, built, 2),
    buildDayLists(day(2), [row('z', 9), row('y', 7), row('steady', 5)], null, built, 2),
  ];
  const { contenders, ceiling } = rangeCandidates(lists, 'top', 1);
  expect(ceiling).toBe(6 + 7); // each day's floor
  // y is known to reach 13; x could reach 10 + 7, z 9 + 6: all three may lead.
  expect(contenders.map((entry) => entry.query).sort()).toEqual(['x', 'y', 'z']);
  // The leader's exact value (y: 13) does not exceed the ceiling (13): not settled, so the service
  // sums the range instead ("steady" has 10, but the bound cannot tell).
  expect(settles([13, 10, 9], 1, ceiling)).toBe(false);
  expect(settles([14, 10, 9], 1, ceiling)).toBe(true);
  expect(settles([14], 2, ceiling)).toBe(false); // an unlisted query could be second
  expect(settles([14], 2, 0)).toBe(true); // nothing was left out
});

it('keeps a list current only while the day counters it was built from have not moved', () => {
  const counters = { searches: 3, zeroResults: 1, clicks: 0 };
  const list = buildDayLists(day(1), [row('a', 3, 1)], counters, built);
  expect(isCurrent(list, { ...counters })).toBe(true);
  expect(isCurrent(list, { ...counters, clicks: 1 })).toBe(false); // a late click
  expect(isCurrent(undefined, counters)).toBe(false);
});
