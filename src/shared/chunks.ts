/**
 * Splits `list` into consecutive slices of `size` elements (the last one shorter): the unit of
 * commands that must stay bounded — `$in` lists, bulk writes — whatever the list's length.
 *
 * @throws RangeError when `size` is not a positive integer
 */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, not ${size}`);
  const slices: T[][] = [];
  for (let start = 0; start < list.length; start += size) slices.push(list.slice(start, start + size));
  return slices;
}
