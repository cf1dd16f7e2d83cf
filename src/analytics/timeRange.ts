import { GraphQLDuration } from 'graphql-scalars';
import { Field, InputType, ObjectType } from 'type-graphql';
import { DAY_MS, HOUR_MS } from '../shared/clock';
import { badUserInput } from '../shared/errors';

/** A time range as a client asks for it: absolute (`from`/`to`) or relative (`last`). */
@InputType({
  description:
    'Either { from, to } (to defaults to now) or { last: ISO 8601 duration such as "P7D" or "PT24H" }. Aligned to whole UTC hours.',
})
export class TimeRangeInput {
  @Field({ nullable: true })
  from?: Date;

  @Field({ nullable: true })
  to?: Date;

  @Field(() => GraphQLDuration, {
    nullable: true,
    description: 'Weeks, days, hours and minutes only, e.g. "P7D", "PT6H".',
  })
  last?: string;
}

/** The range a result covers after alignment to hour buckets: from (inclusive) to (exclusive). */
@ObjectType({ description: 'The range actually covered, aligned to whole UTC hours: from (inclusive) to (exclusive).' })
export class EffectiveTimeRange {
  @Field()
  from!: Date;

  @Field()
  to!: Date;
}

/** Limits applied to every analytics range. */
export interface TimeRangeLimits {
  /** Longest range a query may cover. */
  readonly maxRangeMs: number;
  /** Data older than this is gone (retention); ranges may not start before it. */
  readonly retentionMs: number;
}

const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/** Parses the ISO 8601 durations analytics accepts (weeks, days, hours, minutes) into milliseconds. */
export function parseDuration(value: string, field: string): number {
  const match = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(value);
  if (!match || value === 'P' || value.endsWith('T')) {
    throw badUserInput(
      field,
      `${field} must be an ISO 8601 duration of weeks, days, hours or minutes, e.g. "P7D" or "PT24H".`,
    );
  }
  const [, weeks, days, hours, minutes] = match.map((part) => Number(part ?? 0));
  return ((weeks! * 7 + days!) * 24 + hours!) * HOUR_MS + minutes! * 60_000;
}

/**
 * Turns a requested range into the effective one: `from` floored and `to` ceiled to whole UTC
 * hours, so it covers whole buckets and at least what was asked. Throws `BAD_USER_INPUT` (on
 * `field`) for mixed forms, inverted or empty ranges, ranges longer than allowed, and ranges
 * starting before the retention horizon.
 *
 * @param fallback - the range used when `input` is absent, e.g. `{ last: 'P7D' }`
 */
export function resolveTimeRange(
  input: TimeRangeInput | null | undefined,
  now: Date,
  limits: TimeRangeLimits,
  field = 'range',
  fallback: TimeRangeInput = { last: 'P7D' },
): EffectiveTimeRange {
  const range = input ?? fallback;
  const relative = range.last != null;
  if (relative && (range.from != null || range.to != null)) {
    throw badUserInput(field, `${field}: give either { from, to } or { last }, not both.`);
  }
  let from: number;
  let to: number;
  if (relative) {
    const length = parseDuration(range.last!, `${field}.last`);
    if (length <= 0) throw badUserInput(`${field}.last`, `${field}.last must be longer than zero.`);
    to = now.getTime();
    from = to - length;
  } else {
    if (range.from == null)
      throw badUserInput(
        `${field}.from`,
        `${field} needs a start: { from } or { last }; unbounded ranges are not allowed.`,
      );
    from = range.from.getTime();
    to = range.to?.getTime() ?? now.getTime();
    if (Number.isNaN(from) || Number.isNaN(to)) throw badUserInput(field, `${field} holds an invalid date-time.`);
    if (from >= to) throw badUserInput(field, `${field}.from must be before ${field}.to.`);
  }
  const effective = { from: floorHour(from), to: ceilHour(to) };
  if (effective.to === effective.from) effective.to += HOUR_MS;
  if (effective.to - effective.from > limits.maxRangeMs) {
    throw badUserInput(
      field,
      `${field} covers more than the maximum of ${Math.round(limits.maxRangeMs / DAY_MS)} days.`,
    );
  }
  if (effective.from < floorHour(now.getTime() - limits.retentionMs)) {
    throw badUserInput(
      field,
      `${field} starts before the retention period of ${Math.round(limits.retentionMs / DAY_MS)} days; data that old is gone.`,
    );
  }
  return { from: new Date(effective.from), to: new Date(effective.to) };
}
