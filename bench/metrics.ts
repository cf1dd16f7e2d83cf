/**
 * `npm run bench:metrics` — what observability costs. (1) Database command timing
 * (`METRICS_DB_COMMANDS`, the driver's command monitoring feeding a histogram): the cheapest round
 * trip Gavel makes, `findOne` by `_id`, and a search-sized read, `find` of 100 catalog items, on a
 * connection with monitoring and on one without, alternating rounds so drift on a shared machine
 * hits both alike. Monitoring makes the driver decode every reply into an object for the event,
 * which a cursor otherwise reads lazily: the second read shows that cost. (2) Recording one GraphQL
 * operation (counter, histogram, request log line to a null stream), per operation, against that
 * same round trip.
 */
import { Writable } from 'node:stream';
import mongoose, { Types } from 'mongoose';
import pino from 'pino';
import { generateDemoCatalog } from '../src/catalog/demoCatalog';
import { GavelMetrics } from '../src/observability/metrics';
import { OperationRecorder } from '../src/observability/operations';
import { printHeader, printTable, startBenchEngine } from './support';

const OPS = Number(process.env.BENCH_OPS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const RECORDS = 100_000;

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const engine = await startBenchEngine();
  const dbName = `bench_metrics_${Date.now()}`;
  const metrics = new GavelMetrics({ operationNames: [], maxOperationNames: 50 });
  const plain = await mongoose.createConnection(engine.uri, { dbName }).asPromise();
  const monitored = await mongoose.createConnection(engine.uri, { dbName, monitorCommands: true }).asPromise();
  const client = monitored.getClient();
  client.on('commandSucceeded', (event) => metrics.recordDbCommand(event.commandName, event.duration, false));
  client.on('commandFailed', (event) => metrics.recordDbCommand(event.commandName, event.duration, true));
  try {
    const ids = Array.from({ length: 100 }, () => new Types.ObjectId());
    await plain.collection('probe').insertMany(ids.map((_id, index) => ({ _id, index, title: `item ${index}` })));
    await plain.collection('items').insertMany(generateDemoCatalog(100, new Date(), 5));
    type Read = (connection: mongoose.Connection, op: number) => Promise<unknown>;
    const findOne: Read = (connection, op) => connection.collection('probe').findOne({ _id: ids[op % ids.length] });
    const findPage: Read = (connection) => connection.collection('items').find({}).limit(100).toArray();
    // Wall time per op, and this process's CPU time per op: the client-side cost that monitoring
    // adds, which other processes on a shared machine disturb far less than wall time.
    const run = async (connection: mongoose.Connection, read: Read): Promise<{ wall: number; cpu: number }> => {
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      for (let op = 0; op < OPS; op++) await read(connection, op);
      const used = process.cpuUsage(cpu);
      return {
        wall: Number(process.hrtime.bigint() - started) / 1e3 / OPS,
        cpu: (used.user + used.system) / OPS,
      };
    };
    type Runs = Array<{ wall: number; cpu: number }>;
    const compare = async (read: Read): Promise<{ plain: Runs; monitored: Runs }> => {
      await run(plain, read);
      await run(monitored, read); // warm-up
      const result = { plain: [] as Runs, monitored: [] as Runs };
      // Alternating, and each first in every other round, so neither gets the warmer start.
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          result.plain.push(await run(plain, read));
          result.monitored.push(await run(monitored, read));
        } else {
          result.monitored.push(await run(monitored, read));
          result.plain.push(await run(plain, read));
        }
      }
      return result;
    };
    const small = await compare(findOne);
    const page = await compare(findPage);

    const recorder = new OperationRecorder(
      metrics,
      pino({ level: 'info' }, new Writable({ write: (_chunk, _encoding, done) => done() })),
      { trackingSampleRate: 1, hashKey: 'bench-hash-key-0123456789' },
    );
    const started = process.hrtime.bigint();
    for (let index = 0; index < RECORDS; index++) {
      const trace = recorder.start('http', `bench-${index}`);
      trace.name = 'SearchItems';
      trace.type = 'query';
      trace.resolved = true;
      trace.role = 'ANONYMOUS';
      trace.clientHash = recorder.hash('203.0.113.7');
      recorder.finish(trace, 'OK', 200);
    }
    const recordUs = Number(process.hrtime.bigint() - started) / 1e3 / RECORDS;

    const wall = (runs: Runs) => median(runs.map((one) => one.wall));
    const cpu = (runs: Runs) => median(runs.map((one) => one.cpu));
    const rows = (label: string, { plain: off, monitored: on }: { plain: Runs; monitored: Runs }) => [
      {
        measure: `${label}, no command monitoring (baseline)`,
        'wall µs/op': wall(off).toFixed(1),
        'wall ratio': '1.00',
        'Node CPU µs/op': cpu(off).toFixed(1),
        'CPU ratio': '1.00',
      },
      {
        measure: `${label}, monitored + histogram`,
        'wall µs/op': wall(on).toFixed(1),
        'wall ratio': (wall(on) / wall(off)).toFixed(3),
        'Node CPU µs/op': cpu(on).toFixed(1),
        'CPU ratio': (cpu(on) / cpu(off)).toFixed(3),
      },
    ];
    printHeader('bench:metrics', engine);
    console.log(`${ROUNDS} alternating rounds of ${OPS} reads each (median of the rounds)\n`);
    printTable([
      ...rows('findOne by _id', small),
      ...rows('find 100 items', page),
      {
        measure: 'recording one operation (metrics + log line)',
        'wall µs/op': recordUs.toFixed(1),
        'wall ratio': (recordUs / wall(small.plain)).toFixed(3),
        'Node CPU µs/op': '',
        'CPU ratio': '',
      },
    ]);
  } finally {
    await plain.dropDatabase().catch(() => undefined);
    await Promise.all([plain.close(), monitored.close()]);
    await engine.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
