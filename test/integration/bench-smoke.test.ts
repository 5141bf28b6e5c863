/**
 * The load generator speaks Engine.IO/Socket.IO by hand, so a protocol slip
 * would make every bench number wrong rather than fail loudly. This drives
 * the generator's client against the baseline server: connect, subscribe,
 * receive one payment, and read the stamp the latency figure depends on.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startBaselineServer, type BaselineServer } from "../../bench/baseline-server.js";
import { EioClient, parseEventArgs } from "../../bench/eio-client.js";
import type { BenchReport } from "../../bench/bench-report.js";
import { Publisher } from "../../bench/publisher.js";
import bs58 from "bs58";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const API_KEY = "bench-smoke-key";
let server: BaselineServer;

before(async () => {
  server = await startBaselineServer({ port: 0, host: "127.0.0.1", apiKeys: [API_KEY] });
});

after(async () => {
  await server.close();
});

function nextEvent(events: { name: string; raw: string }[], name: string): Promise<{ name: string; raw: string }> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no ${name} event`)), 10_000);
    const poll = setInterval(() => {
      const found = events.find((e) => e.name === name);
      if (found) {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(found);
      }
    }, 5);
  });
}

test("lean client connects, subscribes and receives a published payment", async () => {
  const events: { name: string; raw: string }[] = [];
  const client = new EioClient(
    { baseUrl: `ws://127.0.0.1:${server.port}`, path: "/ws/v1", connectTimeoutMs: 10_000 },
    { onEvent: (name, raw) => events.push({ name, raw }) },
  );
  await client.connect();
  assert.equal(client.isConnected, true);

  client.emit("subscribe", { trackingId: "smoke-1" });
  const ack = await nextEvent(events, "ack");
  const [ackBody] = parseEventArgs(ack.raw) as [{ type: string; data: string }];
  assert.equal(ackBody.type, "ack");
  assert.equal(ackBody.data, "Subscribed to trackingId: smoke-1");

  const publisher = new Publisher(`http://127.0.0.1:${server.port}`, API_KEY, 1);
  const body = publisher.buildBody(["smoke-1"]);
  const response = await publisher.post(body);
  publisher.close();
  assert.equal(response.status, 201);

  const payment = await nextEvent(events, "payment");
  const [envelope] = parseEventArgs(payment.raw) as [
    { type: string; data: { trackingId: string; amountRaw: string; signature: string } },
  ];
  assert.equal(envelope.type, "payment_notification");
  assert.equal(envelope.data.trackingId, "smoke-1");
  const sent = JSON.parse(body) as [{ amount: string; signature: string }];
  assert.equal(envelope.data.amountRaw, sent[0].amount);
  assert.equal(bs58.decode(envelope.data.signature).length, 64);
  client.close();
});

test("generated signatures are distinct, decode to 64 bytes and do not arrive in key order", async () => {
  const { SignatureSource } = await import("../../bench/signature-source.js");
  const source = new SignatureSource();
  const seen = new Set<string>();
  let previous = "";
  let ascending = 0;
  for (let i = 0; i < 5000; i++) {
    const signature = source.next();
    assert.equal(bs58.decode(signature).length, 64);
    seen.add(signature);
    if (signature > previous) ascending++;
    previous = signature;
  }
  assert.equal(seen.size, 5000);
  // Random keys rise about half the time; counted ones always would.
  assert.ok(ascending > 1500 && ascending < 3500, `${ascending} of 5000 rose`);
});

test("client answers heartbeats so the server keeps it", async () => {
  const fast = await startBaselineServer({
    port: 0,
    host: "127.0.0.1",
    apiKeys: [API_KEY],
    pingIntervalMs: 20,
    pingTimeoutMs: 20,
  });
  const closes: string[] = [];
  const client = new EioClient(
    { baseUrl: `ws://127.0.0.1:${fast.port}`, path: "/ws/v1" },
    { onClose: (reason) => closes.push(reason) },
  );
  await client.connect();
  // Many heartbeat periods: a client that never pongs is dropped after one interval plus timeout.
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(closes, []);
  assert.equal(client.isConnected, true);
  client.close();
  await fast.close();
});

test("bench:recovery measures both recovery adapters, and both restore the same packets", async () => {
  const out = mkdtempSync(join(tmpdir(), "recovery-bench-"));
  try {
    const script = fileURLToPath(new URL("../../bench/recovery-buffer.ts", import.meta.url));
    const args = ["--import", "tsx", script, "--payments", "20000", "--behind", "10000", "--sessions", "50", "--out", out];
    await promisify(execFile)(process.execPath, args);
    const [file] = readdirSync(out);
    assert.ok(file !== undefined && file.startsWith("recovery-buffer-"), "a JSON report is written");
    const { results } = JSON.parse(readFileSync(join(out, file), "utf8")) as {
      results: Array<{ adapter: string; heapBytesPerPayment: number; missedPerSession: number }>;
    };
    const [stock, ours] = results;
    assert.equal(stock?.adapter, "stock");
    assert.equal(ours?.adapter, "ours");
    // 10,000 packets behind, round-robin over 5,000 rooms: two for each session's tracking room.
    assert.equal(stock.missedPerSession, 2);
    assert.equal(ours.missedPerSession, 2);
    assert.ok(stock.heapBytesPerPayment > 0 && ours.heapBytesPerPayment > 0);
    assert.ok(ours.heapBytesPerPayment < stock.heapBytesPerPayment, `ours ${ours.heapBytesPerPayment} B, stock ${stock.heapBytesPerPayment} B`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("bench/sorted-runs-index.ts: runs read from another connection give every head the B-tree gives, wherever the filters are checked", async () => {
  const out = mkdtempSync(join(tmpdir(), "sorted-runs-bench-"));
  try {
    const script = fileURLToPath(new URL("../../bench/sorted-runs-index.ts", import.meta.url));
    for (const reader of ["bound", "function", "table-function"]) {
      const report = join(out, `${reader}.json`);
      const args = ["--import", "tsx", script, "--preload", "20000", "--payments", "20000", "--tracking-ids", "5000"];
      args.push("--run-entries", "512", "--fanout", "4", "--reads", "500", "--reader", reader, "--out", report);
      // The script exits non-zero when the variants disagree on an offset or a read.
      await promisify(execFile)(process.execPath, args);
      const { results } = JSON.parse(readFileSync(report, "utf8")) as {
        results: Array<{ variant: string; runsAtEnd: number; otherConnectionDigest: string; otherConnectionHeadReadMicros: number }>;
      };
      const [btree, runs] = results;
      assert.equal(btree?.variant, "btree");
      assert.equal(runs?.variant, "runs");
      assert.ok(runs.runsAtEnd > 1, `${reader}: the heads are spread over ${runs.runsAtEnd} runs`);
      assert.equal(runs.otherConnectionDigest, btree.otherConnectionDigest, reader);
      assert.ok(runs.otherConnectionHeadReadMicros > 0);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("npm run bench -- --quick runs every scenario but the storm on both targets and writes its report", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-quick-"));
  try {
    const script = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, "--quick", "--out", out], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const json = readdirSync(out).find((name) => name.endsWith(".json"));
    assert.ok(json !== undefined, "a JSON report is written");
    assert.ok(readdirSync(out).includes(json.replace(/\.json$/, ".md")), "and its Markdown summary");
    const report = JSON.parse(readFileSync(join(out, json), "utf8")) as BenchReport;
    assert.deepEqual(
      report.targets.map((t) => t.name),
      ["service", "baseline"],
    );
    for (const target of report.targets) {
      assert.deepEqual(target.errors, [], `${target.name} ran every scenario`);
      assert.ok(target.connect.every((c) => (c.subscribed ?? 0) === c.clients && c.clients > 0), `${target.name}: every client subscribed`);
      assert.ok(
        target.connect.every((c) => (c.serverCpuUsPerConnect ?? 0) > 0 && (c.generatorCpuUsPerConnect ?? 0) > 0),
        `${target.name}: CPU per connect measured for the server and the generator`,
      );
      assert.ok((target.unicast?.steps.length ?? 0) > 0, `${target.name}: unicast steps`);
      const at10k = target.unicast?.steps.find((s) => s.paymentRate === 10_000);
      assert.ok(at10k !== undefined, `${target.name}: the 10,000/s unicast step always runs`);
      assert.ok((at10k.deliveriesPerServerCpuSec ?? 0) > 0 && at10k.writeBytesPerPayment !== undefined, `${target.name}: server CPU and disk figures per step`);
      // The thread's and the process's ticks (10 ms) are read one after the other, so over a quick 1 s step the part
      // can come out up to two ticks (2 points) above a whole made almost entirely of it, as plain Socket.IO's is.
      const mainThread = at10k.serverMainThreadCpuPercent ?? 0;
      assert.ok(mainThread > 0 && mainThread <= at10k.serverCpuPercent + 3, `${target.name}: the main thread's part of the server's CPU per step`);
      assert.ok(target.fanOut.length > 0 && target.fanOut.every((f) => f.steps.length > 0), `${target.name}: fan-out steps`);
    }
    const [service, baseline] = report.targets;
    assert.ok((service?.ingest.length ?? 0) > 0 && service?.replay !== undefined, "the service's ingest and replay ran");
    assert.ok(baseline?.ingestNotApplicable !== undefined && baseline.replayNotApplicable !== undefined, "and the baseline says why it has none");
    // The scenarios take turns: the baseline's first connect line comes before the service's unicast line.
    assert.ok(stdout.indexOf("baseline connect") < stdout.indexOf("service  unicast"), "each scenario runs on both targets before the next");
    assert.match(stdout, /\| target \| measured \| met \|/);
    assert.equal(report.targets[0]?.reconnectStorm, undefined, "the storm is left out of --quick unless named");
    // The service stores every payment; the plain server writes nothing per payment.
    const writes = (t: (typeof report.targets)[number] | undefined) => t?.unicast?.steps.find((s) => s.paymentRate === 10_000)?.writeBytesPerPayment ?? Number.NaN;
    assert.ok(writes(service) > 0, `service writes ${writes(service)} bytes per payment`);
    assert.ok(writes(baseline) < 100, `baseline writes ${writes(baseline)} bytes per payment`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("npm run bench -- --quick --unicast-ids-per-client 3 --cpu-profile: each client watches three tracking IDs, each payment reaches one, and each step is profiled", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-ids-"));
  try {
    const script = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
    const profiles = join(out, "profiles");
    const args = ["--import", "tsx", script, "--quick", "--scenarios", "unicast", "--unicast-ids-per-client", "3", "--cpu-profile", profiles, "--out", out];
    await promisify(execFile)(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 });
    const json = readdirSync(out).find((name) => name.endsWith(".json"));
    assert.ok(json !== undefined, "a JSON report is written");
    const report = JSON.parse(readFileSync(join(out, json), "utf8")) as BenchReport;
    for (const target of report.targets) {
      // The scenario fails unless all 900 subscriptions were acknowledged.
      assert.deepEqual(target.errors, [], `${target.name} ran the unicast steps`);
      assert.equal(target.unicast?.subscribers, 300);
      assert.equal(target.unicast?.trackingIds, 900);
      for (const step of target.unicast?.steps ?? []) {
        assert.ok(step.delivered > 0 && step.delivered <= step.expected, `${target.name} at ${step.paymentRate}/s: ${step.delivered} of ${step.expected}`);
        const [profile, ...more] = step.cpuProfiles ?? [];
        assert.ok(profile !== undefined && more.length === 0, `${target.name} at ${step.paymentRate}/s: one profile for its one process`);
        assert.equal(profile.file, join(profiles, `${target.name}-unicast-${step.paymentRate}.cpuprofile`));
        const saved = JSON.parse(readFileSync(profile.file, "utf8")) as { samples?: number[] };
        assert.ok((saved.samples?.length ?? 0) > 0, "the file is a profile with samples");
        assert.ok(profile.busyMs > 0 && profile.top.length > 0 && profile.top.every((item) => item.selfMs > 0), "and the step gives the top of it");
      }
    }
    const markdown = readFileSync(join(out, json.replace(/\.json$/, ".md")), "utf8");
    assert.match(markdown, /### unicast \(300 subscribers, 900 tracking IDs, one subscriber each, /);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("npm run bench -- --quick --scenarios reconnect-storm: the service loses nothing across a SIGKILL restart, pinned where the machine allows", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-storm-"));
  try {
    const script = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, "--quick", "--scenarios", "reconnect-storm", "--out", out], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const json = readdirSync(out).find((name) => name.endsWith(".json"));
    assert.ok(json !== undefined, "a JSON report is written");
    const report = JSON.parse(readFileSync(join(out, json), "utf8")) as BenchReport;
    const [service, baseline] = report.targets;
    assert.deepEqual(service?.errors, []);
    assert.deepEqual(baseline?.errors, []);
    const ours = service?.reconnectStorm;
    const plain = baseline?.reconnectStorm;
    assert.ok(ours !== undefined && plain !== undefined, "both sides ran the storm");
    console.warn(`storm: service ${JSON.stringify(ours)}\nbaseline ${JSON.stringify(plain)}`);
    assert.equal(ours.resubscribed, ours.clients, "every client came back to the service");
    assert.ok(ours.acknowledged > 0 && ours.publishRetries > 0, "payments flowed, and some had to be retried while the server was down");
    assert.equal(ours.lost, 0, "nothing acknowledged is lost");
    assert.equal(ours.duplicates, 0, "since = the last offset seen replays nothing twice");
    assert.equal(ours.unexpected, 0);
    assert.ok(ours.caughtUpMs !== undefined && ours.caughtUpMs >= (ours.reconnectedMs ?? 0) - 1, `caught up ${ours.caughtUpMs} ms`);
    assert.equal(plain.resubscribed, plain.clients, "every client came back to the plain server too");
    assert.match(stdout, /6\. reconnect storm/);
    if (report.pinning?.serverCores !== undefined) {
      assert.equal(report.pinning.serverAllowed.service, report.pinning.serverCores, "the kernel kept the service on its core");
      assert.ok(report.pinning.workersAllowed.every((cores) => cores === report.pinning?.orchestratorAllowed), "load workers inherited the generator's cores");
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("npm run bench -- --service-workers 2 measures the service's worker processes: CPU and heap of the workers, not only the primary", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-workers-"));
  try {
    const script = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
    await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", script, "--quick", "--targets", "service", "--scenarios", "connect", "--service-workers", "2", "--out", out],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const json = readdirSync(out).find((name) => name.endsWith(".json"));
    assert.ok(json !== undefined, "a JSON report is written");
    const report = JSON.parse(readFileSync(join(out, json), "utf8")) as BenchReport;
    const [service] = report.targets;
    assert.equal(service?.command.startsWith("WORKERS=2 "), true, service?.command);
    assert.deepEqual(service?.errors, []);
    const [connect] = service?.connect ?? [];
    assert.ok(connect !== undefined && connect.subscribed === connect.clients && connect.clients > 0, "every client subscribed");
    // The primary alone reads no heap growth: the clients live in the workers.
    assert.ok((connect.heapPerConnKb ?? 0) > 1, `heap per connection ${connect.heapPerConnKb} KB`);
    assert.ok((connect.serverCpuUsPerConnect ?? 0) > 0, "CPU per connect measured");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
