import { createServer, type Server, type Socket } from "node:net";

/** What the router needs of a worker: Node's cluster.Worker and a forked ChildProcess both fit. */
export interface RoutableWorker {
  send(message: unknown, handle: Socket, callback: (error: Error | null) => void): boolean;
  isConnected(): boolean;
}

/** Engine.IO session ids: 20 characters of URL-safe base64, as the query's `sid`. */
const SESSION_ID = /[?&]sid=([\w-]{20})(?:&|\s|$)/;
/** A request line longer than this is refused; Engine.IO's are under 200 bytes. */
const MAX_REQUEST_LINE_BYTES = 8192;
/** A connection that sends no request line in this long is closed. */
const REQUEST_LINE_TIMEOUT_MS = 10_000;

export interface StickyRouterOptions {
  /** The workers that take connections now, in a stable order. */
  workers: () => readonly RoutableWorker[];
  /** Called after a connection went to a worker; tests use it to order what they do. */
  onHandedOver?: (worker: RoutableWorker) => void;
}

/**
 * The primary's side of sticky sessions: it reads a new connection's request
 * line, sends every request of an Engine.IO session to the worker that holds
 * it (new ones in turn), and hands the connection itself to that worker,
 * with the bytes already read. Workers run @socket.io/sticky's `setupWorker`,
 * whose messages this speaks: `sticky:connection` with the socket, and
 * back, the session ids a worker opened and closed.
 *
 * It stops reading before the handover, which @socket.io/sticky's own
 * primary does not: Node keeps the sender's copy of a passed socket reading,
 * into nothing, until the worker acknowledges the handle, so a client's next
 * bytes (its namespace connect, its first subscribe) could be lost whenever
 * the worker was slow to acknowledge.
 */
export class StickyRouter {
  readonly server: Server;
  private readonly sessions = new Map<string, RoutableWorker>();
  private turn = 0;

  constructor(private readonly options: StickyRouterOptions) {
    // Paused: nothing is read until a data listener asks for it.
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.route(socket));
  }

  /** Takes the session bookkeeping messages of @socket.io/sticky's worker side. */
  onWorkerMessage(worker: RoutableWorker, message: unknown): void {
    if (typeof message !== "object" || message === null) return;
    const { type, data } = message as { type?: unknown; data?: unknown };
    if (typeof data !== "string") return;
    if (type === "sticky:connection") this.sessions.set(data, worker);
    else if (type === "sticky:disconnection" && this.sessions.get(data) === worker) this.sessions.delete(data);
  }

  /** A worker is gone: its sessions went with it. */
  forget(worker: RoutableWorker): void {
    for (const [sid, owner] of this.sessions) if (owner === worker) this.sessions.delete(sid);
  }

  private route(socket: Socket): void {
    let head: Buffer = Buffer.alloc(0);
    socket.setTimeout(REQUEST_LINE_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const lineEnd = head.indexOf("\r\n");
      if (lineEnd < 0 && head.length < MAX_REQUEST_LINE_BYTES) return;
      socket.off("data", onData);
      stopReading(socket);
      if (lineEnd < 0) {
        socket.end("HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const worker = this.pick(head.subarray(0, lineEnd).toString("latin1"));
      if (worker === undefined) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      socket.setTimeout(0);
      worker.send({ type: "sticky:connection", data: head }, socket, (error) => {
        if (error !== null) socket.destroy();
        else this.options.onHandedOver?.(worker);
      });
    };
    // Paused on connect, so an added listener alone does not start the reads.
    socket.on("data", onData).resume();
  }

  private pick(requestLine: string): RoutableWorker | undefined {
    const sid = SESSION_ID.exec(requestLine)?.[1];
    const owner = sid === undefined ? undefined : this.sessions.get(sid);
    if (owner?.isConnected()) return owner;
    const live = this.options.workers().filter((worker) => worker.isConnected());
    if (live.length === 0) return undefined;
    this.turn = (this.turn + 1) % live.length;
    return live[this.turn];
  }
}

/**
 * Stops the kernel-to-process reads of a socket. `pause()` alone only stops
 * 'data' events: the handle goes on reading into the stream's buffer, and a
 * handle passed to another process reads into nothing until it is closed.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } })._handle;
  if (handle?.readStop !== undefined) {
    handle.reading = false;
    handle.readStop();
  }
}
