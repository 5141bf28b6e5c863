import type { Registry } from "prom-client";

/**
 * What /metrics and /v1/stats read: this process's registry, or with worker
 * processes, every worker's registry summed by the primary. Both routes read
 * the exposition text, so the two can never disagree.
 */
export interface MetricsView {
  readonly contentType: string;
  text(): Promise<string>;
}

export function registryMetricsView(registry: Registry): MetricsView {
  return { contentType: registry.contentType, text: () => registry.metrics() };
}

/** The sum of every sample of one metric (all label sets) in Prometheus exposition text. */
export function sumSamples(exposition: string, name: string): number {
  let total = 0;
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== " " && next !== "{") continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}
