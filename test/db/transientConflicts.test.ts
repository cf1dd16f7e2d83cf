import { isTransientConflict, retryTransientConflicts, TransientConflictError } from '../../src/db/transientConflicts';

/** An error as the driver reports it: a server code and error labels. */
function serverError(code: number, labels: string[] = []): Error {
  return Object.assign(new Error(`server error ${code}`), { code, errorLabelSet: new Set(labels) });
}

const fastPolicy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

describe('isTransientConflict', () => {
  it.each([
    ['WriteConflict / DocumentDB deadlock (112)', serverError(112)],
    ['LockTimeout (24)', serverError(24)],
    ['the sharded engine cancelling a distributed deadlock (50)', { index: 0, code: 50, errmsg: 'canceling' }],
    ['a transaction labelled TransientTransactionError', serverError(251, ['TransientTransactionError'])],
    ['a per-operation write error of a bulk write', { index: 3, code: 112, errmsg: 'deadlock' }],
    ['a partly conflicted bulk write', new TransientConflictError('2 writes conflicted')],
  ])('retries %s', (_name, error) => {
    expect(isTransientConflict(error)).toBe(true);
  });

  it.each([
    ['a duplicate key (11000)', serverError(11000)],
    ['a bad update (ConflictingUpdateOperators, 40)', serverError(40)],
    ['a network error without code', new Error('connect ECONNREFUSED')],
    ['a string', 'deadlock'],
    ['null', null],
  ])('does not retry %s', (_name, error) => {
    expect(isTransientConflict(error)).toBe(false);
  });
});

describe('retryTransientConflicts', () => {
  it('repeats an operation until it succeeds, telling it the attempt', async () => {
    const attempts: number[] = [];
    const result = await retryTransientConflicts(async (attempt) => {
      attempts.push(attempt);
      if (attempt < 3) throw serverError(112);
      return 'written';
    }, fastPolicy);
    expect(result).toBe('written');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('gives up after the policy’s attempts with the last conflict', async () => {
    let calls = 0;
    await expect(
      retryTransientConflicts(async () => {
        calls++;
        throw serverError(112);
      }, fastPolicy),
    ).rejects.toMatchObject({ code: 112 });
    expect(calls).toBe(fastPolicy.attempts);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    await expect(
      retryTransientConflicts(async () => {
        calls++;
        throw serverError(11000);
      }, fastPolicy),
    ).rejects.toMatchObject({ code: 11000 });
    expect(calls).toBe(1);
  });
});
