import { pollChanges } from '../../src/live/polling';

/** `pollChanges`: the stream behind searchAnalyticsUpdated (figures nothing announces on the bus). */

const INTERVAL_MS = 20;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('sends the first answer at once and later ones only when they differ', async () => {
  const answers = [{ n: 1 }, { n: 1 }, { n: 2 }, { n: 2 }, { n: 3 }];
  let reads = 0;
  const stream = pollChanges(
    async () => answers[Math.min(reads++, answers.length - 1)]!,
    INTERVAL_MS,
    () => undefined,
  );
  const received = [];
  for (let index = 0; index < 3; index++) received.push((await stream.next()).value);
  expect(received).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  expect(reads).toBeGreaterThanOrEqual(5);
  await stream.return!();
});

it('stops reading once the consumer returns, and ends a waiting next()', async () => {
  let reads = 0;
  const stream = pollChanges(
    async () => {
      reads++;
      return 'unchanged';
    },
    INTERVAL_MS,
    () => undefined,
  );
  await stream.next();
  const waiting = stream.next(); // nothing changes: it waits
  await stream.return!();
  expect(await waiting).toEqual({ value: undefined, done: true });
  const readsAtReturn = reads;
  await wait(INTERVAL_MS * 5);
  expect(reads).toBeLessThanOrEqual(readsAtReturn + 1); // at most the read already under way
});

it('reports a failed read and tries again next interval', async () => {
  const failures: unknown[] = [];
  let reads = 0;
  const stream = pollChanges(
    async () => {
      if (reads++ === 0) throw new Error('database unavailable');
      return 'figures';
    },
    INTERVAL_MS,
    (error) => failures.push(error),
  );
  expect(await stream.next()).toEqual({ value: 'figures', done: false });
  expect(failures).toEqual([new Error('database unavailable')]);
  await stream.return!();
});
