import net from 'node:net';
import { mongo } from 'mongoose';
import { startGatewayRelay } from './gatewayRelay';

/** OP_MSG opcode of the MongoDB wire protocol. */
const OP_MSG = 2013;

/** A `hello` command as one OP_MSG message (what a driver sends first on a connection). */
function helloMessage(requestId: number): Buffer {
  const body = Buffer.from(mongo.BSON.serialize({ hello: 1, $db: 'admin' }));
  const message = Buffer.alloc(21 + body.length);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(requestId, 4);
  message.writeInt32LE(0, 8); // responseTo
  message.writeInt32LE(OP_MSG, 12);
  message.writeUInt32LE(0, 16); // flags
  message.writeUInt8(0, 20); // section kind 0: the command document
  body.copy(message, 21);
  return message;
}

/** Length of a wire-protocol message header: length, requestID, responseTo, opCode. */
const HEADER_BYTES = 16;

/** Opens a connection to `port`, sends a hello and resolves with what the reply's header says. */
function hello(port: number, requestId: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const settle = (outcome: string) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.on('connect', () => socket.write(helloMessage(requestId)));
    // A reply may arrive in several chunks (TCP keeps no message boundaries): wait for its whole header.
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= HEADER_BYTES) settle(received.readInt32LE(8) === requestId ? 'answered' : 'garbled');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
    socket.on('close', () => settle('closed'));
  });
}

// Sockets opened in one tick, not driver clients: a driver spreads its connections over time,
// and the gateway resets connections that arrive together (on DocumentDB 0.106, about half of 50).
it('answers every one of many connections opened at the same moment', async () => {
  const relay = (await startGatewayRelay(process.env.GAVEL_TEST_MONGODB_URI!))!;
  try {
    const port = Number(new URL(relay.uri).port);
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, index) => hello(port, index + 1)));
    expect(outcomes).toEqual(outcomes.map(() => 'answered'));
  } finally {
    await relay.close();
  }
});

it('stands only for a single-host mongodb:// URI', async () => {
  expect(await startGatewayRelay('mongodb+srv://cluster.example.com/')).toBeUndefined();
  expect(await startGatewayRelay('mongodb://a.example.com:27017,b.example.com:27017/?replicaSet=rs')).toBeUndefined();
});

it('opens a server connection again when the server leaves the handshake unanswered', async () => {
  // A server that takes the first connection and never answers it, then answers the next one.
  const held: net.Socket[] = [];
  const server = net.createServer((socket) => {
    held.push(socket);
    if (held.length === 1) return;
    socket.once('data', (message: Buffer) => {
      const reply = Buffer.from(message);
      reply.writeInt32LE(message.readInt32LE(4), 8); // responseTo: the request's id
      socket.write(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const silences: number[] = [];
  const relay = (await startGatewayRelay(`mongodb://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, {
    firstAnswerTimeoutMs: 100,
    onSilentServer: (waitedMs) => silences.push(waitedMs),
  }))!;
  try {
    expect(await hello(Number(new URL(relay.uri).port), 7)).toBe('answered');
    expect(silences).toEqual([100]);
    expect(held).toHaveLength(2);
  } finally {
    await relay.close();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
