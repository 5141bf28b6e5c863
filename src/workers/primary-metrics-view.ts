import { AggregatorRegistry, type Registry } from "prom-client";
import type { MetricsView } from "../metrics-view.js";
import { isPrimaryMessage, type WorkerMessage } from "./worker-messages.js";

/** Longer than prom-client's own 5 s wait for the slowest worker, so its error arrives first. */
const REPLY_TIMEOUT_MS = 6000;

/**
 * The metrics view of a worker process: the primary asks every worker for
 * its registry and answers with all of them, so /metrics and /v1/stats
 * describe the node whichever worker took the request.
 */
export function primaryMetricsView(registry: Registry, channel: NodeJS.Process, workerIndex: number): MetricsView {
  // Samples keep their worker, so the sum loses nothing: a per-worker series
  // (connections, CPU) stays readable and a total is one PromQL sum away.
  registry.setDefaultLabels({ worker: String(workerIndex) });
  // prom-client answers the primary's requests from the registries named here;
  // constructing an AggregatorRegistry is what installs that listener.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();

  let nextRequestId = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  channel.on("message", (message: unknown) => {
    if (!isPrimaryMessage(message)) return;
    const request = pending.get(message.requestId);
    if (request === undefined) return;
    pending.delete(message.requestId);
    if ("text" in message) request.resolve(message.text);
    else request.reject(new Error(`the primary could not gather metrics: ${message.error}`));
  });

  return {
    contentType: registry.contentType,
    text: () =>
      new Promise<string>((resolve, reject) => {
        const requestId = nextRequestId++;
        const timer = setTimeout(() => {
          pending.delete(requestId);
          reject(new Error("the primary did not answer a metrics request"));
        }, REPLY_TIMEOUT_MS);
        pending.set(requestId, {
          resolve: (text) => (clearTimeout(timer), resolve(text)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        const request: WorkerMessage = { type: "tributary:metrics-request", requestId };
        channel.send?.(request);
      }),
  };
}
