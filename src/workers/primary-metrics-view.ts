import { AggregatorRegistry, type Registry } from "prom-client";
import type { MetricsView } from "../metrics-view.js";
import type { PrimaryChannel } from "./primary-channel.js";

/**
 * The metrics view of a worker process: the primary asks every worker for
 * its registry and answers with all of them, so /metrics and /v1/stats
 * describe the node whichever worker took the request.
 */
export function primaryMetricsView(registry: Registry, primary: PrimaryChannel, workerIndex: number): MetricsView {
  // Samples keep their worker, so the sum loses nothing: a per-worker series
  // (connections, CPU) stays readable and a total is one PromQL sum away.
  registry.setDefaultLabels({ worker: String(workerIndex) });
  // prom-client answers the primary's requests from the registries named here;
  // constructing an AggregatorRegistry is what installs that listener.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
  return {
    contentType: registry.contentType,
    text: async () => {
      const text = await primary.ask("metrics");
      if (typeof text !== "string") throw new Error("the primary answered a metrics request with something else");
      return text;
    },
  };
}
