import { createServer, type Server, type Socket } from "node:net";
import { sessionWorkerIndex } from "./session-ids.js";
import type { PrimaryMessage } from "./worker-messages.js";

/** What the router needs of a worker: Node's cluster.Worker and a forked ChildProcess both fit. */
export interface RoutableWorker {
  send(message: unknown, handle: Socket, callback: (error: Error | null) => void): boolean;
  isConnected(): boolean;
}

/** Larger request heads are refused, as Node's HTTP server does past its 16 KB. */
const MAX_HEAD_BYTES = 16 * 1024;
/** A connection whose request has not fully arrived in this long is closed. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface StickyRouterOptions {
  /**
   * Bodies up to this size are read whole before the hand-over; a longer one
   * is handed over at once, for the worker to refuse from its header.
   */
  maxBodyBytes: number;
  /** The workers that take connections now, in a stable order. */
  workers: () => readonly RoutableWorker[];
  /** The worker of that index, while it takes connections: the one a session id names. */
  workerAt: (index: number) => RoutableWorker | undefined;
  /**
   * Requests that go to one worker whenever it is up: what a request line
   * starts with, and that worker (publishes: see publishing-worker.ts).
   */
  pinned?: { requestLinePrefix: string; worker: () => RoutableWorker | undefined };
  /**
   * Called after a connection went to a worker. This process's copy of the
   * socket never closes after that (Node gives its handle away), so whatever
   * counts open connections here must let go of it now.
   */
  onHandedOver?: (worker: RoutableWorker, socket: Socket) => void;
}

/**
 * The primary's side of sticky sessions: every request of an Engine.IO session goes to the worker that holds it,
 * with the bytes already read. The session id names that worker (`session-ids.ts`), and reading stops before
 * the hand-over (a client's next bytes could be lost otherwise): see docs/decisions/socket-io-internals.md.
 */
export class StickyRouter {
  readonly server: Server;
  private turn = 0;

  constructor(private readonly options: StickyRouterOptions) {
    // Paused: nothing is read until a data listener asks for it.
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.route(socket));
  }

  private route(socket: Socket): void {
    // The head is searched for in one buffer (at most MAX_HEAD_BYTES and a
    // chunk); the body's chunks are only counted until it is whole, and
    // joined once, so a long body costs no copy per chunk.
    let head: Buffer = Buffer.alloc(0);
    let fields: string | undefined;
    let requestBytes = 0;
    const body: Buffer[] = [];
    let received = 0;
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    const refuse = (status: string) => {
      socket.off("data", onData);
      stopReading(socket);
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const onData = (chunk: Buffer) => {
      if (fields === undefined) {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const headEnd = head.indexOf("\r\n\r\n");
        if (headEnd < 0) {
          if (head.length > MAX_HEAD_BYTES) refuse("431 Request Header Fields Too Large");
          return;
        }
        fields = head.subarray(0, headEnd).toString("latin1");
        // The whole request comes over with the connection: bytes a worker
        // would read after the hand-over do not always reach its HTTP parser
        // behind the ones put back in front of its stream.
        if (/\r\ntransfer-encoding:/i.test(fields)) return refuse("411 Length Required");
        const bodyBytes = Number(/\r\ncontent-length:[ \t]*(\d+)/i.exec(fields)?.[1] ?? 0);
        requestBytes = bodyBytes <= this.options.maxBodyBytes ? headEnd + 4 + bodyBytes : 0;
        received = head.length;
      } else {
        body.push(chunk);
        received += chunk.length;
      }
      if (received < requestBytes) return;
      const worker = this.pick(fields.split("\r\n", 1)[0] ?? "");
      if (worker === undefined) return refuse("503 Service Unavailable");
      socket.off("data", onData);
      stopReading(socket);
      socket.setTimeout(0);
      const data = body.length === 0 ? head : Buffer.concat([head, ...body], received);
      const message: PrimaryMessage = { type: "tributary:connection", data };
      worker.send(message, socket, (error) => {
        if (error !== null) socket.destroy();
        else this.options.onHandedOver?.(worker, socket);
      });
    };
    // Paused on connect, so an added listener alone does not start the reads.
    socket.on("data", onData).resume();
  }

  private pick(requestLine: string): RoutableWorker | undefined {
    const { pinned } = this.options;
    if (pinned !== undefined && requestLine.startsWith(pinned.requestLinePrefix)) {
      const worker = pinned.worker();
      if (worker?.isConnected()) return worker;
    }
    const index = sessionWorkerIndex(requestLine);
    const owner = index === undefined ? undefined : this.options.workerAt(index);
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
