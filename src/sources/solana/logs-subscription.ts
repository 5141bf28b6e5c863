/**
 * One pub/sub WebSocket connection carrying one `logsSubscribe` for the
 * transactions that mention a program. It does not reconnect by itself: the
 * watcher owns reconnection, because every reconnect must be followed by a
 * backfill of what was missed.
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { z } from "zod";
import type { Commitment } from "./solana-rpc.js";

export interface LogsNotification {
  /** Slot in which the transaction was processed (the notification's context slot). */
  slot: number;
  signature: string;
  /** Null when the transaction succeeded. */
  err: unknown;
  logs: string[];
}

export interface LogsSubscriptionOptions {
  /** ws(s) URL of the node's pub/sub endpoint. */
  url: string;
  /** The address given to `mentions`. */
  address: string;
  commitment: Commitment;
  /**
   * Time allowed for the connection and the subscription reply, in ms.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * Interval between WebSocket pings, in ms; a connection that misses a pong
   * for a whole interval is treated as dead (0 disables).
   * @default 30000
   */
  pingIntervalMs?: number;
  signal?: AbortSignal | undefined;
}

export interface LogsSubscriptionEvents {
  notification: [LogsNotification];
  /** A message that is not a well-formed notification; it was skipped. */
  malformed: [string];
  /** Emitted once, when the connection is gone for any reason. */
  close: [reason: string];
}

const notificationSchema = z.object({
  jsonrpc: z.literal("2.0"),
  method: z.literal("logsNotification"),
  params: z.object({
    subscription: z.number(),
    result: z.object({
      context: z.object({ slot: z.number().int().nonnegative() }),
      value: z.object({
        signature: z.string().min(1),
        err: z.unknown().transform((value) => value ?? null),
        logs: z.array(z.string()).nullish(),
      }),
    }),
  }),
});

const replySchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.number(),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
});

const SUBSCRIBE_REQUEST_ID = 1;

export class LogsSubscription extends EventEmitter<LogsSubscriptionEvents> {
  readonly #ws: WebSocket;
  #subscriptionId: number | undefined;
  #closed = false;
  #pingTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #onReply: ((reply: z.infer<typeof replySchema>) => void) | undefined;

  private constructor(ws: WebSocket) {
    super();
    this.#ws = ws;
    // Attached for the socket's whole life: ws reports an aborted handshake
    // on the next tick, after the connect phase gave up, and an 'error'
    // without a listener would crash the process.
    ws.on("error", (error) => this.#finish(`error: ${error.message}`));
    ws.on("close", (code) => this.#finish(`closed (${code})`));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connects and subscribes; resolves once the node confirmed the subscription. */
  static async open(options: LogsSubscriptionOptions): Promise<LogsSubscription> {
    options.signal?.throwIfAborted();
    const ws = new WebSocket(options.url, { handshakeTimeout: options.connectTimeoutMs ?? 10_000 });
    const subscription = new LogsSubscription(ws);
    await subscription.#subscribe(options);
    return subscription;
  }

  async #subscribe(options: LogsSubscriptionOptions): Promise<void> {
    const ws = this.#ws;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    // One message handler for the connection's whole life: ws may deliver the
    // subscription reply and the first notification in the same tick, and a
    // handler swapped in after the reply would miss that notification.
    ws.on("message", (raw) => this.#onMessage(raw));
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        cleanup();
        ws.terminate();
        reject(error);
      };
      const onAbort = (): void => fail(options.signal?.reason instanceof Error ? options.signal.reason : new Error("aborted"));
      const timer = setTimeout(() => fail(new Error(`logsSubscribe: no reply within ${timeoutMs} ms`)), timeoutMs);
      const onError = (error: Error): void => fail(error);
      const onClose = (code: number): void => fail(new Error(`logsSubscribe: connection closed (${code})`));
      const onOpen = (): void => {
        ws.send(
          JSON.stringify({
            jsonrpc: "2.0",
            id: SUBSCRIBE_REQUEST_ID,
            method: "logsSubscribe",
            params: [{ mentions: [options.address] }, { commitment: options.commitment }],
          }),
        );
      };
      this.#onReply = (reply) => {
        if (reply.error) {
          fail(new Error(`logsSubscribe: ${reply.error.message} (${reply.error.code})`));
        } else if (typeof reply.result !== "number") {
          fail(new Error("logsSubscribe: reply without a subscription id"));
        } else {
          this.#subscriptionId = reply.result;
          cleanup();
          resolve();
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#onReply = undefined;
        options.signal?.removeEventListener("abort", onAbort);
        ws.off("open", onOpen).off("error", onError).off("close", onClose);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      ws.on("open", onOpen).on("error", onError).on("close", onClose);
    });

    this.#startHeartbeat(options.pingIntervalMs ?? 30_000);
  }

  #onMessage(raw: WebSocket.RawData): void {
    const text = raw.toString();
    const json = parseJson(text);
    const parsed = notificationSchema.safeParse(json);
    if (!parsed.success) {
      const reply = replySchema.safeParse(json);
      if (reply.success) {
        if (reply.data.id === SUBSCRIBE_REQUEST_ID) this.#onReply?.(reply.data);
        // Other replies (to our unsubscribe) need no handling.
        return;
      }
      this.emit("malformed", text.slice(0, 200));
      return;
    }
    const { subscription, result } = parsed.data.params;
    if (subscription !== this.#subscriptionId) return;
    this.emit("notification", {
      slot: result.context.slot,
      signature: result.value.signature,
      err: result.value.err,
      logs: result.value.logs ?? [],
    });
  }

  #startHeartbeat(intervalMs: number): void {
    if (intervalMs <= 0) return;
    let alive = true;
    this.#ws.on("pong", () => {
      alive = true;
    });
    this.#pingTimer = setInterval(() => {
      if (!alive) {
        // A half-open TCP connection never reports an error on its own.
        this.#ws.terminate();
        this.#finish("no pong from the node");
        return;
      }
      alive = false;
      this.#ws.ping();
    }, intervalMs);
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.emit("close", reason);
  }

  /**
   * Unsubscribes politely when the connection is open, closes it, and
   * resolves once the socket is gone (terminated if the node does not
   * complete the close handshake in time).
   */
  close(closeTimeoutMs = 1000): Promise<void> {
    this.#closing ??= this.#close(closeTimeoutMs);
    return this.#closing;
  }

  async #close(closeTimeoutMs: number): Promise<void> {
    const ws = this.#ws;
    this.#finish("closed by the watcher");
    if (ws.readyState === WebSocket.CLOSED) return;
    const gone = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    if (ws.readyState === WebSocket.OPEN && this.#subscriptionId !== undefined) {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "logsUnsubscribe", params: [this.#subscriptionId] }));
      ws.close(1000);
    } else if (ws.readyState !== WebSocket.CLOSING) {
      ws.terminate();
    }
    const timer = setTimeout(() => ws.terminate(), closeTimeoutMs);
    await gone;
    clearTimeout(timer);
  }
}

function parseJson(raw: WebSocket.RawData | string): unknown {
  try {
    return JSON.parse(typeof raw === "string" ? raw : raw.toString());
  } catch {
    return undefined;
  }
}
