import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One HTTP exchange that went through the proxy. */
export interface Exchange {
  readonly method: string;
  /** Path and query string. */
  readonly url: string;
  readonly requestBody: string;
  readonly status: number;
  readonly contentType: string;
  readonly responseBody: string;
}

/** Headers that describe one connection, not the message: not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'proxy-connection',
]);

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A recording HTTP proxy in front of the server: the shell examples' `localhost:4000` points here,
 * so every request a `curl` command sends, and its answer, can be checked — also when the command
 * pipes the answer into `jq` and the terminal never shows it.
 */
export class RecordingProxy {
  readonly exchanges: Exchange[] = [];
  private server?: Server;

  constructor(private readonly target: string) {}

  /** Starts listening on a free loopback port; returns `127.0.0.1:<port>`. */
  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void (async () => {
        const body = await readBody(request);
        const headers = new Headers();
        for (const [name, value] of Object.entries(request.headers))
          if (!HOP_BY_HOP.has(name) && value !== undefined)
            headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        try {
          const answer = await fetch(new URL(request.url ?? '/', this.target), {
            method: request.method,
            headers,
            body: request.method === 'GET' || request.method === 'HEAD' ? undefined : new Uint8Array(body),
            redirect: 'manual',
          });
          const responseBody = Buffer.from(await answer.arrayBuffer());
          this.exchanges.push({
            method: request.method ?? 'GET',
            url: request.url ?? '/',
            requestBody: body.toString(),
            status: answer.status,
            contentType: answer.headers.get('content-type') ?? '',
            responseBody: responseBody.toString(),
          });
          const forwarded: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') forwarded[name] = value;
          });
          response.writeHead(answer.status, forwarded);
          response.end(responseBody);
        } catch (error) {
          response.writeHead(502, { 'content-type': 'text/plain' });
          response.end(`doc-test proxy: ${(error as Error).message}`);
        }
      })();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Takes the exchanges recorded so far (and forgets them). */
  take(): Exchange[] {
    return this.exchanges.splice(0);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
