/**
 * Our own messages between the primary and its workers, beside those of
 * Socket.IO's cluster adapter and prom-client, which share the same IPC
 * channel and ignore types they do not know.
 */

/** What a worker can ask the primary about the whole node. */
export type NodeTopic = "metrics" | "health";

export type WorkerMessage =
  /** The worker takes connections now; the primary listens once every worker has said so. */
  | { type: "tributary:worker-ready" }
  /** A request about the whole node, answered with `tributary:answer`. */
  | { type: "tributary:ask"; requestId: number; topic: NodeTopic }
  /** This worker's own part of a node-wide answer. */
  | { type: "tributary:probe-answer"; probeId: number; value: unknown };

export type PrimaryMessage =
  /** Comes with a TCP connection handed to the worker: the request bytes the primary already read from it. */
  | { type: "tributary:connection"; data: Uint8Array }
  | { type: "tributary:answer"; requestId: number; value: unknown }
  | { type: "tributary:answer"; requestId: number; error: string }
  /** Asks a worker for its own health report. */
  | { type: "tributary:probe"; probeId: number };

const TOPICS: readonly string[] = ["metrics", "health"] satisfies NodeTopic[];

function fields(message: unknown): Record<string, unknown> | undefined {
  return typeof message === "object" && message !== null ? (message as Record<string, unknown>) : undefined;
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const m = fields(message);
  switch (m?.type) {
    case "tributary:worker-ready":
      return true;
    case "tributary:ask":
      return typeof m.requestId === "number" && TOPICS.includes(m.topic as string);
    case "tributary:probe-answer":
      return typeof m.probeId === "number";
    default:
      return false;
  }
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const m = fields(message);
  switch (m?.type) {
    case "tributary:connection":
      return m.data instanceof Uint8Array;
    case "tributary:answer":
      return typeof m.requestId === "number";
    case "tributary:probe":
      return typeof m.probeId === "number";
    default:
      return false;
  }
}
