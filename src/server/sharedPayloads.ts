import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * One serialized payload per result, however many subscribers receive it. graphql-ws serializes
 * every `next` message itself (its id and the payload, in one `JSON.stringify` per subscriber), so
 * a result the multiplexer shares between N subscribers would be serialized N times and held N
 * times in the sockets' buffers. Instead, `onNext` hands graphql-ws a small stand-in payload
 * (`{"\u0000shared":<n>}`) and the socket's `send` replaces it: the message goes out as three
 * frames of one websocket message — the head graphql-ws wrote (`{"id":…,"type":"next","payload":`),
 * the result's serialization (one Buffer, written to every socket without a copy), and `}`.
 * Clients see an ordinary message (websocket fragments are reassembled by every client).
 */

/** The stand-in's key: no real payload has it (a payload's keys are `data`, `errors`, `extensions`). */
const STAND_IN_KEY = '\u0000shared';
/** How the stand-in ends a message serialized by graphql-ws (the key as `JSON.stringify` escapes it). */
const STAND_IN_TAIL = /\{"\\u0000shared":(\d+)\}\}$/;

/** See the module comment. */
export class SharedPayloads {
  /** Serialization of each result sent (as long as the result lives: the multiplexer holds shared ones). */
  private readonly serialized = new WeakMap<object, Buffer>();
  /** Per socket, payloads handed out as stand-ins and not sent yet. */
  private readonly pending = new WeakMap<WebSocket, Map<number, Buffer>>();
  private next = 0;

  /**
   * The stand-in for `payload` (the message payload of `result`, formatted) on `socket`, and the
   * payload serialized once per result. Call from graphql-ws's `onNext` and return its value.
   */
  standIn(socket: WebSocket, result: object, payload: unknown): Record<string, number> {
    let json = this.serialized.get(result);
    if (!json) this.serialized.set(result, (json = Buffer.from(JSON.stringify(payload))));
    let waiting = this.pending.get(socket);
    if (!waiting) this.pending.set(socket, (waiting = new Map()));
    const id = this.next++;
    waiting.set(id, json);
    return { [STAND_IN_KEY]: id };
  }

  /**
   * Wraps the socket's `send` so that a message carrying a stand-in goes out with the payload
   * instead, in one write: `ws` writes each frame as it comes (a `writev` system call per frame),
   * and a shared message is three frames, which made `writev` the server's largest cost at 5,000
   * subscribers. The TCP socket is corked around the three synchronous sends, so nothing waits:
   * the message leaves when its last frame is written, as it did.
   */
  attach(socket: WebSocket): void {
    const tcp = (socket as unknown as { _socket?: Socket })._socket;
    const send = socket.send.bind(socket) as (data: unknown, options?: unknown, cb?: (error?: Error) => void) => void;
    socket.send = ((data: unknown, options?: unknown, cb?: (error?: Error) => void) => {
      const match = typeof data === 'string' ? STAND_IN_TAIL.exec(data) : null;
      const json = match ? this.pending.get(socket)?.get(Number(match[1])) : undefined;
      if (!match || !json) return send(data, options, cb);
      this.pending.get(socket)!.delete(Number(match[1]));
      const callback = typeof options === 'function' ? (options as (error?: Error) => void) : cb;
      const text = data as string;
      // Consecutive synchronous sends: no other message can come between the fragments.
      tcp?.cork();
      send(text.slice(0, match.index), { binary: false, fin: false });
      send(json, { binary: false, fin: false });
      send('}', { binary: false, fin: true }, callback);
      tcp?.uncork();
    }) as WebSocket['send'];
  }
}
