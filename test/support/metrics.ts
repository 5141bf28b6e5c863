import type { Counter, Gauge } from "prom-client";

/** The current value of a counter or gauge, for the given labels (0 when never touched). */
export async function metricValue(metric: Counter<string> | Gauge<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const found = values.find((value) => wanted.every(([key, label]) => value.labels[key] === label));
  return found?.value ?? 0;
}
