/**
 * Settles like `work`, or rejects with `onTimeout()` once `ms` have passed without it settling.
 * The work is not cancelled (a database write may still land later), so a caller must report a
 * timed-out operation as "not confirmed", never as failed-and-undone.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
