/**
 * `npm run archive:read -- <file>`: streams an archive (data file or manifest) to stdout as
 * canonical EJSON lines, checksums verified. `npm run archive:restore -- <file> [collection]`:
 * loads it into `MONGODB_URI` / `MONGODB_DB` (default collection `tracking_events`); point
 * `MONGODB_DB` at a scratch database for audits. See docs/privacy.md "Archives".
 */
import mongoose, { mongo } from 'mongoose';
import { readArchive, restoreArchive } from '../src/retention/archive';

async function main([command, file, collection = 'tracking_events']: string[]): Promise<number> {
  if (!file || (command !== 'read' && command !== 'restore')) {
    process.stderr.write(
      'usage: archive read <file> | archive restore <file> [collection] (MONGODB_URI, MONGODB_DB)\n',
    );
    return 2;
  }
  if (command === 'read') {
    let count = 0;
    for await (const document of readArchive(file)) {
      count++;
      if (!process.stdout.write(`${mongo.BSON.EJSON.stringify(document, { relaxed: false })}\n`))
        await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
    process.stderr.write(`${count} documents, checksums verified\n`);
    return 0;
  }
  const uri = process.env.MONGODB_URI;
  const dbName = process.env.MONGODB_DB;
  if (!uri || !dbName) {
    process.stderr.write('archive restore needs MONGODB_URI and MONGODB_DB (use a scratch database for audits)\n');
    return 2;
  }
  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    const { read, inserted } = await restoreArchive(file, connection.collection(collection));
    process.stderr.write(`${read} documents read, ${inserted} inserted into ${dbName}.${collection}\n`);
    return 0;
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
