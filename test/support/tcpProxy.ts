import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on a loopback port in front of another server (the database), that a test cuts and
 * restores: what a dropped network, a failed-over load balancer or a restarted gateway looks like
 * to the driver.
 */
export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Connections the proxy accepted so far (each one a driver connection). */
  readonly accepted: number;
  /**
   * Cuts the network: every open connection is reset (both sides see ECONNRESET) and every new
   * one is reset at once, until {@link restore}.
   */
  cut(): void;
  /** Forwards new connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy forwarding 127.0.0.1:<ephemeral> to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let down = false;
  let accepted = 0;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A reset is what this proxy is for; neither side's error is news.
    socket.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const reset = () => {
      if (!client.destroyed) client.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    client.once('close', reset);
    upstream.once('close', reset);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    get accepted() {
      return accepted;
    },
    cut: () => {
      down = true;
      for (const socket of open) if (!socket.destroyed) socket.resetAndDestroy();
    },
    restore: () => {
      down = false;
    },
    close: async () => {
      down = true;
      for (const socket of open) if (!socket.destroyed) socket.resetAndDestroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `uri` (a `mongodb://` connection string with one host) pointed at `port` on 127.0.0.1 instead. */
export function throughProxy(uri: string, port: number): string {
  const url = new URL(uri);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}
