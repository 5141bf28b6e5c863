/**
 * `npm run bench:heap` — what one idle subscribed connection keeps on the
 * heap, by constructor. Starts the target (service or baseline) as the bench
 * does, takes a heap snapshot over its inspector with no clients, connects N
 * lean clients that each subscribe to their own tracking ID, takes a second
 * snapshot, and prints the difference per connection: objects and self bytes
 * per (node type, constructor or function name). The connect scenario says
 * how much; this says what.
 *
 *   npm run bench:heap -- --target service --clients 2000
 *   npm run bench:heap -- --target baseline --top 60
 *   npm run bench:heap -- --target service --by holder      # also by what holds each object
 *   npm run bench:heap -- --target service --save /tmp/svc  # keeps both snapshots for DevTools
 *   npm run bench:heap -- --target service --idle-ms 185000 # second snapshot after the recovery window
 *   npm run bench:heap -- --target service --clients 200 --subscriptions 100  # what each further subscription keeps
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InspectorSession } from "./inspector-session.js";
import { Cleanup } from "./cleanup.js";
import { EioClient } from "./eio-client.js";
import { ServerProcess, type TargetSpec } from "./server-process.js";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SOCKET_PATH = "/ws/v1";

interface Row {
  count: number;
  bytes: number;
}

type Histogram = Map<string, Row>;

interface SnapshotMeta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

interface RawSnapshot {
  snapshot: { meta: SnapshotMeta };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** `kind`: rows by type and name; `holder`: also by the constructor and property that hold each object. */
type GroupBy = "kind" | "holder";

/**
 * One inspector session for both snapshots: V8 forgets its object ids when a
 * session's heap profiler is disabled, so ids compare across snapshots only
 * when they come from the same session (useful when a saved pair is compared).
 */
class Snapshotter {
  private chunks: string[] = [];

  private constructor(private readonly session: InspectorSession) {
    session.on("HeapProfiler.addHeapSnapshotChunk", (params) => {
      const { chunk } = params as { chunk?: string };
      if (chunk !== undefined) this.chunks.push(chunk);
    });
  }

  static async open(inspectPort: number): Promise<Snapshotter> {
    return new Snapshotter(await InspectorSession.open(inspectPort));
  }

  /** A heap snapshot (V8 runs a full GC first), counted by type and name. */
  async take(groupBy: GroupBy, savePath: string | undefined): Promise<{ histogram: Histogram; total: number }> {
    this.chunks = [];
    await this.session.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const text = this.chunks.join("");
    this.chunks = [];
    if (savePath !== undefined) writeFileSync(savePath, text);
    return histogramOf(JSON.parse(text) as RawSnapshot, groupBy);
  }

  close(): void {
    this.session.close();
  }
}

function histogramOf(snapshot: RawSnapshot, groupBy: GroupBy): { histogram: Histogram; total: number } {
  const { meta } = snapshot.snapshot;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const edgeCountAt = fields.indexOf("edge_count");
  const histogram: Histogram = new Map();
  let total = 0;
  const { nodes, edges, strings } = snapshot;
  const kindOf = (i: number): string => {
    const type = types[nodes[i + typeAt] as number] ?? "?";
    const rawName = strings[nodes[i + nameAt] as number] ?? "?";
    // String contents and numbers are data, not kinds: one row per type for those.
    const name =
      type === "string" || type === "concatenated string" || type === "sliced string" || type === "number" ? "" : rawName.slice(0, 60);
    return `${type} ${name}`.trim();
  };
  // One holder per object: the first strong edge found pointing at it, named `constructor.property`.
  const holder = new Map<number, string>();
  if (groupBy === "holder") {
    const edgeWidth = meta.edge_fields.length;
    const edgeTypeAt = meta.edge_fields.indexOf("type");
    const edgeNameAt = meta.edge_fields.indexOf("name_or_index");
    const toAt = meta.edge_fields.indexOf("to_node");
    const edgeTypes = meta.edge_types[0];
    let edge = 0;
    for (let i = 0; i < nodes.length; i += width) {
      const parentType = types[nodes[i + typeAt] as number] ?? "?";
      const parent = parentType === "object" || parentType === "closure" || parentType === "native" || parentType === "synthetic"
        ? (strings[nodes[i + nameAt] as number] ?? "?").slice(0, 40)
        : parentType;
      const count = nodes[i + edgeCountAt] as number;
      for (let e = 0; e < count; e++, edge += edgeWidth) {
        const edgeType = edgeTypes[edges[edge + edgeTypeAt] as number] ?? "?";
        if (edgeType === "weak" || edgeType === "shortcut") continue;
        const to = edges[edge + toAt] as number;
        if (holder.has(to)) continue;
        const raw = edges[edge + edgeNameAt] as number;
        const label = edgeType === "element" || edgeType === "hidden" ? `[${edgeType}]` : (strings[raw] ?? "?").slice(0, 30);
        holder.set(to, `${parent}.${label}`);
      }
    }
  }
  for (let i = 0; i < nodes.length; i += width) {
    const key = groupBy === "holder" ? `${kindOf(i)} <- ${holder.get(i) ?? "(root)"}` : kindOf(i);
    const size = nodes[i + sizeAt] as number;
    total += size;
    const row = histogram.get(key);
    if (row === undefined) histogram.set(key, { count: 1, bytes: size });
    else {
      row.count += 1;
      row.bytes += size;
    }
  }
  return { histogram, total };
}

async function connectClients(server: ServerProcess, clients: number, concurrency: number, subscriptions = 1): Promise<EioClient[]> {
  const connected: EioClient[] = [];
  let next = 0;
  const runOne = async (): Promise<void> => {
    while (next < clients) {
      const index = next++;
      let acknowledged: (() => void) | undefined;
      const client = new EioClient(
        { baseUrl: server.wsBaseUrl, path: SOCKET_PATH },
        { onEvent: (name) => (name === "ack" ? acknowledged?.() : undefined) },
      );
      await client.connect();
      // One after another, each once the last is acknowledged.
      for (let i = 0; i < subscriptions; i++) {
        const acked = new Promise<void>((resolve) => (acknowledged = resolve));
        client.emit("subscribe", { trackingId: `heap-${index}-${i}` });
        await acked;
      }
      connected.push(client);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, runOne));
  return connected;
}

function formatRows(before: Histogram, after: Histogram, clients: number, top: number): string {
  const keys = new Set([...before.keys(), ...after.keys()]);
  const rows = [...keys]
    .map((key) => {
      const a = after.get(key) ?? { count: 0, bytes: 0 };
      const b = before.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (a.count - b.count) / clients, bytes: (a.bytes - b.bytes) / clients };
    })
    .filter((row) => Math.abs(row.bytes) >= 1 || Math.abs(row.count) >= 0.5)
    .sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes))
    .slice(0, top);
  const lines = ["| type and constructor / name | objects per conn | bytes per conn |", "|---|---:|---:|"];
  for (const row of rows) lines.push(`| ${row.key.replaceAll("|", "\\|")} | ${row.count.toFixed(2)} | ${row.bytes.toFixed(0)} |`);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: "string", default: "service" },
      clients: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "50" },
      subscriptions: { type: "string", default: "1" },
      top: { type: "string", default: "40" },
      by: { type: "string", default: "kind" },
      save: { type: "string" },
      "idle-ms": { type: "string", default: "0" },
      "service-cmd": { type: "string", default: "node --import tsx src/main.ts" },
      "service-cwd": { type: "string", default: REPO_ROOT },
    },
  });
  const name = values.target;
  if (name !== "service" && name !== "baseline") throw new Error("--target is service or baseline");
  const clients = Number(values.clients);
  const groupBy = values.by;
  if (groupBy !== "kind" && groupBy !== "holder") throw new Error("--by is kind or holder");
  const target: TargetSpec =
    name === "service"
      ? { name, command: values["service-cmd"].split(" ").filter((arg) => arg.length > 0), cwd: values["service-cwd"], workers: 1 }
      : { name, command: ["node", "--import", "tsx", join(REPO_ROOT, "bench/baseline-server.ts")], cwd: REPO_ROOT, workers: 1 };
  const cleanup = new Cleanup();
  cleanup.installProcessHandlers();
  const server = await ServerProcess.start(target, "heap-per-connection-key", cleanup);
  try {
    // The first snapshot also runs lazily loaded code paths' compilation; a throwaway client warms them.
    const warm = await connectClients(server, 20, 5);
    for (const client of warm) client.close();
    const snapshotter = await Snapshotter.open(server.inspectPort);
    const before = await snapshotter.take(groupBy, values.save && `${values.save}-before.heapsnapshot`);
    const subscriptions = Number(values.subscriptions);
    const connected = await connectClients(server, clients, Number(values.concurrency), subscriptions);
    // What an idle connection costs once per-subscribe state has aged out (the recovery buffer's acks).
    await new Promise((resolve) => setTimeout(resolve, Number(values["idle-ms"])));
    const after = await snapshotter.take(groupBy, values.save && `${values.save}-after.heapsnapshot`);
    snapshotter.close();
    console.log(`${name}: ${connected.length} idle websocket clients, ${subscriptions} subscription(s) each (${target.command.join(" ")})`);
    console.log(`heap snapshot self size: ${(before.total / 1024).toFixed(0)} KB before, ${(after.total / 1024).toFixed(0)} KB after, ` +
      `${((after.total - before.total) / connected.length).toFixed(0)} bytes per connection\n`);
    console.log(formatRows(before.histogram, after.histogram, connected.length, Number(values.top)));
    for (const client of connected) client.close();
  } finally {
    await server.stop();
  }
}

await main();
