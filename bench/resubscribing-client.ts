/**
 * A generator client that behaves like a well-written application across a
 * server restart: when its connection drops it reconnects with backoff and
 * resubscribes with `since` = the last offset it received, so the service
 * can replay what it missed. It records the first arrival time of every
 * payment id, to count what was lost or received twice.
 */
import { EioClient } from "./eio-client.js";
import type { HandshakeGate } from "./handshake-gate.js";

const ID_MARKER = '"id":"';
const OFFSET_MARKER = '"offset":';
/** The first retry comes after about this long, doubling up to the maximum (socket.io-client waits 1 s to 5 s). */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1000;
const ATTEMPT_TIMEOUT_MS = 10_000;

export interface ResubscribingClientOptions {
  baseUrl: string;
  path: string;
  trackingId: string;
  gate: HandshakeGate;
  localAddress?: string;
  /** A source port per attempt (see WorkerPool.connect). */
  takePort?: () => number;
}

export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The payment's id and offset, read without parsing the frame (the generator's hot path). */
export function idAndOffset(raw: string): { id: string; offset: number } | undefined {
  const at = raw.indexOf(ID_MARKER);
  if (at < 0) return undefined;
  const start = at + ID_MARKER.length;
  const end = raw.indexOf('"', start);
  if (end < 0) return undefined;
  const offsetAt = raw.indexOf(OFFSET_MARKER);
  let offset = 0;
  if (offsetAt >= 0) {
    let i = offsetAt + OFFSET_MARKER.length;
    while (i < raw.length && raw.charCodeAt(i) >= 0x30 && raw.charCodeAt(i) <= 0x39) offset = offset * 10 + raw.charCodeAt(i++) - 0x30;
  }
  return { id: raw.slice(start, end), offset };
}

export class ResubscribingClient {
  /** Payment id → first arrival, hrtime µs. */
  readonly receipts = new Map<string, number>();
  duplicates = 0;
  /** Connection attempts after the first subscribe, failed ones included. */
  reconnectAttempts = 0;
  /** hrtime µs of the latest subscribe ack; 0 before the first. */
  subscribedAtUs = 0;
  private lastOffset = 0;
  private client: EioClient | undefined;
  private subscribed = false;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ResubscribingClientOptions) {}

  get trackingId(): string {
    return this.options.trackingId;
  }

  get isSubscribed(): boolean {
    return this.subscribed;
  }

  /** Connects and subscribes once; rejects on failure (no retry for the first subscribe). */
  start(): Promise<void> {
    return this.attempt();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.subscribed = false;
    this.client?.close();
  }

  private onPayment(raw: string): void {
    const payment = idAndOffset(raw);
    if (payment === undefined) return;
    if (this.receipts.has(payment.id)) {
      this.duplicates++;
      return;
    }
    this.receipts.set(payment.id, nowUs());
    if (payment.offset > this.lastOffset) this.lastOffset = payment.offset;
  }

  private async attempt(): Promise<void> {
    await this.options.gate.acquire();
    try {
      await this.connectAndSubscribe();
    } finally {
      this.options.gate.release();
    }
  }

  private async connectAndSubscribe(): Promise<void> {
    let rejectAck: ((error: Error) => void) | undefined;
    let resolveAck: (() => void) | undefined;
    const acked = new Promise<void>((resolve, reject) => {
      resolveAck = resolve;
      rejectAck = reject;
    });
    acked.catch(() => undefined);
    const client = new EioClient(
      {
        baseUrl: this.options.baseUrl,
        path: this.options.path,
        connectTimeoutMs: ATTEMPT_TIMEOUT_MS,
        localAddress: this.options.localAddress,
        localPort: this.options.takePort?.(),
      },
      {
        onEvent: (name, raw) => {
          if (name === "payment") this.onPayment(raw);
          else if (name === "ack") resolveAck?.();
          else if (name === "error") rejectAck?.(new Error(`error instead of the subscribe ack: ${raw.slice(0, 300)}`));
        },
        onClose: (reason) => {
          rejectAck?.(new Error(`closed before the subscribe ack: ${reason}`));
          if (this.client === client && this.subscribed) {
            this.subscribed = false;
            this.scheduleRetry();
          }
        },
      },
    );
    this.client = client;
    let timer: NodeJS.Timeout | undefined;
    try {
      await client.connect();
      // The service replays every stored payment above `since`; the plain server ignores it.
      client.emit("subscribe", { trackingId: this.options.trackingId, since: this.lastOffset });
      await Promise.race([
        acked,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no ack for subscribe")), ATTEMPT_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) {
      client.close();
      return;
    }
    this.subscribed = true;
    this.subscribedAtUs = nowUs();
    this.failures = 0;
  }

  /** Exponential backoff with ±50% jitter, so the clients of one worker do not retry in lockstep. */
  private scheduleRetry(): void {
    if (this.stopped) return;
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures);
    const delay = base * (0.5 + Math.random());
    this.retryTimer = setTimeout(() => {
      this.reconnectAttempts++;
      this.attempt().catch(() => {
        this.failures++;
        this.scheduleRetry();
      });
    }, delay);
  }
}
