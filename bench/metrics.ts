/**
 * `npm run bench:metrics` — what observability costs. (1) Database command timing
 * (`METRICS_DB_COMMANDS`, the driver's command monitoring feeding a histogram): the cheapest round
 * trip Gavel makes, `findOne` by `_id`, on a connection with monitoring and on one without,
 * alternating rounds so drift on a shared machine hits both alike. (2) Recording one GraphQL
 * operation (counter, histogram, request log line to a null stream), per operation, against that
 * same round trip.
 */
import { Writable } from 'node:stream';
import mongoose, { Types } from 'mongoose';
import pino from 'pino';
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
    const run = async (connection: mongoose.Connection): Promise<number> => {
      const collection = connection.collection('probe');
      const started = process.hrtime.bigint();
      for (let op = 0; op < OPS; op++) await collection.findOne({ _id: ids[op % ids.length] });
      return Number(process.hrtime.bigint() - started) / 1e3 / OPS;
    };
    await run(plain);
    await run(monitored); // warm-up
    const plainUs: number[] = [];
    const monitoredUs: number[] = [];
    // Alternating, and each first in every other round, so neither gets the warmer start.
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        plainUs.push(await run(plain));
        monitoredUs.push(await run(monitored));
      } else {
        monitoredUs.push(await run(monitored));
        plainUs.push(await run(plain));
      }
    }

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

    const base = median(plainUs);
    printHeader('bench:metrics', engine);
    console.log(`${ROUNDS} alternating rounds of ${OPS} findOne by _id (median of the rounds)\n`);
    printTable([
      { measure: 'findOne round trip, no command monitoring (baseline)', 'µs/op': base.toFixed(1), ratio: '1.00' },
      {
        measure: 'findOne round trip, monitored + histogram',
        'µs/op': median(monitoredUs).toFixed(1),
        ratio: (median(monitoredUs) / base).toFixed(3),
      },
      {
        measure: 'recording one operation (metrics + log line)',
        'µs/op': recordUs.toFixed(1),
        ratio: (recordUs / base).toFixed(3),
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
