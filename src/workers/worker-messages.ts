/**
 * Our own messages between the primary and its workers, beside those of
 * Socket.IO's sticky routing, its cluster adapter and prom-client, which
 * share the same IPC channel and ignore types they do not know.
 */
export type WorkerMessage =
  /** The worker takes connections now; the primary listens once every worker has said so. */
  | { type: "tributary:worker-ready" }
  /** The worker wants every worker's metrics, summed. */
  | { type: "tributary:metrics-request"; requestId: number };

export type PrimaryMessage =
  | { type: "tributary:metrics"; requestId: number; text: string }
  | { type: "tributary:metrics"; requestId: number; error: string };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    ((message as { type?: unknown }).type === "tributary:worker-ready" ||
      ((message as { type?: unknown }).type === "tributary:metrics-request" &&
        typeof (message as { requestId?: unknown }).requestId === "number"))
  );
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "tributary:metrics" &&
    typeof (message as { requestId?: unknown }).requestId === "number"
  );
}
