import net from 'node:net';

/** How often a connection the gateway dropped (or left silent) before answering is opened again. */
const MAX_UPSTREAM_ATTEMPTS = 20;
/** How long a server connection may leave the handshake unanswered before it is opened again (× attempt). */
const FIRST_ANSWER_TIMEOUT_MS = 3_000;

/** What a relay may be told besides its server. */
export interface GatewayRelayOptions {
  /** How long the first server connection may stay silent before another is opened (doubling each time). */
  readonly firstAnswerTimeoutMs?: number;
  /** Called when a server connection stayed silent that long (the test run logs it). */
  readonly onSilentServer?: (waitedMs: number) => void;
}

/** A loopback TCP relay in front of one MongoDB-protocol server. */
export interface GatewayRelay {
  /** `uri` with its host and port replaced by the relay's. */
  readonly uri: string;
  /** Stops accepting and closes every relayed connection. */
  close(): Promise<void>;
}

/**
 * Starts a relay that passes every byte between the test run's clients and the server at `uri`,
 * and opens a server connection again when the server drops it before it answered anything.
 *
 * Why: DocumentDB 0.106's gateway binds a new listening socket after each connection it accepts,
 * so connections that arrive meanwhile are reset or refused (50 opened at once: about half fail).
 * `maxConnecting=1` serialises one pool's connections, but not those of the test run's two workers
 * and the server processes the tests spawn, and the driver answers a reset during a handshake by
 * clearing the whole pool. Before its first answer a connection has carried nothing but the
 * client's handshake (`hello`, which changes nothing), so sending it again on a new connection is
 * harmless; after that the relay is a plain pipe. `docs/engines.md` tells users the same story.
 * A server connection that stays silent (a connection left in a dropped listener's queue without
 * a reset) is opened again too: a driver would wait its whole `connectTimeoutMS` (30 s) on it.
 *
 * Returns undefined for a URI the relay cannot stand for (several hosts, or `mongodb+srv`).
 */
export async function startGatewayRelay(
  uri: string,
  options: GatewayRelayOptions = {},
): Promise<GatewayRelay | undefined> {
  const target = upstreamOf(uri);
  if (!target) return undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => relayConnection(client, target, sockets, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  const relayed = new URL(uri);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(port);
  return {
    uri: relayed.toString(),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function upstreamOf(uri: string): { host: string; port: number } | undefined {
  if (!uri.startsWith('mongodb://')) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return undefined; // several hosts (a replica set's seed list) do not parse as one URL
  }
  if (!parsed.hostname || parsed.hostname.includes(',')) return undefined;
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 27017) };
}

function relayConnection(
  client: net.Socket,
  target: { host: string; port: number },
  sockets: Set<net.Socket>,
  options: GatewayRelayOptions,
): void {
  const firstAnswerTimeoutMs = options.firstAnswerTimeoutMs ?? FIRST_ANSWER_TIMEOUT_MS;
  sockets.add(client);
  client.on('close', () => sockets.delete(client));
  client.on('error', () => undefined); // a client that goes away is closed with its server connection below

  // What the client sent before the server first answered: sent again on a new server connection.
  const unanswered: Buffer[] = [];
  let upstream: net.Socket | undefined;
  let answered = false;

  const onClientData = (chunk: Buffer): void => {
    unanswered.push(chunk);
    // A connection still opening sends `unanswered` once it is open.
    if (upstream && !upstream.connecting) upstream.write(chunk);
  };
  client.on('data', onClientData);
  client.on('close', () => upstream?.destroy());

  const open = (attempt: number): void => {
    if (client.destroyed) return;
    const socket = net.connect(target.port, target.host);
    upstream = socket;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('connect', () => {
      for (const chunk of unanswered) socket.write(chunk);
    });
    const waitedMs = firstAnswerTimeoutMs * 2 ** (attempt - 1);
    const silence = setTimeout(() => {
      options.onSilentServer?.(waitedMs);
      socket.destroy(); // reopened on 'close' below
    }, waitedMs);
    silence.unref();
    socket.once('data', (first: Buffer) => {
      clearTimeout(silence);
      answered = true;
      unanswered.length = 0;
      client.off('data', onClientData);
      client.write(first);
      client.pipe(socket);
      socket.pipe(client);
    });
    socket.on('error', () => undefined); // handled on 'close'
    socket.on('close', () => {
      clearTimeout(silence);
      if (answered) {
        client.destroy();
        return;
      }
      socket.removeAllListeners('data');
      if (attempt >= MAX_UPSTREAM_ATTEMPTS) {
        client.destroy();
        return;
      }
      setTimeout(() => open(attempt + 1), 5 * attempt);
    });
  };
  open(1);
}
