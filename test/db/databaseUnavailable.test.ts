import { mongo } from 'mongoose';
import { GraphQLError } from 'graphql';
import { describeUnavailable, isConnectionReset, isDatabaseUnavailable } from '../../src/db/database';

/**
 * Which failures mean "the database cannot be reached right now" (SERVICE_UNAVAILABLE, HTTP 503,
 * retryable) rather than a refused operation or a bug (issue 19, finding 5). The end-to-end test
 * with a cut TCP proxy is test/server/droppedDatabase.test.ts; these are the shapes it cannot
 * produce on demand.
 */

/** A Node socket error as the driver passes some on (a reset during a connection's handshake). */
function socketError(code: string): Error {
  return Object.assign(new Error(`write ${code}`), { code, syscall: 'write' });
}

// The driver's pool errors are not exported from its entry point; mongoose ships that same driver.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const poolErrors = require('mongodb/lib/cmap/errors') as {
  PoolClearedError: new (pool: { address: string; serverGeneration: number }) => Error;
};

describe('isDatabaseUnavailable', () => {
  it.each<[string, Error]>([
    ['a dropped connection (MongoNetworkError)', new mongo.MongoNetworkError('read ECONNRESET')],
    ['a network timeout', new mongo.MongoNetworkTimeoutError('connection timed out')],
    [
      'a server-selection timeout',
      new mongo.MongoServerSelectionError('Server selection timed out after 5000 ms', {} as never),
    ],
    ['a cleared pool', new poolErrors.PoolClearedError({ address: '127.0.0.1:27017', serverGeneration: 1 })],
    ['a closed client (shutdown)', new mongo.MongoClientClosedError()],
    ['EPIPE passed on as is', socketError('EPIPE')],
    ['ECONNRESET passed on as is', socketError('ECONNRESET')],
    ['ECONNREFUSED passed on as is', socketError('ECONNREFUSED')],
    ['a server shutting down (91)', new mongo.MongoServerError({ code: 91, errmsg: 'shutdown in progress' })],
    ['a primary that stepped down (189)', new mongo.MongoServerError({ code: 189, errmsg: 'primary stepped down' })],
    ['a not-writable primary (10107)', new mongo.MongoServerError({ code: 10107, errmsg: 'not primary' })],
    ['a network error as the cause', new Error('query failed', { cause: new mongo.MongoNetworkError('EPIPE') })],
    [
      'a resolver error wrapped by GraphQL',
      new GraphQLError('x', { originalError: new mongo.MongoNetworkError('read ECONNRESET') }),
    ],
    [
      'a bulk write stopped by the network',
      new mongo.MongoBulkWriteError(new mongo.MongoNetworkError('read ECONNRESET') as never, {} as never),
    ],
    [
      'a mongoose buffering timeout',
      Object.assign(new Error('Operation `x.find()` buffering timed out after 10000ms'), { name: 'MongooseError' }),
    ],
  ])('%s is unavailable', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(describeUnavailable(error)).toMatch(/^\w+: /);
  });

  it.each<[string, unknown]>([
    ['a duplicate key', new mongo.MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key' })],
    ['a bad query', new mongo.MongoServerError({ code: 2, errmsg: 'BadValue' })],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a file system error', Object.assign(new Error('ENOENT'), { code: 'ENOENT' })],
    ['not an error', 'ECONNRESET'],
    [
      'a cycle of causes without a network error',
      (() => {
        const error = new Error('a');
        (error as { cause?: unknown }).cause = error;
        return error;
      })(),
    ],
  ])('%s is not', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(describeUnavailable(error)).toBeUndefined();
  });
});

describe('isConnectionReset (a start is tried again on it: two instances starting at once)', () => {
  it.each<[string, Error]>([
    ['a dropped connection (MongoNetworkError)', new mongo.MongoNetworkError('read ECONNRESET')],
    ['ECONNRESET passed on as is', socketError('ECONNRESET')],
    ['a reset as the cause', new Error('createIndexes failed', { cause: socketError('ECONNRESET') })],
  ])('is true for %s', (_, error) => {
    expect(isConnectionReset(error)).toBe(true);
  });

  it.each<[string, unknown]>([
    [
      'an unreachable server (server-selection timeout)',
      new mongo.MongoServerSelectionError('Server selection timed out after 5000 ms', {} as never),
    ],
    ['a refused connection', socketError('ECONNREFUSED')],
    ['a refused command', new mongo.MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key' })],
    ['not an error', 'ECONNRESET'],
  ])('is false for %s', (_, error) => {
    expect(isConnectionReset(error)).toBe(false);
  });
});
