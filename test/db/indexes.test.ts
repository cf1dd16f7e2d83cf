import { randomBytes } from 'node:crypto';
import mongoose, { Schema, type Connection, type mongo } from 'mongoose';
import { ensureSchemaIndexes } from '../../src/db/indexes';

// What an app start asks of the engine for each collection: one command that creates the
// collection and its indexes together (DocumentDB builds those at once, but queues the indexes of
// an existing collection for seconds), nothing more on a restart, and a start racing another.

let connections: Connection[] = [];
const databaseName = `test_${randomBytes(6).toString('hex')}`;

/** A connection to this file's database as the app opens one (no implicit creations), with the command names it sends recorded. */
async function connect(): Promise<{ connection: Connection; commands: string[] }> {
  const connection = await mongoose
    .createConnection(process.env.GAVEL_TEST_MONGODB_URI!, {
      dbName: databaseName,
      monitorCommands: true,
      autoIndex: false,
      autoCreate: false,
    })
    .asPromise();
  connections.push(connection);
  const commands: string[] = [];
  connection.getClient().on('commandStarted', (event: mongo.CommandStartedEvent) => commands.push(event.commandName));
  return { connection, commands };
}

afterAll(async () => {
  await connections[0]?.dropDatabase();
  await Promise.all(connections.map((connection) => connection.close()));
  connections = [];
});

const lotSchema = new Schema({ sku: String, seller: String, endsAt: Date });
lotSchema.index({ sku: 1 }, { unique: true });
lotSchema.index({ seller: 1, endsAt: -1 });

/** Index keys of `collection`, `_id` first. */
async function indexKeys(connection: Connection, collection: string): Promise<string[]> {
  const indexes = await connection.db!.collection(collection).listIndexes().toArray();
  return indexes.map((index) => JSON.stringify(index.key)).sort();
}

describe('ensureSchemaIndexes', () => {
  it('creates a missing collection and all its indexes in one createIndexes command, and sends only that on a restart', async () => {
    const { connection, commands } = await connect();
    const model = connection.model('Lot', lotSchema, 'lots');
    await ensureSchemaIndexes(model);
    expect(commands).toEqual(['createIndexes']);
    expect(await indexKeys(connection, 'lots')).toEqual(['{"_id":1}', '{"seller":1,"endsAt":-1}', '{"sku":1}'].sort());
    // The unique index holds: the collection was created with it, before any write.
    await model.create({ sku: 'A-1' });
    await expect(model.create({ sku: 'A-1' })).rejects.toMatchObject({ code: 11000 });

    commands.length = 0;
    await ensureSchemaIndexes(model);
    expect(commands).toEqual(['createIndexes']);
    expect(await indexKeys(connection, 'lots')).toHaveLength(3);
  });

  it('creates a collection without indexes, so that a first insert never races its creation', async () => {
    const { connection } = await connect();
    const model = connection.model('Note', new Schema({ text: String }), 'notes');
    await ensureSchemaIndexes(model);
    const names = (await connection.db!.listCollections().toArray()).map((entry) => entry.name);
    expect(names).toContain('notes');
  });

  it('succeeds for instances starting at the same moment on a fresh collection', async () => {
    const instances = await Promise.all([connect(), connect(), connect()]);
    await Promise.all(
      instances.map(({ connection }) => ensureSchemaIndexes(connection.model('Race', lotSchema, 'races'))),
    );
    expect(await indexKeys(instances[0]!.connection, 'races')).toHaveLength(3);
  });
});
