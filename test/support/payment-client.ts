import { createPaymentClient, type PaymentClient, type PaymentClientOptions } from "../../src/client/payment-client.js";
import { TypedEmitter } from "../../src/client/typed-emitter.js";
import type { ConnectionState, Payment, PaymentClientEvents } from "../../src/client/types.js";
import { collect } from "./wait.js";

/** A subscription handler that records what it was handed and lets a test wait for a count. */
export interface Recorder {
  handler: (payment: Payment) => void;
  items: Payment[];
  offsets(): number[];
  until(count: number, timeoutMs?: number): Promise<Payment[]>;
}

export function recorder(): Recorder {
  const sink = new TypedEmitter<{ payment: (payment: Payment) => void }>();
  const seen = collect<Payment>(sink, "payment");
  return {
    handler: (payment) => sink.emit("payment", payment),
    items: seen.items,
    offsets: () => seen.items.map((payment) => payment.offset),
    until: (count, timeoutMs) => seen.until(count, timeoutMs),
  };
}

type EventValue<E extends keyof PaymentClientEvents> = Parameters<PaymentClientEvents[E]>[0];

/** Resolves with the next client event that satisfies `accept`. */
export function nextClientEvent<E extends keyof PaymentClientEvents>(
  client: PaymentClient,
  event: E,
  accept: (value: EventValue<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<EventValue<E>> {
  return new Promise((resolve, reject) => {
    const listener = (value: EventValue<E>) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    };
    const off = client.on(event, listener as PaymentClientEvents[E]);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for client event "${event}"`));
    }, timeoutMs);
  });
}

/** Resolves once the client is in `state` (at once if it already is). */
export function reachState(client: PaymentClient, state: ConnectionState, timeoutMs = 5000): Promise<unknown> {
  if (client.state === state) return Promise.resolve();
  return nextClientEvent(client, "state", (value) => value === state, timeoutMs);
}

/** Every state the client passes through from now on. */
export function recordStates(client: PaymentClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.on("state", (state) => states.push(state));
  return states;
}

/** Creates clients and closes them all at the end of a test file. */
export function clientFactory(): { create(options: PaymentClientOptions): PaymentClient; closeAll(): void } {
  const clients: PaymentClient[] = [];
  return {
    create(options) {
      const client = createPaymentClient(options);
      clients.push(client);
      return client;
    },
    closeAll() {
      for (const client of clients) client.close();
    },
  };
}
