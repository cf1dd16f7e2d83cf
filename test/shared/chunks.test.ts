import { chunks } from '../../src/shared/chunks';

describe('chunks', () => {
  it('splits a list into consecutive slices of the size, the last one shorter', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([1, 2, 3, 4], 2)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(chunks([1], 1_000)).toEqual([[1]]);
    expect(chunks([], 3)).toEqual([]);
    const long = Array.from({ length: 2_530 }, (_, index) => index);
    expect(chunks(long, 1_000).map((chunk) => chunk.length)).toEqual([1_000, 1_000, 530]);
    expect(chunks(long, 1_000).flat()).toEqual(long);
  });

  it('refuses a size that would never end or lose elements', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) expect(() => chunks([1, 2], size)).toThrow(RangeError);
  });
});
