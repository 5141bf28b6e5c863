import type { HealthReport } from "../health/health-report.js";

const SEVERITY: Record<HealthReport["status"], number> = { ok: 0, degraded: 1, unavailable: 2, draining: 3 };

/**
 * One health report for a node from its workers' reports: the worst status
 * wins, counts add up, and the sources (which run in one worker) are all
 * there. A worker that did not answer (restarting) leaves the node degraded:
 * it serves, with fewer processes than configured.
 */
export function nodeHealth(reports: readonly HealthReport[], configured: number): HealthReport {
  const worst = reports.reduce<HealthReport["status"]>(
    (status, report) => (SEVERITY[report.status] > SEVERITY[status] ? report.status : status),
    reports.length < configured ? "degraded" : "ok",
  );
  return {
    status: reports.length === 0 ? "unavailable" : worst,
    store: reports.length > 0 && reports.every((report) => report.store === "ok") ? "ok" : "error",
    connections: reports.reduce((total, report) => total + report.connections, 0),
    cluster: {
      state: reports.some((report) => report.cluster.state === "disconnected") ? "disconnected" : (reports[0]?.cluster.state ?? "disconnected"),
      shed: reports.reduce((total, report) => total + report.cluster.shed, 0),
    },
    sources: Object.assign({}, ...reports.map((report) => report.sources)) as HealthReport["sources"],
    uptimeSeconds: Math.max(0, ...reports.map((report) => report.uptimeSeconds)),
    workers: { configured, answering: reports.length },
  };
}
