import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { pino, type Logger } from "pino";
import { Registry } from "prom-client";
import { paymentId } from "../../src/payment.js";
import { SolanaChainWatcher, type ChainWatcherOptions } from "../../src/sources/solana/chain-watcher.js";
import { parseCheckpoint, type ChainCheckpoint } from "../../src/sources/solana/chain-checkpoint.js";
import { encodePaymentRecord, randomPubkey, type PaymentRecordInit } from "../support/payment-record-encoder.js";
import { MemoryCheckpointStore, MemorySink } from "../support/memory-sink.js";
import { SolanaRpcStandIn, TOKEN_PROGRAM_ID, type StandInTransaction } from "../support/solana-rpc-stand-in.js";
import {
  PROGRAM_ID,
  executePayment,
  failingPayment,
  setComputeUnitLimit,
  viaOtherProgram,
} from "../support/tributary-instructions.js";
import { nextEvent, nextMatchingEvent } from "../support/wait.js";

const ROUTER = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
const fast = { baseDelayMs: 2, maxDelayMs: 20 };

let node: SolanaRpcStandIn;
let sink: MemorySink;
let checkpoints: MemoryCheckpointStore;
let logLines: string[];
let logger: Logger;
const watchers: SolanaChainWatcher[] = [];

function makeWatcher(overrides: Partial<ChainWatcherOptions> = {}): { watcher: SolanaChainWatcher; registry: Registry } {
  const registry = new Registry();
  const watcher = new SolanaChainWatcher({
    rpcUrl: node.httpUrl,
    wsUrl: node.wsUrl,
    sink,
    checkpoints,
    logger,
    registry,
    rpc: { backoff: fast, timeoutMs: 2000, maxAttempts: 4 },
    reconnectBackoff: fast,
    tipPollIntervalMs: 0,
    pageLimit: 3, // small pages, so paging is exercised with a handful of transactions
    batchSize: 4,
    ...overrides,
  });
  watchers.push(watcher);
  return { watcher, registry };
}

async function startLive(watcher: SolanaChainWatcher): Promise<void> {
  const live = nextMatchingEvent<string>(watcher, "state", (state) => state === "live");
  await watcher.start();
  await live;
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = registry.getSingleMetric(name);
  if (!found) throw new Error(`no metric ${name}`);
  const { values } = await found.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

let memoCounter = 0;
function payment(overrides: Partial<PaymentRecordInit> = {}): PaymentRecordInit {
  return { amount: BigInt(++memoCounter) * 1_000_000n, memo: `track-${memoCounter % 3}`, ...overrides };
}

/** A typical Tributary transaction with `events` payments; returns it with the expected identities. */
function pay(events = 1, extra: { notify?: boolean } = {}): { tx: StandInTransaction; ids: string[] } {
  const tx = node.addTransaction({
    instructions: [setComputeUnitLimit(), executePayment(Array.from({ length: events }, () => payment()))],
    ...extra,
  });
  return { tx, ids: Array.from({ length: events }, (_, i) => paymentId(tx.signature, i)) };
}

function rawCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of sink.received) {
    const id = paymentId(p.signature, p.eventIndex);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

beforeEach(async () => {
  node = await SolanaRpcStandIn.start();
  sink = new MemorySink();
  checkpoints = new MemoryCheckpointStore();
  logLines = [];
  logger = pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) });
});

afterEach(async () => {
  for (const watcher of watchers.splice(0)) await watcher.stop();
  await node.close();
});

describe("SolanaChainWatcher", () => {
  it("delivers live payments with every field, ignoring other programs and failed transactions", async () => {
    const { watcher, registry } = makeWatcher();
    await startLive(watcher);
    assert.equal(watcher.status().state, "live");

    const gateway = randomPubkey();
    const exact = payment({ amount: (1n << 64n) - 1n, memo: "exact", gateway, recordId: 12 });
    const direct = node.addTransaction({ instructions: [setComputeUnitLimit(), executePayment([exact, payment()])] });
    const legacy = node.addTransaction({ instructions: [executePayment([payment({ layout: "legacy", memo: "old" })])] });
    const forged = payment({ memo: "forged" });
    const routed = node.addTransaction({
      instructions: [viaOtherProgram(ROUTER, executePayment([payment({ memo: "routed" })]), forged)],
    });
    const failed = node.addTransaction({ instructions: [failingPayment(payment({ memo: "failed" }))] });
    // Tributary calling a program that emits a PaymentRecord-shaped event of its own.
    const callee = node.addTransaction({
      instructions: [
        {
          programId: PROGRAM_ID,
          steps: [{ invoke: { programId: TOKEN_PROGRAM_ID, steps: [{ data: encodePaymentRecord(forged) }] } }],
        },
      ],
    });
    await nextMatchingEvent<ChainCheckpoint>(watcher, "checkpoint", (cp) => cp.signature === callee.signature);

    assert.deepEqual(
      [...sink.stored.keys()],
      [paymentId(direct.signature, 0), paymentId(direct.signature, 1), paymentId(legacy.signature, 0), paymentId(routed.signature, 0)],
    );
    const first = sink.stored.get(paymentId(direct.signature, 0));
    assert.equal(first?.amount, (1n << 64n) - 1n);
    assert.equal(first?.trackingId, "exact");
    assert.equal(first?.gateway, gateway);
    assert.equal(first?.recordId, 12);
    assert.equal(first?.slot, direct.slot);
    assert.equal(first?.status, "executed");
    assert.equal(first?.timestamp, 1_700_000_000);
    assert.equal(typeof first?.payer, "string");
    assert.equal(sink.stored.get(paymentId(legacy.signature, 0))?.payer, undefined);
    assert.equal(sink.stored.get(paymentId(routed.signature, 0))?.trackingId, "routed");
    assert.ok(![...sink.stored.values()].some((p) => p.trackingId === "forged" || p.signature === failed.signature));
    assert.equal(await metric(registry, "tributary_solana_transactions_total", { outcome: "failed_tx" }), 1);
    assert.deepEqual(parseCheckpoint(checkpoints.values.get("solana") ?? ""), { signature: callee.signature, slot: callee.slot });
  });

  it("starts at the tip by default, or from the beginning when asked", async () => {
    const old = pay(1, { notify: false });
    const { watcher } = makeWatcher();
    await startLive(watcher);
    const fresh = pay(1);
    await sink.untilStored(1);
    assert.deepEqual([...sink.stored.keys()], fresh.ids);
    await watcher.stop();

    const fromStart = new MemoryCheckpointStore();
    const other = new MemorySink();
    const registry = new Registry();
    const full = new SolanaChainWatcher({
      rpcUrl: node.httpUrl, wsUrl: node.wsUrl, sink: other, checkpoints: fromStart, logger, registry,
      startFrom: "beginning", tipPollIntervalMs: 0, pageLimit: 1, reconnectBackoff: fast,
    });
    watchers.push(full);
    await startLive(full);
    assert.deepEqual([...other.stored.keys()], [...old.ids, ...fresh.ids]);
  });

  it("subscribes at the configured commitment", async () => {
    const { watcher } = makeWatcher({ commitment: "finalized" });
    const subscribed = nextEvent<{ address: string | null; commitment: string }>(node, "subscribed");
    await watcher.start();
    const subscription = await subscribed;
    assert.equal(subscription.address, PROGRAM_ID);
    assert.equal(subscription.commitment, "finalized");
  });

  it("stopped mid-stream and restarted with the same checkpoint store: no gap, no duplicate", async () => {
    const expected: string[] = [];
    const { watcher } = makeWatcher();
    await startLive(watcher);
    expected.push(...pay(2).ids);
    await sink.untilStored(2);
    // Keep transactions coming while the watcher stops.
    let producing = true;
    const producer = (async () => {
      while (producing) {
        expected.push(...pay(1 + (expected.length % 3)).ids);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    let storedAtStop: number;
    try {
      await sink.untilStored(8);
      await watcher.stop();
      storedAtStop = sink.stored.size;
      assert.equal(watcher.status().state, "stopped");
      assert.equal(node.subscriptionCount, 0, "unsubscribed on stop");
      for (let i = 0; i < 5; i++) expected.push(...pay(2).ids);
    } finally {
      producing = false;
      await producer;
    }
    assert.ok(expected.length > storedAtStop, "some payments happened while stopped");

    const { watcher: again } = makeWatcher();
    const backfilled = nextEvent(again, "backfilled");
    await again.start();
    await backfilled;
    await sink.untilStored(expected.length);
    assert.deepEqual(new Set(sink.stored.keys()), new Set(expected));
    const duplicated = [...rawCounts()].filter(([, n]) => n > 1);
    assert.deepEqual(duplicated, []);
    // Checkpoints only ever move forward.
    const slots = checkpoints.writes.map((w) => parseCheckpoint(w).slot);
    assert.deepEqual(slots, [...slots].sort((a, b) => a - b));
  });

  it("recovers what happened while the pub/sub connection was down", async () => {
    const { watcher, registry } = makeWatcher();
    await startLive(watcher);
    const before = pay(1);
    await sink.untilStored(1);

    node.acceptingWebSockets = false;
    const reconnecting = nextMatchingEvent<string>(watcher, "state", (state) => state === "reconnecting");
    node.dropConnections();
    await reconnecting;
    const missed = [pay(2), pay(1), node.addTransaction({ instructions: [failingPayment(payment())] }), pay(3)];
    const live = nextMatchingEvent<string>(watcher, "state", (state) => state === "live");
    node.acceptingWebSockets = true;
    await live;
    const after = pay(1);
    const expected = [before, ...missed.filter((m): m is { tx: StandInTransaction; ids: string[] } => "ids" in m), after].flatMap((m) => m.ids);
    await sink.untilStored(expected.length);
    assert.deepEqual([...sink.stored.keys()], expected, "stored in chain order");
    assert.ok((await metric(registry, "tributary_solana_reconnects_total")) >= 1);
    assert.equal(await metric(registry, "tributary_solana_events_total", { outcome: "ingested" }), sink.received.length);
  });

  it("rides out a 429 storm during backfill", async () => {
    const { watcher } = makeWatcher();
    await startLive(watcher);
    await watcher.stop();
    const expected = Array.from({ length: 12 }, () => pay(1, { notify: false })).flatMap((m) => m.ids);
    node.failNextRequests(30, { status: 429, retryAfter: "0" });
    node.failNextRequests(5, { status: 503 });
    node.failNextRequests(10, { status: 429 });

    const { watcher: again, registry } = makeWatcher();
    await again.start();
    await sink.untilStored(expected.length);
    assert.deepEqual([...sink.stored.keys()], expected);
    assert.equal(node.faultsServed.get(429), 40);
    assert.equal(node.faultsServed.get(503), 5);
    assert.ok((await metric(registry, "tributary_solana_rpc_retries_total")) >= 30);
    assert.deepEqual([...rawCounts()].filter(([, n]) => n > 1), []);
  });

  it("skips garbage, counts it, and keeps going", async () => {
    const { watcher, registry } = makeWatcher();
    await startLive(watcher);
    node.sendRaw("not json at all");
    node.sendRaw(JSON.stringify({ jsonrpc: "2.0", method: "logsNotification", params: { subscription: 1 } }));
    const noisy = node.addTransaction({
      instructions: [
        {
          programId: PROGRAM_ID,
          steps: [
            { raw: "Program TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ invoke [9]" },
            { raw: "\u0000\u0001 binary junk" },
            { data: "@@@not-base64@@@" },
            { data: encodePaymentRecord(payment()).subarray(0, 100) },
            { data: encodePaymentRecord(payment({ memo: new Uint8Array(64) })) },
            { data: encodePaymentRecord(payment({ memo: new Uint8Array([0x61, 0xff, 0xfe]) })) },
            { data: encodePaymentRecord(payment({ memo: "ok-after-garbage" })) },
          ],
        },
      ],
    });
    const truncated = node.addTransaction({
      instructions: [executePayment([payment({ memo: "before-cut" }), payment({ memo: "after-cut" })])],
      truncateAfterLines: 7,
    });
    const good = pay(1);
    await nextMatchingEvent<ChainCheckpoint>(watcher, "checkpoint", (cp) => cp.signature === good.tx.signature);

    assert.deepEqual(
      [...sink.stored.values()].map((p) => [p.signature, p.eventIndex, p.trackingId]),
      [
        // Index 3: the base64 garbage is no event; the short record, the empty
        // memo and the invalid memo are events 0-2, skipped.
        [noisy.signature, 3, "ok-after-garbage"],
        [truncated.signature, 0, "before-cut"],
        [good.tx.signature, 0, sink.stored.get(good.ids[0] ?? "")?.trackingId],
      ],
    );
    assert.equal(watcher.status().state, "live");
    assert.equal(await metric(registry, "tributary_solana_events_total", { outcome: "malformed" }), 2);
    assert.equal(await metric(registry, "tributary_solana_events_total", { outcome: "empty_memo" }), 1);
    assert.equal(await metric(registry, "tributary_solana_events_total", { outcome: "invalid_tracking_id" }), 1);
    assert.equal(await metric(registry, "tributary_solana_log_anomalies_total", { kind: "truncated" }), 1);
    assert.equal(await metric(registry, "tributary_solana_log_anomalies_total", { kind: "malformed_notification" }), 2);
    assert.ok(logLines.some((line) => line.includes("skipped a PaymentRecord")));
  });

  it("does not move the checkpoint past payments the sink refused", async () => {
    const { watcher } = makeWatcher();
    await startLive(watcher);
    const first = pay(1);
    await nextMatchingEvent<ChainCheckpoint>(watcher, "checkpoint", (cp) => cp.signature === first.tx.signature);
    const checkpointBefore = checkpoints.values.get("solana");

    sink.failWith = new Error("store is down");
    const reconnecting = nextMatchingEvent<string>(watcher, "state", (state) => state === "reconnecting");
    const refused = pay(2);
    await reconnecting;
    assert.equal(checkpoints.values.get("solana"), checkpointBefore);
    assert.match(watcher.status().detail ?? "", /store is down/);

    const caughtUp = nextMatchingEvent<ChainCheckpoint>(watcher, "checkpoint", (cp) => cp.signature === refused.tx.signature);
    sink.failWith = undefined;
    await caughtUp;
    assert.deepEqual([...sink.stored.keys()], [...first.ids, ...refused.ids]);
    assert.equal(parseCheckpoint(checkpoints.values.get("solana") ?? "").signature, refused.tx.signature);
  });

  it("reports lag in slots while behind, and none once caught up", async () => {
    const { watcher } = makeWatcher();
    await startLive(watcher);
    await watcher.stop();
    const checkpointSlot = watcher.checkpoint?.slot ?? 0;
    for (let i = 0; i < 3; i++) pay(1, { notify: false });
    node.advanceSlot(20);

    let release = (): void => {};
    sink.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { watcher: again } = makeWatcher();
    const ingesting = nextEvent(sink, "ingesting");
    await again.start();
    await ingesting;
    assert.equal(again.status().state, "backfilling");
    assert.equal(again.status().lag, node.slot - checkpointSlot);
    assert.ok((again.status().lag ?? 0) >= 23);

    const backfilled = nextEvent(again, "backfilled");
    release();
    await backfilled;
    assert.equal(again.status().lag, 0);
  });

  it("refuses a corrupt checkpoint instead of guessing", async () => {
    await checkpoints.writeCheckpoint("solana", "{not json");
    const { watcher } = makeWatcher();
    await assert.rejects(watcher.start(), /checkpoint is not JSON/);
    assert.equal(watcher.status().state, "failed");
  });
});

describe("SolanaChainWatcher options", () => {
  it("rejects bad options at construction, naming them", () => {
    const base = {
      rpcUrl: "http://127.0.0.1:8899",
      sink: new MemorySink(),
      checkpoints: new MemoryCheckpointStore(),
      logger: pino({ level: "silent" }),
    };
    assert.throws(() => new SolanaChainWatcher({ ...base, registry: new Registry(), wsUrl: "http://x" }), /`wsUrl`/);
    assert.throws(
      () => new SolanaChainWatcher({ ...base, registry: new Registry(), commitment: "processed" as never }),
      /`commitment`/,
    );
    assert.throws(() => new SolanaChainWatcher({ ...base, registry: new Registry(), pageLimit: 5000 }), /`pageLimit`/);
    const derived = new SolanaChainWatcher({ ...base, registry: new Registry() });
    assert.equal(derived.wsUrl, "ws://127.0.0.1:8900/");
  });
});
