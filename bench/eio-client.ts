/**
 * A lean Socket.IO v5 client speaking Engine.IO v4 over a raw WebSocket.
 *
 * The stock socket.io-client costs about as much CPU per message as the
 * server it talks to, which makes a single machine benchmark measure the
 * client. This client handles only what the benchmark needs: the websocket
 * transport (no polling, no upgrade), the main namespace, text events, and
 * answering heartbeats. Incoming events are handed over as the raw frame so
 * the hot path can skip JSON.parse when it only needs one field.
 */
import WebSocket from "ws";

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

export interface EioClientOptions {
  /** e.g. ws://127.0.0.1:3000 */
  baseUrl: string;
  /** Socket.IO path, e.g. /ws/v1 */
  path: string;
  /** Gives up if the namespace is not joined within this time. */
  connectTimeoutMs?: number;
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

export class EioClient {
  private socket: WebSocket | undefined;
  private connected = false;
  private closed = false;

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

      const socket = new WebSocket(buildEngineUrl(this.options.baseUrl, this.options.path), {
        perMessageDeflate: false,
        // Frames come from a local server under test; validating UTF-8 again
        // would only add client CPU to every delivery.
        skipUTF8Validation: true,
      });
      this.socket = socket;

      socket.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return;
        const frame = typeof data === "string" ? data : data.toString();
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
          socket.send(EIO_PONG);
        } else if (type === EIO_OPEN) {
          // The handshake is fine as is; joining the namespace is ours to ask.
          socket.send(EIO_MESSAGE + SIO_CONNECT);
        } else if (type === EIO_CLOSE) {
          this.close("server close");
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
    this.socket.send(`${EIO_MESSAGE}${SIO_EVENT}${JSON.stringify([event, ...args])}`);
  }

  close(reason = "client close"): void {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(EIO_MESSAGE + SIO_DISCONNECT);
    }
    this.socket?.terminate();
    this.markClosed(reason);
  }

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    this.handlers.onClose?.(reason);
  }
}
