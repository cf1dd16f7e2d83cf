import { randomBytes } from 'node:crypto';
import mongoose, { Types } from 'mongoose';
import { spawnTestServer, type ServerProcess } from '../support/serverProcess';

/**
 * Issue 19, finding 11: the purge lease (`retention_leases`) of a process killed with SIGKILL
 * blocked every purge for 5 minutes, the restarted instance's included, and nobody was told. Now
 * a restarted process of the same instance (GAVEL_INSTANCE_ID) takes its stale lease over at once,
 * other instances wait at most the lease's 30 s (renewed by a heartbeat while held), and a purge
 * skipped for another holder's lease says so in the log. Real server processes, one really killed.
 */

const DAY = 86_400_000;
/** Enough expired events that a purge deleting one per batch is still running when it is killed. */
const EXPIRED = 3_000;
let connection: mongoose.Connection;
let databaseName: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  databaseName = `test_${randomBytes(6).toString('hex')}`;
  connection = await mongoose
    .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, { dbName: databaseName })
    .asPromise();
  const receivedAt = new Date(Date.now() - 100 * DAY);
  for (let start = 0; start < EXPIRED; start += 1_000)
    await connection.collection('tracking_events').insertMany(
      Array.from({ length: Math.min(1_000, EXPIRED - start) }, () => ({
        _id: new Types.ObjectId(),
        type: 'IMPRESSION',
        itemId: new Types.ObjectId(),
        sessionId: 's-expired',
        source: 'SEARCH',
        receivedAt,
        ip: 'pseudonym',
        outcome: 'ACCEPTED',
      })),
    );
});
afterAll(async () => {
  for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
  await connection.close();
});

function start(instance: string, env: Record<string, string> = {}): ServerProcess {
  const server = spawnTestServer(databaseName, { GAVEL_INSTANCE_ID: instance, ...env });
  servers.push(server);
  return server;
}

/** The first JSON log line of `server`, written already or later, that `match` accepts. */
function logLine(server: ServerProcess, match: (line: Record<string, unknown>) => boolean) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const scan = () => {
      for (const text of server.output().split('\n')) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        if (!match(line)) continue;
        server.child.stdout.off('data', scan);
        server.child.off('exit', exited);
        resolve(line);
        return;
      }
    };
    const exited = () => reject(new Error(`exited before the log line:\n${server.output()}`));
    server.child.stdout.on('data', scan);
    server.child.once('exit', exited);
    scan();
  });
}

const leases = () =>
  connection.collection<{ _id: string; holder: string; instance?: string; until: Date }>('retention_leases');
const expiredLeft = () => connection.collection('tracking_events').countDocuments({ sessionId: 's-expired' });

describe('the purge lease across a killed process', () => {
  it('is taken over at once by the restarted instance; another instance logs that it skipped', async () => {
    // Instance purger-1 starts purging one event per batch, and is killed holding the lease.
    const killed = start('purger-1', { LOG_LEVEL: 'debug', PURGE_BATCH_SIZE: '1' });
    await logLine(killed, (line) => line.msg === 'took the purge lease');
    killed.child.kill('SIGKILL');
    await killed.exited;
    const stale = await leases().findOne({ _id: 'purge' });
    expect(stale).toMatchObject({ instance: 'purger-1' });
    expect(stale!.until.getTime()).toBeGreaterThan(Date.now());
    const left = await expiredLeft();
    expect(left).toBeGreaterThan(0);

    // Another instance meanwhile: its purge is skipped, and its log says who holds the lease.
    const other = start('purger-2');
    const skipped = await logLine(other, (line) => /purge skipped/.test(String(line.msg)));
    expect(skipped).toMatchObject({
      level: 30,
      msg: 'retention purge skipped: another instance holds the purge lease',
      holder: 'purger-1',
      until: stale!.until.toISOString(),
    });
    expect(await expiredLeft()).toBe(left);
    other.child.kill('SIGTERM');

    // purger-1 again (a restart): it takes its own stale lease over at once, not after it expires.
    // The lease runs 30 s from the killed process's last renewal, and three process starts on a
    // loaded machine can take longer: the stale lease is made to run for minutes, so that "at once"
    // cannot be mistaken for "after it expired".
    const until = new Date(Date.now() + 10 * 60_000);
    await leases().updateOne({ _id: 'purge' }, { $set: { until } });
    const restarted = start('purger-1');
    expect(await other.exited).toBe(0);
    const takeover = await logLine(restarted, (line) => /took over/.test(String(line.msg)));
    expect(takeover).toMatchObject({
      level: 40,
      msg: 'took over the purge lease of a previous process of this instance, which stopped without giving it back',
      previousHolder: stale!.holder,
      until: until.toISOString(),
    });
    expect(new Date(String(takeover.time)).getTime()).toBeLessThan(until.getTime());
    const purged = await logLine(restarted, (line) => line.msg === 'retention purge');
    expect(purged).toMatchObject({ purged: { COUNTED_EVENTS: left } });
    expect(await expiredLeft()).toBe(0);
    restarted.child.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
    // Given back at the end of the run.
    expect(await leases().countDocuments()).toBe(0);
  }, 120_000);
});
