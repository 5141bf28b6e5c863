/** The run's results, and their JSON and Markdown forms. */
import type { StepProfile } from "./cpu-profile.js";
import type { ConnectResult } from "./scenarios/connect.js";
import type { FanOutResult } from "./scenarios/fan-out.js";
import type { IngestResult } from "./scenarios/ingest.js";
import type { RateStep } from "./scenarios/rate-steps.js";
import type { ReconnectStormResult } from "./scenarios/reconnect-storm.js";
import type { ReplayResult } from "./scenarios/replay.js";
import type { WebhookBenchResult } from "./scenarios/webhooks.js";
import type { UnicastResult } from "./scenarios/unicast.js";
import { targetsTable } from "./bench-targets.js";

export interface TargetReport {
  name: "service" | "baseline";
  command: string;
  unavailable?: string;
  errors: { scenario: string; message: string }[];
  connect: ConnectResult[];
  unicast?: UnicastResult;
  fanOut: FanOutResult[];
  ingest: IngestResult[];
  ingestNotApplicable?: string;
  replay?: ReplayResult;
  replayNotApplicable?: string;
  webhooks?: WebhookBenchResult;
  webhooksNotApplicable?: string;
  reconnectStorm?: ReconnectStormResult;
}

/** Which cores each side had: as asked for, and as the kernel reported them (Cpus_allowed_list). */
export interface PinningReport {
  serverCores?: string;
  generatorCores?: string;
  unpinnedBecause?: string;
  orchestratorAllowed: string;
  workersAllowed: string[];
  /** Per target, the first server started. */
  serverAllowed: Partial<Record<"service" | "baseline", string>>;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  mode: "quick" | "full";
  machine: Record<string, string | number>;
  method: string[];
  /** Absent in reports written before pinning existed. */
  pinning?: PinningReport;
  generator: { workers: number; maxWorkerCpuPercent: number; maxPublisherCpuPercent: number };
  targets: TargetReport[];
}

export const METHOD_NOTES = [
  "Load: lean clients speaking WebSocket, Engine.IO v4 and Socket.IO v5 by hand over plain TCP sockets (bench/eio-client.ts), spread over forked load-worker processes; payments published over HTTP (POST /v1/payments) from the orchestrator.",
  "Latency: each payment's amount is the publish moment as process.hrtime in µs (CLOCK_MONOTONIC, one clock for all processes on a Linux host; checked at start-up). The receiving worker subtracts it from its own hrtime. So latency = HTTP publish + server work (+ durable store for the service) + delivery. All payments of one request carry the request's stamp.",
  "Pinning (with two or more cores and taskset): the server's whole process tree runs on --server-cores (default 0; `taskset -c`, inherited by its workers and threads), the orchestrator/publisher and the load workers on --generator-cores (default 1 to the last; `taskset -a -p` on the orchestrator before the workers are forked). The cores the kernel reported for each process are in the report's Pinning line.",
  "Unicast: one subscriber per tracking ID, each payment to a random one; the publisher sends what is due every --publish-interval-ms (default 5) as one request. The 5,000/s and 10,000/s steps always run, even past a saturated step (they do not count as kept up with then).",
  "Server cost per step, over the publish window: deliveries per server CPU-second = deliveries received in the window / CPU seconds of the server's process tree (/proc/<pid>/stat, all threads) in the window; bytes written per stored payment = /proc/<pid>/io write_bytes summed over the process tree (threads included: WAL appends and checkpoints of the writer thread) in the window / payments the publisher had acknowledged by the window's end. write_bytes counts pages as they are dirtied, so it is what will reach the disk, not when.",
  "Reconnect storm: clients subscribed one per tracking ID, payments at a steady rate round-robin over them; the server is killed (SIGKILL) and started again on the same port and data directory; each client reconnects (backoff 100 ms doubling to 1 s, ±50% jitter; at most 64 handshakes in flight per load worker, as in the connect scenario) and resubscribes with since = the last offset it received. The publisher retries every unacknowledged request unchanged (same signatures) until acknowledged. Reconnected = last resubscribe ack − kill; caught up = last arrival of any payment acknowledged before the last resubscribe − kill; lost = acknowledged payments a client never received; duplicates = payment ids received more than once.",
  "Delivery steps are open loop: the publisher sends at a fixed rate for the window (unicast: see above; fan-out: per 10 ms tick, ≤ 100 payments per request). delivered/s = all deliveries / max(window, last delivery − window start), so a backlog that drains after the window lowers it; what arrived inside the window alone is kept in the JSON as inWindowPerSec. Latency covers every delivery, drain included. A step is saturated when delivered/s < 90% of offered, p99 > 500 ms, anything is missing after a bounded drain, or publishing fails; stepping stops at the first saturated step.",
  "Memory: fresh server, settle, two forced full GCs over the inspector (HeapProfiler.collectGarbage), read RSS (/proc/<pid>/status) and heapUsed; connect and subscribe N clients; settle, GC, read again; per-connection = delta / N. The RSS delta without the forced GC is kept in the JSON as rssPerConnNoGcKb.",
  "CPU: server from /proc/<pid>/stat (all threads, % of one core) over the publish window; generator from process.cpuUsage in every worker and in the orchestrator (publisher); machine busy % from /proc/stat over all cores (kernel loopback work included), which shows when server and generator compete for the same 2 cores.",
  "Disk per step: from /proc/diskstats for the block device under the server's data directory, over the publish window: busy % = share of the window with I/O in flight (io_ticks), write wait = average ms per completed write request. Both cover every process and, on a virtual machine, what its neighbours make the device wait; when they are high, a group commit's fdatasync waited on the disk and the step's latency says more about the disk than about the server.",
  "Each scenario runs against a freshly started server with an empty database.",
];

function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return "n/a";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function ratio(service: number | undefined, baseline: number | undefined): string {
  if (service === undefined || baseline === undefined || !Number.isFinite(service) || !Number.isFinite(baseline) || baseline === 0) {
    return "—";
  }
  return `${(service / baseline).toFixed(2)}×`;
}

interface Row {
  metric: string;
  service?: number;
  baseline?: number;
  digits?: number;
  serviceText?: string;
  baselineText?: string;
}

function lastSustained(steps: readonly RateStep[] | undefined, rate: number): RateStep | undefined {
  return steps?.find((s) => s.offeredDeliveriesPerSec === rate && !s.saturated);
}

function commonSustainedRate(a: readonly RateStep[] | undefined, b: readonly RateStep[] | undefined): number | undefined {
  const ok = (steps: readonly RateStep[] | undefined): Set<number> =>
    new Set((steps ?? []).filter((s) => !s.saturated).map((s) => s.offeredDeliveriesPerSec));
  const sa = ok(a);
  const sb = ok(b);
  const both = [...sa].filter((r) => sb.has(r));
  return both.length > 0 ? Math.max(...both) : undefined;
}

function summaryRows(report: BenchReport): Row[] {
  const service = report.targets.find((t) => t.name === "service");
  const baseline = report.targets.find((t) => t.name === "baseline");
  const rows: Row[] = [];
  const counts = new Set([...(service?.connect ?? []), ...(baseline?.connect ?? [])].map((c) => c.clients));
  for (const n of [...counts].sort((x, y) => x - y)) {
    const s = service?.connect.find((c) => c.clients === n);
    const b = baseline?.connect.find((c) => c.clients === n);
    const skipped = (r: ConnectResult | undefined): string | undefined => (r?.skipped ? "skipped" : undefined);
    const asked = s?.requested ?? b?.requested;
    const label = asked === undefined ? fmt(n) : `${fmt(n)} (${fmt(asked)} asked; the most this machine holds)`;
    rows.push({ metric: `connect ${label}: connects/s`, service: s?.connectsPerSec, baseline: b?.connectsPerSec, ...opt(skipped(s), skipped(b)) });
    rows.push({ metric: `connect ${label}: server CPU µs/connect`, service: s?.serverCpuUsPerConnect, baseline: b?.serverCpuUsPerConnect, ...opt(skipped(s), skipped(b)) });
    rows.push({ metric: `connect ${label}: RSS KB/conn (after GC)`, service: s?.rssPerConnKb, baseline: b?.rssPerConnKb, digits: 1, ...opt(skipped(s), skipped(b)) });
    rows.push({ metric: `connect ${label}: heap KB/conn (after GC)`, service: s?.heapPerConnKb, baseline: b?.heapPerConnKb, digits: 1, ...opt(skipped(s), skipped(b)) });
  }
  if (service?.unicast || baseline?.unicast) {
    rows.push({ metric: "unicast: peak delivered/s", service: service?.unicast?.peakDeliveredPerSec, baseline: baseline?.unicast?.peakDeliveredPerSec });
    rows.push({ metric: "unicast: highest rate kept up (/s)", service: service?.unicast?.sustainedDeliveriesPerSec, baseline: baseline?.unicast?.sustainedDeliveriesPerSec });
    for (const at of [5000, 10_000]) {
      const s = service?.unicast?.steps.find((step) => step.paymentRate === at);
      const b = baseline?.unicast?.steps.find((step) => step.paymentRate === at);
      if (s === undefined && b === undefined) continue;
      rows.push({ metric: `unicast @ ${fmt(at)}/s: p50 ms`, service: s?.p50Ms, baseline: b?.p50Ms, digits: 2 });
      rows.push({ metric: `unicast @ ${fmt(at)}/s: p99 ms`, service: s?.p99Ms, baseline: b?.p99Ms, digits: 2 });
      rows.push({ metric: `unicast @ ${fmt(at)}/s: deliveries per server CPU-second`, service: s?.deliveriesPerServerCpuSec, baseline: b?.deliveriesPerServerCpuSec });
      rows.push({ metric: `unicast @ ${fmt(at)}/s: server CPU %`, service: s?.serverCpuPercent, baseline: b?.serverCpuPercent });
      rows.push({
        metric: `unicast @ ${fmt(at)}/s: of it on the main thread (event loop) %`,
        service: s?.serverMainThreadCpuPercent,
        baseline: b?.serverMainThreadCpuPercent,
      });
      rows.push({ metric: `unicast @ ${fmt(at)}/s: bytes written per stored payment`, service: s?.writeBytesPerPayment, baseline: b?.writeBytesPerPayment });
    }
  }
  const fanSizes = new Set([...(service?.fanOut ?? []), ...(baseline?.fanOut ?? [])].map((f) => f.subscribersPerId));
  for (const size of [...fanSizes].sort((x, y) => x - y)) {
    const s = service?.fanOut.find((f) => f.subscribersPerId === size);
    const b = baseline?.fanOut.find((f) => f.subscribersPerId === size);
    rows.push({ metric: `fan-out ${fmt(size)} subs/ID: peak deliveries/s`, service: s?.peakDeliveredPerSec, baseline: b?.peakDeliveredPerSec });
    rows.push({ metric: `fan-out ${fmt(size)} subs/ID: highest rate kept up (/s)`, service: s?.sustainedDeliveriesPerSec, baseline: b?.sustainedDeliveriesPerSec });
    const rate = commonSustainedRate(s?.steps, b?.steps);
    if (rate !== undefined) {
      rows.push({ metric: `fan-out ${fmt(size)} @ ${fmt(rate)}/s: p99 ms`, service: lastSustained(s?.steps, rate)?.p99Ms, baseline: lastSustained(b?.steps, rate)?.p99Ms, digits: 2 });
    }
  }
  const batches = new Set([...(service?.ingest ?? [])].map((i) => i.batchSize));
  for (const batch of [...batches].sort((x, y) => x - y)) {
    const s = service?.ingest.find((i) => i.batchSize === batch);
    rows.push({
      metric: `ingest ${batch === 1 ? "single" : `batch ${batch}`}: durable payments/s`,
      service: s?.paymentsPerSec,
      baselineText: "n/a (no storage)",
    });
  }
  if (service?.replay || baseline?.replay || service?.replayNotApplicable) {
    const stored = service?.replay?.stored ?? baseline?.replay?.stored;
    rows.push({
      metric: `replay ${fmt(stored)}: ms to receive all`,
      service: service?.replay?.timeToAllMs,
      ...(service?.replay?.timeToAllMs === undefined ? { serviceText: `n/a (${service?.replay?.notApplicable ?? service?.replayNotApplicable ?? "not run"})` } : {}),
      baselineText: `n/a (${baseline?.replayNotApplicable ?? baseline?.replay?.notApplicable ?? "not run"})`,
      digits: 1,
    });
  }
  if (service?.reconnectStorm || baseline?.reconnectStorm) {
    const s = service?.reconnectStorm;
    const b = baseline?.reconnectStorm;
    const clients = s?.clients ?? b?.clients;
    // A side that lost payments never catches up: say so instead of "n/a".
    const never = (r: ReconnectStormResult | undefined): string | undefined =>
      r !== undefined && r.caughtUpMs === undefined ? `never (${fmt(r.lost)} lost)` : undefined;
    rows.push({ metric: `reconnect storm ${fmt(clients)}: ms from the kill until healthy again`, service: s?.restartMs, baseline: b?.restartMs });
    rows.push({ metric: `reconnect storm ${fmt(clients)}: ms until all resubscribed`, service: s?.reconnectedMs, baseline: b?.reconnectedMs });
    rows.push({ metric: `reconnect storm ${fmt(clients)}: ms until all caught up`, service: s?.caughtUpMs, baseline: b?.caughtUpMs, ...opt(never(s), never(b)) });
    rows.push({ metric: `reconnect storm ${fmt(clients)}: payments lost / acknowledged`, serviceText: lostText(s), baselineText: lostText(b) });
    rows.push({ metric: `reconnect storm ${fmt(clients)}: duplicates`, service: s?.duplicates, baseline: b?.duplicates });
  }
  if (service?.webhooks !== undefined) {
    const w = service.webhooks;
    const na = w.notApplicable === undefined ? {} : { serviceText: `n/a (${w.notApplicable})` };
    rows.push({ metric: `webhooks ${fmt(w.payments)}: deliveries/s`, service: w.deliveriesPerSec, ...na, baselineText: "n/a (no webhooks)" });
    rows.push({ metric: "webhooks: commit → receiver p99 ms", service: w.commitToReceiverP99Ms, ...na, baselineText: "n/a (no webhooks)", digits: 1 });
  }
  return rows;
}

function lostText(r: ReconnectStormResult | undefined): string {
  return r === undefined ? "n/a" : `${fmt(r.lost)} / ${fmt(r.acknowledged)}`;
}

export function pinningLine(pinning: PinningReport | undefined): string {
  if (pinning === undefined) return "Pinning: not recorded.";
  const asked =
    pinning.serverCores === undefined
      ? `not pinned (${pinning.unpinnedBecause ?? "?"})`
      : `server on core(s) ${pinning.serverCores}, generator on ${pinning.generatorCores ?? "?"}`;
  const servers = Object.entries(pinning.serverAllowed)
    .map(([name, cores]) => `${name} ${cores}`)
    .join(", ");
  return `Pinning: ${asked}; the kernel's allowed cores: orchestrator ${pinning.orchestratorAllowed}, load workers ${pinning.workersAllowed.join(" / ")}, servers ${servers || "none started"}.`;
}

function opt(serviceText: string | undefined, baselineText: string | undefined): Partial<Row> {
  return { ...(serviceText ? { serviceText } : {}), ...(baselineText ? { baselineText } : {}) };
}

export function summaryTable(report: BenchReport): string {
  const service = report.targets.find((t) => t.name === "service");
  const serviceHeader = service?.unavailable ? "service (unavailable)" : "service";
  const lines = [`| metric | ${serviceHeader} | baseline | service / baseline |`, "|---|---:|---:|---:|"];
  for (const row of summaryRows(report)) {
    const s = row.serviceText ?? fmt(row.service, row.digits);
    const b = row.baselineText ?? fmt(row.baseline, row.digits);
    lines.push(`| ${row.metric} | ${s} | ${b} | ${ratio(row.service, row.baseline)} |`);
  }
  return lines.join("\n");
}

function stepTable(steps: readonly RateStep[]): string {
  const lines = [
    "| payments/s | offered deliveries/s | delivered/s | p50 ms | p99 ms | p999 ms | max ms | server CPU % | of it main thread % | deliveries / server CPU-s | bytes written / payment | machine busy % | disk busy % (write wait ms) | server RSS MB | worker CPU % | publisher CPU % | note |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
  ];
  for (const s of steps) {
    lines.push(
      `| ${fmt(s.paymentRate)} | ${fmt(s.offeredDeliveriesPerSec)} | ${fmt(s.deliveredPerSec)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ${fmt(s.p999Ms, 2)} | ${fmt(s.maxMs, 1)} | ${fmt(s.serverCpuPercent)} | ${fmt(s.serverMainThreadCpuPercent)} | ${fmt(s.deliveriesPerServerCpuSec)} | ${fmt(s.writeBytesPerPayment)} | ${fmt(s.machineBusyPercent)} | ${s.diskBusyPercent === undefined ? "—" : `${fmt(s.diskBusyPercent)} (${fmt(s.diskWriteAwaitMs, 2)})`} | ${fmt(s.serverRssKb / 1024)} | ${s.workerCpuPercent.map((c) => fmt(c)).join(" / ")} | ${fmt(s.publisherCpuPercent)} | ${s.saturated ? `saturated: ${s.saturationReason ?? ""}` : ""} |`,
    );
  }
  return lines.join("\n");
}

/** With --cpu-profile, each step's main-thread profile: its busy time, the functions with the most self time, and its file. */
function profileLines(steps: ReadonlyArray<{ label: string; profiles: readonly StepProfile[] | undefined }>): string[] {
  const lines: string[] = [];
  for (const { label, profiles } of steps) {
    for (const p of profiles ?? []) {
      const top = p.top.slice(0, 8).map((item) => `${item.name}${item.where === "" ? "" : ` (${item.where})`} ${fmt(item.percentOfBusy, 1)} %`);
      lines.push(`- ${label}, main thread ${fmt(p.busyMs)} ms busy: ${top.join("; ")}. \`${p.file}\``);
    }
  }
  return lines.length === 0 ? [] : ["Main-thread CPU profiles (self time, share of busy time):", "", ...lines, ""];
}

const rateStepProfiles = (steps: readonly RateStep[]) => profileLines(steps.map((s) => ({ label: `${fmt(s.paymentRate)}/s`, profiles: s.cpuProfiles })));

function stormText(r: ReconnectStormResult): string {
  const caught =
    r.caughtUpMs === undefined
      ? "never caught up: some payments acknowledged before the last resubscribe never arrived"
      : `all caught up ${fmt(r.caughtUpMs)} ms after the kill`;
  return (
    `${fmt(r.clients)} clients, ${fmt(r.paymentRate)} payments/s. Killed and restarted: healthy again after ${fmt(r.restartMs)} ms; ` +
    `${fmt(r.resubscribed)} of ${fmt(r.clients)} resubscribed (half after ${fmt(r.reconnectedP50Ms)} ms, nine in ten after ${fmt(r.reconnectedP90Ms)} ms, all after ${fmt(r.reconnectedMs)} ms; ${fmt(r.reconnects)} reconnect attempts); ${caught}. ` +
    `${fmt(r.acknowledged)} payments acknowledged (${fmt(r.acknowledgedBeforeResubscribed)} before the last resubscribe), ` +
    `${fmt(r.lost)} lost, ${fmt(r.duplicates)} duplicates, ${fmt(r.publishRetries)} publish requests retried. ` +
    `The restarted server used ${fmt(r.serverCpuMs)} ms of CPU from its start (start-up included) until every client was back; load workers ${r.workerCpuPercent.map((c) => fmt(c)).join(" / ")} % of a core and the machine ${fmt(r.machineBusyPercent)} % busy from the kill until then.` +
    (r.note === undefined ? "" : ` ${r.note}`)
  );
}

export function renderMarkdown(report: BenchReport): string {
  const out: string[] = [];
  out.push(`# tributary-ws benchmark (${report.mode})`, "");
  out.push(`Run ${report.startedAt} → ${report.finishedAt}.`, "");
  out.push("Machine: " + Object.entries(report.machine).map(([k, v]) => `${k} ${v}`).join(", ") + ".", "");
  out.push(pinningLine(report.pinning), "");
  out.push("## Summary", "", summaryTable(report), "");
  out.push("## Targets", "", targetsTable(report), "");
  out.push(
    "## Generator headroom",
    "",
    `${report.generator.workers} load-worker processes; busiest worker used at most ${fmt(report.generator.maxWorkerCpuPercent)}% of a core during any measured window, the publisher at most ${fmt(report.generator.maxPublisherCpuPercent)}%. Each is single-threaded, so a figure well under 100% means it kept up with what the server sent; on a 2-core machine the generator still competes with the server for CPU.`,
    "",
  );
  for (const t of report.targets) {
    out.push(`## ${t.name}`, "", `Command: \`${t.command}\``, "");
    if (t.unavailable) {
      out.push(`Not run: ${t.unavailable}`, "");
      continue;
    }
    for (const e of t.errors) out.push(`- **${e.scenario} failed:** ${e.message.split("\n")[0] ?? ""}`);
    if (t.errors.length > 0) out.push("");
    if (t.connect.length > 0) {
      out.push(
        "### connect",
        "",
        "| clients | subscribed | failed | connects/s | server CPU % | server CPU µs/connect | generator CPU µs/connect | RSS KB/conn after GC | RSS KB/conn no GC | heap KB/conn | note |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
      );
      for (const c of t.connect) {
        out.push(
          `| ${fmt(c.clients)} | ${fmt(c.subscribed)} | ${fmt(c.failed)} | ${fmt(c.connectsPerSec)} | ${fmt(c.serverCpuPercent)} | ${fmt(c.serverCpuUsPerConnect)} | ${fmt(c.generatorCpuUsPerConnect)} | ${fmt(c.rssPerConnKb, 1)} | ${fmt(c.rssPerConnNoGcKb, 1)} | ${fmt(c.heapPerConnKb, 1)} | ${c.skipped ? `skipped: ${c.skipped}` : c.cappedBy ? `${fmt(c.requested)} asked; ${c.cappedBy}` : (c.firstError ?? "")} |`,
        );
      }
      out.push("", ...profileLines(t.connect.map((c) => ({ label: `${fmt(c.clients)} clients`, profiles: c.cpuProfiles }))));
    }
    if (t.unicast) {
      const shape = t.unicast.publishIntervalMs === undefined ? "" : `, what is due published every ${t.unicast.publishIntervalMs} ms as one request`;
      const ids =
        t.unicast.trackingIds === t.unicast.subscribers
          ? "one per tracking ID"
          : `${fmt(t.unicast.trackingIds)} tracking IDs, one subscriber each`;
      out.push(`### unicast (${fmt(t.unicast.subscribers)} subscribers, ${ids}${shape})`, "", stepTable(t.unicast.steps), "", ...rateStepProfiles(t.unicast.steps));
    }
    for (const f of t.fanOut) {
      out.push(`### fan-out (${f.hotIds} hot IDs × ${fmt(f.subscribersPerId)} subscribers)`, "", stepTable(f.steps), "", ...rateStepProfiles(f.steps));
    }
    if (t.ingest.length > 0) {
      out.push("### ingest", "", "| batch | in flight | payments/s | requests/s | server CPU % | publisher CPU % | failed requests |", "|---:|---:|---:|---:|---:|---:|---:|");
      for (const i of t.ingest) {
        out.push(`| ${i.batchSize} | ${i.concurrency} | ${fmt(i.paymentsPerSec)} | ${fmt(i.requestsPerSec)} | ${fmt(i.serverCpuPercent)} | ${fmt(i.publisherCpuPercent)} | ${i.failedRequests}${i.firstFailure ? ` (${i.firstFailure})` : ""} |`);
      }
      out.push("");
    } else if (t.ingestNotApplicable) {
      out.push(`### ingest`, "", `n/a: ${t.ingestNotApplicable}`, "");
    }
    if (t.replay) {
      out.push(
        "### replay",
        "",
        t.replay.timeToAllMs !== undefined
          ? `${fmt(t.replay.stored)} stored; all received ${fmt(t.replay.timeToAllMs, 1)} ms after subscribe (${fmt(t.replay.paymentsPerSec)}/s).`
          : `n/a: ${t.replay.notApplicable ?? ""} (received ${t.replay.received} of ${t.replay.stored}).`,
        "",
      );
    } else if (t.replayNotApplicable) {
      out.push("### replay", "", `n/a: ${t.replayNotApplicable}`, "");
    }
    if (t.reconnectStorm) out.push("### reconnect storm", "", stormText(t.reconnectStorm), "");
    if (t.webhooks) {
      const w = t.webhooks;
      out.push(
        "### webhooks",
        "",
        w.deliveriesPerSec !== undefined
          ? `${fmt(w.payments)} payments to one endpoint on loopback: ${fmt(w.deliveriesPerSec)} deliveries/s; commit → receiver p50 ${fmt(w.commitToReceiverP50Ms, 1)} ms, p99 ${fmt(w.commitToReceiverP99Ms, 1)} ms, max ${fmt(w.commitToReceiverMaxMs, 1)} ms; ${w.repeats} repeats.`
          : `n/a: ${w.notApplicable ?? ""}`,
        "",
      );
    } else if (t.webhooksNotApplicable) {
      out.push("### webhooks", "", `n/a: ${t.webhooksNotApplicable}`, "");
    }
  }
  out.push("## Method", "", ...report.method.map((m) => `- ${m}`), "");
  return out.join("\n");
}
