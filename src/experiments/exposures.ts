import { MEASURED_KINDS, type ExposureRecord, type MeasuredKind } from './exposure.model';

/**
 * How much earlier than its exposure a conversion may be dated and still follow it. The exposure
 * is stamped when Gavel receives the tracker's batch, which waits up to a second and may be
 * retried; the conversion is dated by the marketplace's backend the moment it happens (a click,
 * then at once the item page's view). Without this, the fastest converters — and so the variant
 * that makes buyers act faster — would lose conversions.
 */
export const EXPOSURE_CLOCK_TOLERANCE_MS = 60_000;

/** The declared variants of each defined experiment, by key. */
export type DeclaredVariants = ReadonlyMap<string, ReadonlySet<string>>;

/** A counted impression or click of a session, as the exposures need it. */
export interface SessionTouch {
  readonly type: 'IMPRESSION' | 'CLICK';
  readonly receivedAt: Date;
  readonly experiment?: string;
  readonly variant?: string;
  readonly userId?: string;
}

/** A stored conversion of a session. */
export interface SessionConversion {
  readonly kind: MeasuredKind;
  readonly occurredAt: Date;
}

/**
 * A session's exposures, one per defined experiment its counted events were tagged with (a
 * declared variant only): the variant of its first tagged event (and how many variants it was
 * seen in), the tagged impressions and clicks, its counted events before the exposure, and the
 * conversions after it (within {@link EXPOSURE_CLOCK_TOLERANCE_MS}). A pure function of the
 * session's events, so recomputing it any number of times gives the same documents.
 */
export function exposuresOf(
  sessionId: string,
  touches: readonly SessionTouch[],
  conversions: readonly SessionConversion[],
  declared: DeclaredVariants,
): ExposureRecord[] {
  const ordered = [...touches].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
  const userId = ordered.find((touch) => touch.userId !== undefined)?.userId;
  const byExperiment = Map.groupBy(
    ordered.filter(
      (touch) =>
        touch.experiment !== undefined &&
        touch.variant !== undefined &&
        declared.get(touch.experiment)?.has(touch.variant) === true,
    ),
    (touch) => touch.experiment!,
  );
  return [...byExperiment].map(([experiment, tagged]) => {
    const first = tagged[0]!;
    const exposedAt = first.receivedAt;
    const impressions = tagged.filter((touch) => touch.type === 'IMPRESSION').length;
    const clicks = tagged.length - impressions;
    const pre = ordered.filter((touch) => touch.receivedAt < exposedAt).length;
    const converted = (kind: MeasuredKind) =>
      conversions.some(
        (conversion) =>
          conversion.kind === kind &&
          conversion.occurredAt.getTime() >= exposedAt.getTime() - EXPOSURE_CLOCK_TOLERANCE_MS,
      )
        ? 1
        : 0;
    const perKind = (value: (kind: MeasuredKind) => number) =>
      Object.fromEntries(MEASURED_KINDS.map((kind) => [kind, value(kind)])) as Record<MeasuredKind, number>;
    return {
      _id: `${experiment}|${sessionId}`,
      experiment,
      sessionId,
      ...(userId !== undefined ? { userId } : {}),
      variant: first.variant!,
      variants: new Set(tagged.map((touch) => touch.variant)).size,
      exposedAt,
      figures: {
        impressions,
        impressionsSquares: impressions * impressions,
        clicks,
        clicksSquares: clicks * clicks,
        impressionsClicks: impressions * clicks,
        pre,
        preSquares: pre * pre,
        conversions: perKind(converted),
        preConversions: perKind((kind) => pre * converted(kind)),
        clicked: clicks > 0 ? 1 : 0,
      },
    };
  });
}
