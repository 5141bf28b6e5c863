import { z } from "zod";
import type { ClusterStatus } from "../cluster/cluster-link.js";
import type { SourceStatus } from "../sources/payment-source.js";

/** A node's health as GET /v1/health answers it; built in the wiring, gathered across worker processes by the primary. */
export interface HealthReport {
  /** `degraded` still serves clients (200) but a source or the cluster link is not healthy. */
  status: "ok" | "degraded" | "unavailable" | "draining";
  store: "ok" | "error";
  connections: number;
  cluster: ClusterStatus;
  sources: Record<string, SourceStatus>;
  uptimeSeconds: number;
  /** Webhook endpoints and their backlog, over every node; `error` when the webhook store did not answer. */
  webhooks?: { endpoints: number; disabled: number; backlog: number; oldestPendingAgeSeconds: number } | "error";
  /** With worker processes: how many are configured and how many answered for this report. */
  workers?: { configured: number; answering: number };
}

export const healthReportSchema = z.object({
  status: z
    .enum(["ok", "degraded", "unavailable", "draining"])
    .describe("`degraded`: serving (200), but a source, the cluster link or a worker is not healthy"),
  store: z.enum(["ok", "error"]),
  connections: z.number().int().min(0),
  cluster: z.object({
    state: z.enum(["single", "connected", "disconnected"]),
    shed: z.number().int().min(0).describe("Payments not sent to other nodes because the link was down or backed up"),
  }),
  sources: z.record(
    z.string(),
    z.object({
      state: z.enum(["starting", "backfilling", "live", "reconnecting", "stopped", "failed"]),
      lag: z.number().optional(),
      lastPaymentAt: z.number().optional(),
      detail: z.string().optional(),
    }),
  ),
  uptimeSeconds: z.number().int().min(0),
  webhooks: z
    .union([
      z.object({
        endpoints: z.number().int().min(0),
        disabled: z.number().int().min(0),
        backlog: z.number().int().min(0).describe("Messages waiting for delivery"),
        oldestPendingAgeSeconds: z.number().int().min(0).describe("Age of the oldest waiting message; 0 when none waits"),
      }),
      z.literal("error"),
    ])
    .optional()
    .describe("Webhook endpoints and their backlog, over every node; `error` when the webhook store did not answer"),
  workers: z.object({ configured: z.number().int().min(1), answering: z.number().int().min(0) }).optional(),
});
