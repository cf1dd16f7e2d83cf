import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { SharedPayloads } from '../../src/server/sharedPayloads';

/**
 * One serialization per result (src/server/sharedPayloads.ts), over real sockets: two
 * subscribers' `next` messages, written as graphql-ws writes them (its own JSON.stringify of the
 * stand-in), arrive as ordinary messages carrying the payload, which was serialized once.
 */

let server: WebSocketServer;
const serverSockets: WebSocket[] = [];
const payloads = new SharedPayloads();

beforeAll(async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket) => {
    payloads.attach(socket);
    serverSockets.push(socket);
  });
  await new Promise((resolve) => server.once('listening', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function connect(): Promise<{ client: WebSocket; next: () => Promise<string> }> {
  const before = serverSockets.length;
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const messages: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  client.on('message', (data: Buffer, binary: boolean) => {
    expect(binary).toBe(false);
    const text = data.toString();
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else messages.push(text);
  });
  await new Promise((resolve) => client.once('open', resolve));
  while (serverSockets.length === before) await new Promise((resolve) => setImmediate(resolve));
  const next = () =>
    new Promise<string>((resolve) => {
      const queued = messages.shift();
      if (queued !== undefined) resolve(queued);
      else waiting.push(resolve);
    });
  return { client, next };
}

/** What graphql-ws does with onNext's return value: `stringifyMessage`, then `socket.send(text, cb)`. */
function sendNext(socket: WebSocket, id: string, payload: unknown): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(JSON.stringify({ id, type: 'next', payload }), (error?: Error) => (error ? reject(error) : resolve())),
  );
}

describe('shared payloads', () => {
  it('serializes a result once for every socket and delivers ordinary messages', async () => {
    const one = await connect();
    const two = await connect();
    const [socketOne, socketTwo] = serverSockets.slice(-2) as [WebSocket, WebSocket];
    let serializations = 0;
    const data = { analyticsOverviewUpdated: { impressions: 3, title: 'Ünïcode "quoted" }}' } };
    const result = { data };
    const payload = {
      toJSON: () => {
        serializations++;
        return { data };
      },
    };

    await sendNext(socketOne, 'a', payloads.standIn(socketOne, result, payload));
    await sendNext(socketTwo, 'b"}', payloads.standIn(socketTwo, result, payload));
    await sendNext(socketOne, 'c', payloads.standIn(socketOne, result, payload));
    expect(JSON.parse(await one.next())).toEqual({ id: 'a', type: 'next', payload: { data } });
    expect(JSON.parse(await two.next())).toEqual({ id: 'b"}', type: 'next', payload: { data } });
    expect(JSON.parse(await one.next())).toEqual({ id: 'c', type: 'next', payload: { data } });
    expect(serializations).toBe(1);

    // Anything else passes through as sent.
    socketTwo.send('{"type":"pong"}');
    expect(await two.next()).toBe('{"type":"pong"}');
    one.client.close();
    two.client.close();
  });

  it('writes each shared message (three frames) in one write to the operating system', async () => {
    const { client, next } = await connect();
    try {
      const socket = serverSockets.at(-1)!;
      // The TCP socket under the websocket: count the writes it hands to the operating system.
      const tcp = (socket as unknown as { _socket: Socket })._socket as Socket & {
        _write: (...args: unknown[]) => void;
        _writev: (...args: unknown[]) => void;
      };
      let writes = 0;
      for (const method of ['_write', '_writev'] as const) {
        const original = tcp[method].bind(tcp);
        tcp[method] = (...args: unknown[]) => {
          writes++;
          original(...args);
        };
      }
      const result = { data: { itemAnalyticsUpdated: { impressions: 1 } } };
      // A round to a subscriber of three items: three shared messages of three frames each.
      const sent = ['x', 'y', 'z'].map((id) => sendNext(socket, id, payloads.standIn(socket, result, result)));
      await Promise.all(sent);
      expect((await Promise.all([next(), next(), next()])).map((text) => JSON.parse(text).id)).toEqual(['x', 'y', 'z']);
      expect(writes).toBe(3);

      // Anything else is written as ws writes it.
      socket.send('{"type":"pong"}');
      expect(await next()).toBe('{"type":"pong"}');
      expect(writes).toBe(4);
    } finally {
      client.close();
    }
  });
});
