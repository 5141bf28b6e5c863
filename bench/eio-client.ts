/**
 * A lean Socket.IO v5 client speaking Engine.IO v4 over a WebSocket it
 * frames itself on a plain TCP socket.
 *
 * The stock socket.io-client costs about as much CPU per message as the
 * server it talks to, which makes a single machine benchmark measure the
 * client. The `ws` client was the next cost: its upgrade goes through Node's
 * HTTP client and every frame through a stream, and the generator spent more
 * CPU per connect than the server it measured. This client handles only what
 * the benchmark needs: the websocket transport (no polling, no upgrade), the
 * main namespace, unfragmented text frames, and answering heartbeats.
 * Incoming events are handed over as the raw frame so the hot path can skip
 * JSON.parse when it only needs one field.
 */
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";

/** Engine.IO packet types are the first character of a text frame. */
const EIO_OPEN = "0";
const EIO_CLOSE = "1";
const EIO_PING = "2";
const EIO_PONG = "3";
const EIO_MESSAGE = "4";

/** Socket.IO packet types follow the Engine.IO message type. */
const SIO_CONNECT = "0";
const SIO_DISCONNECT = "1";
const SIO_EVENT = "2";
const SIO_CONNECT_ERROR = "4";

/** WebSocket opcodes (RFC 6455 §5.2). */
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/**
 * Every client sends the same key: the server under test is local, so the
 * key's job (proving the peer speaks WebSocket) is done by checking the
 * accept value, which is then computed once per process instead of per
 * connect.
 */
const HANDSHAKE_KEY = "dHJpYnV0YXJ5LWJlbmNoIQ==";
const HANDSHAKE_ACCEPT = createHash("sha1")
  .update(`${HANDSHAKE_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
  .digest("base64");
const HEADER_END = Buffer.from("\r\n\r\n");
/** Longest upgrade response accepted before the connection is given up as not a WebSocket server. */
const MAX_HANDSHAKE_BYTES = 16 * 1024;

export interface EioClientOptions {
  /** e.g. ws://127.0.0.1:3000 */
  baseUrl: string;
  /** Socket.IO path, e.g. /ws/v1 */
  path: string;
  /** Gives up if the namespace is not joined within this time. */
  connectTimeoutMs?: number;
  /** Source address and port to connect from; see WorkerPool.connect for why the generator picks them. */
  localAddress?: string;
  localPort?: number;
}

export interface EioClientHandlers {
  /**
   * Called for every Socket.IO event with the event name and the raw frame.
   * `raw` starts with `42`; `parseEventArgs(raw)` gives the arguments.
   */
  onEvent?: (name: string, raw: string) => void;
  onClose?: (reason: string) => void;
}

export function buildEngineUrl(baseUrl: string, path: string): string {
  const trimmed = path.endsWith("/") ? path : `${path}/`;
  return `${baseUrl}${trimmed}?EIO=4&transport=websocket`;
}

/**
 * Reads the event name of a `42["name",...]` frame without parsing the rest,
 * because the payment frames are the hot path and most of their bytes are
 * irrelevant to routing.
 */
export function eventNameOf(raw: string): string | undefined {
  // An event may carry an ack id between the type and the array: 42<id>[...]
  let start = 2;
  while (start < raw.length && raw.charCodeAt(start) !== 0x5b /* [ */) start++;
  if (raw.charCodeAt(start + 1) !== 0x22 /* " */) return undefined;
  const end = raw.indexOf('"', start + 2);
  if (end < 0) return undefined;
  return raw.slice(start + 2, end);
}

export function parseEventArgs(raw: string): unknown[] {
  let start = 2;
  while (start < raw.length && raw.charCodeAt(start) !== 0x5b) start++;
  const parsed: unknown = JSON.parse(raw.slice(start));
  if (!Array.isArray(parsed)) throw new Error(`event frame is not an array: ${raw.slice(0, 80)}`);
  return parsed.slice(1);
}

/**
 * A client-to-server frame: FIN, the opcode, the mask bit and a zero masking
 * key. RFC 6455 asks clients for an unpredictable key so that proxies cannot
 * be confused by chosen bytes; between the generator and a local server there
 * is no proxy, and a zero key leaves the payload as it is, with no copy.
 */
export function encodeClientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.alloc(6);
    header[1] = 0x80 | length;
  } else if (length < 0x10000) {
    header = Buffer.alloc(8);
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(14);
    header[1] = 0x80 | 127;
    header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  header[0] = 0x80 | opcode;
  return Buffer.concat([header, payload]);
}

/** What a received server frame carries; only the opcodes a Socket.IO server sends. */
export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/**
 * Splits the server's byte stream into frames. Server frames are unmasked;
 * a chunk may hold several frames and a frame may span chunks.
 */
export class FrameReader {
  private pending: Buffer | undefined;

  /** Returns the whole frames now available; keeps the rest for the next chunk. */
  push(chunk: Buffer): ServerFrame[] {
    let data = chunk;
    if (this.pending !== undefined) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const frames: ServerFrame[] = [];
    let at = 0;
    while (data.length - at >= 2) {
      const first = data[at] as number;
      const second = data[at + 1] as number;
      if ((second & 0x80) !== 0) throw new Error("the server sent a masked frame");
      let length = second & 0x7f;
      let headerLength = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = data.readUInt32BE(at + 2) * 2 ** 32 + data.readUInt32BE(at + 6);
        headerLength = 10;
      }
      if (data.length - at < headerLength + length) break;
      if ((first & 0x80) === 0 || (first & 0x0f) === OP_CONTINUATION) {
        throw new Error("fragmented frames are not expected from a Socket.IO server");
      }
      const start = at + headerLength;
      frames.push({ opcode: first & 0x0f, payload: data.subarray(start, start + length) });
      at = start + length;
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at));
    return frames;
  }
}

const PONG_FRAME = encodeClientFrame(OP_TEXT, Buffer.from(EIO_PONG));
const CONNECT_FRAME = encodeClientFrame(OP_TEXT, Buffer.from(EIO_MESSAGE + SIO_CONNECT));
const DISCONNECT_FRAME = encodeClientFrame(OP_TEXT, Buffer.from(EIO_MESSAGE + SIO_DISCONNECT));
const CLOSE_FRAME = encodeClientFrame(OP_CLOSE, Buffer.alloc(0));

export class EioClient {
  private socket: Socket | undefined;
  private connected = false;
  private closed = false;
  private readonly frames = new FrameReader();

  constructor(
    private readonly options: EioClientOptions,
    private readonly handlers: EioClientHandlers = {},
  ) {}

  get isConnected(): boolean {
    return this.connected;
  }

  /** Resolves once the server confirmed the main namespace (`40{...}`). */
  connect(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 30_000;
    const url = new URL(buildEngineUrl(this.options.baseUrl, this.options.path));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          this.close();
          reject(error);
        } else {
          resolve();
        }
      };
      const timer = setTimeout(() => settle(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);

      const { localAddress, localPort } = this.options;
      const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true, localAddress, localPort });
      this.socket = socket;
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );

      let handshake: Buffer | undefined = Buffer.alloc(0);
      const onText = (frame: string): void => {
        const type = frame[0];
        if (type === EIO_MESSAGE) {
          const sioType = frame[1];
          if (sioType === SIO_EVENT) {
            const name = eventNameOf(frame);
            if (name !== undefined) this.handlers.onEvent?.(name, frame);
          } else if (sioType === SIO_CONNECT) {
            this.connected = true;
            settle();
          } else if (sioType === SIO_CONNECT_ERROR) {
            settle(new Error(`namespace refused: ${frame.slice(2)}`));
          } else if (sioType === SIO_DISCONNECT) {
            this.close("server disconnect");
          }
        } else if (type === EIO_PING) {
          // Engine.IO v4 reverses v3: the server pings and the client must
          // answer, or the server drops it after pingInterval + pingTimeout.
          socket.write(PONG_FRAME);
        } else if (type === EIO_OPEN) {
          // The handshake is fine as is; joining the namespace is ours to ask.
          socket.write(CONNECT_FRAME);
        } else if (type === EIO_CLOSE) {
          this.close("server close");
        }
      };
      const onFrames = (chunk: Buffer): void => {
        for (const { opcode, payload } of this.frames.push(chunk)) {
          if (opcode === OP_TEXT) onText(payload.toString("utf8"));
          else if (opcode === OP_PING) socket.write(encodeClientFrame(OP_PONG, payload));
          else if (opcode === OP_CLOSE) this.close("server close");
        }
      };

      socket.on("data", (chunk: Buffer) => {
        try {
          if (handshake === undefined) {
            onFrames(chunk);
            return;
          }
          handshake = Buffer.concat([handshake, chunk]);
          const end = handshake.indexOf(HEADER_END);
          if (end < 0) {
            if (handshake.length > MAX_HANDSHAKE_BYTES) throw new Error("no end to the upgrade response");
            return;
          }
          const head = handshake.subarray(0, end).toString("latin1");
          const rest = handshake.subarray(end + HEADER_END.length);
          handshake = undefined;
          if (!head.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${head.split("\r\n")[0] ?? ""}`);
          if (!head.includes(HANDSHAKE_ACCEPT)) throw new Error("upgrade answered with the wrong Sec-WebSocket-Accept");
          if (rest.length > 0) onFrames(rest);
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          settle(failure);
          this.close(failure.message);
        }
      });
      socket.on("error", (error: Error) => settle(error));
      socket.on("close", () => {
        settle(new Error("socket closed before namespace connect"));
        this.markClosed("socket closed");
      });
    });
  }

  emit(event: string, ...args: unknown[]): void {
    if (!this.socket || !this.connected) throw new Error("emit before connect");
    this.socket.write(encodeClientFrame(OP_TEXT, Buffer.from(`${EIO_MESSAGE}${SIO_EVENT}${JSON.stringify([event, ...args])}`)));
  }

  close(reason = "client close"): void {
    if (this.closed) return;
    const socket = this.socket;
    if (socket !== undefined && !socket.destroyed) {
      if (this.connected) socket.write(DISCONNECT_FRAME);
      socket.end(CLOSE_FRAME);
      socket.destroySoon();
    }
    this.markClosed(reason);
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.handlers.onClose?.(reason);
  }
}
