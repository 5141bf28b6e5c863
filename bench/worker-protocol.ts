/** Messages between the bench orchestrator and its load-worker processes. */

export interface Subscription {
  trackingId: string;
  since?: number;
}

export type WorkerCommand =
  | {
      type: "connect";
      requestId: number;
      baseUrl: string;
      path: string;
      subscriptions: Subscription[];
      /** Consecutive subscriptions one client makes on its connection (1 unless given). */
      subscriptionsPerClient?: number;
      /** Handshakes in flight at once, so the listen backlog never overflows. */
      concurrency: number;
      timeoutMs: number;
      /** Source address for this worker's connections (see WorkerPool.connect). */
      localAddress?: string;
    }
  | {
      /** Clients that reconnect and resubscribe with `since` when dropped (the reconnect storm). */
      type: "storm-connect";
      requestId: number;
      baseUrl: string;
      path: string;
      trackingIds: string[];
      concurrency: number;
      timeoutMs: number;
      localAddress?: string;
    }
  | { type: "storm-progress"; requestId: number; sinceUs: number }
  | { type: "storm-receipts"; requestId: number }
  | { type: "reset"; requestId: number }
  | { type: "stats"; requestId: number }
  | { type: "disconnect-all"; requestId: number }
  | { type: "clock"; requestId: number; parentNs: string };

export interface ConnectReply {
  type: "connected";
  requestId: number;
  subscribed: number;
  failed: number;
  firstError?: string;
  /** hrtime (ns, as string) of the first handshake start and the last ack. */
  startNs: string;
  endNs: string;
  /** hrtime when the last subscribe was sent; the replay clock starts there. */
  lastSubscribeNs: string;
}

export interface StatsReply {
  type: "stats";
  requestId: number;
  received: number;
  /** Payments whose stamp could not be read, so they have no latency. */
  unstamped: number;
  histogram: { buckets: [number, number][]; maxUs: number };
  cpuUserUs: number;
  cpuSystemUs: number;
  elapsedUs: number;
  firstReceiveNs: string;
  lastReceiveNs: string;
  openConnections: number;
  otherEvents: Record<string, number>;
  closedUnexpectedly: number;
}

export interface StormProgressReply {
  type: "storm-progress";
  requestId: number;
  /** Clients whose latest subscribe was acknowledged after sinceUs. */
  subscribedSince: number;
  /** hrtime µs of the latest of those acks; 0 if none. */
  lastSubscribedUs: number;
  uniqueReceived: number;
}

export interface StormClientReceipts {
  trackingId: string;
  /** [payment id, first arrival in hrtime µs] */
  receipts: [string, number][];
  duplicates: number;
  reconnectAttempts: number;
  /** hrtime µs of the latest subscribe ack; 0 if never acknowledged. */
  subscribedAtUs: number;
}

export interface StormReceiptsReply {
  type: "storm-receipts";
  requestId: number;
  clients: StormClientReceipts[];
}

export type WorkerReply =
  | ConnectReply
  | StormProgressReply
  | StormReceiptsReply
  | StatsReply
  | { type: "done"; requestId: number }
  | { type: "clock"; requestId: number; workerNs: string }
  | { type: "failed"; requestId: number; error: string };
