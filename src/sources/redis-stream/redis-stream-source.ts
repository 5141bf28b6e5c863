/**
 * The queue source: a Redis Stream read through a consumer group, each entry acknowledged only once its payment is
 * stored. How failures are told apart (dead-letter at once, retry in place, or leave pending): docs/sources.md.
 */
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ServiceError } from "../../errors.js";
import type { PaymentInput } from "../../payment.js";
import type { PaymentSink } from "../../ingest/payment-sink.js";
import type { PaymentSource, SourceState, SourceStatus } from "../payment-source.js";
import { errorMessage } from "../error-message.js";
import { positiveInteger } from "../integer-option.js";
import { SourceLifecycle } from "../source-lifecycle.js";
import { backoffDelay, sleep, validateBackoff, type BackoffOptions } from "../backoff.js";
import { messageText, parseStreamMessage } from "./stream-message.js";
import type { PolicyDirectory, PolicyEventSink } from "../../ingest/policy-event-sink.js";
import { policyInputFromStream } from "./policy-stream-input.js";
import type { PolicyStreamEvent } from "./policy-stream-message.js";
import { ZERO_PUBKEY } from "../../tributary/payment-record.js";
import { createStreamMetrics, type StreamMetrics } from "./stream-metrics.js";

export const DEFAULT_GROUP = "tributary-ws";

export interface RedisStreamSourceOptions {
  /** `REDIS_URL`. */
  url: string;
  /** The stream to consume (`INGEST_REDIS_STREAM`). */
  stream: string;
  /** Consumer group shared by every node (`INGEST_REDIS_GROUP`). @default "tributary-ws" */
  group?: string | undefined;
  /**
   * This node's consumer name (`INGEST_REDIS_CONSUMER`); unique per node.
   * @default "<hostname>-<pid>-<random>"
   */
  consumer?: string | undefined;
  /** Where entries that can never succeed go. @default "<stream>:dead" */
  deadLetterStream?: string | undefined;
  sink: PaymentSink;
  /**
   * Where the indexer's policy lifecycle messages go, and the directory that
   * names their tracking IDs. Without it, they are skipped and counted.
   */
  policies?: { sink: PolicyEventSink; directory: PolicyDirectory } | undefined;
  logger: Logger;
  registry: Registry;
  /** @default "redis-stream" */
  name?: string | undefined;
  /** Deliveries an entry may have before it is dead-lettered (`INGEST_REDIS_MAX_DELIVERIES`). @default 5 */
  maxDeliveries?: number | undefined;
  /**
   * How long (ms) an entry must sit unacknowledged before another consumer
   * may claim it (`INGEST_REDIS_CLAIM_IDLE_MS`). Longer than the slowest
   * healthy store write, or entries are processed twice for nothing.
   * @default 30000
   */
  claimMinIdleMs?: number | undefined;
  /** How often (ms) pending entries are looked at for claiming. @default min(claimMinIdleMs, 10000) */
  claimIntervalMs?: number | undefined;
  /** Entries per read, claim and sink.ingest call (`INGEST_REDIS_BATCH_SIZE`). @default 100 */
  batchSize?: number | undefined;
  /** Longest a read blocks (ms) before the loop looks around again. @default 5000 */
  blockMs?: number | undefined;
  /** How often (ms) XINFO GROUPS is read for the lag figure (0 disables). @default 5000 */
  statusIntervalMs?: number | undefined;
  /** Delays between retries after Redis or the store failed. @default { baseDelayMs: 250, maxDelayMs: 10000 } */
  retryBackoff?: BackoffOptions | undefined;
}

export interface RedisStreamSourceEvents {
  state: [SourceState];
  /** After the sink resolved and the entries were acknowledged. */
  stored: [{ ids: string[]; payments: PaymentInput[] }];
  deadLettered: [{ id: string; reason: DeadLetterReason; detail: string }];
  /** Entries skipped and acknowledged (an empty memo). */
  skipped: [{ id: string; reason: string }];
  /** Entries left pending for a later retry. */
  failed: [{ ids: string[]; kind: FailureKind; error: unknown }];
}

export type DeadLetterReason = "malformed" | "rejected" | "max_deliveries";
type FailureKind = "redis" | "store_unavailable" | "sink_error";

interface Entry {
  id: string;
  fields: string[];
  /** Times Redis has handed this entry to a consumer, this delivery included. */
  deliveries: number;
}

interface ParsedEntry {
  entry: Entry;
  payment: PaymentInput;
}

type RawEntry = [id: string, fields: string[]] | null;

export class RedisStreamSource extends EventEmitter<RedisStreamSourceEvents> implements PaymentSource {
  readonly name: string;
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly deadLetterStream: string;
  readonly #url: string;
  readonly #sink: PaymentSink;
  readonly #policies: RedisStreamSourceOptions["policies"];
  readonly #log: Logger;
  readonly #metrics: StreamMetrics;
  readonly #maxDeliveries: number;
  readonly #claimMinIdleMs: number;
  readonly #claimIntervalMs: number;
  readonly #batchSize: number;
  readonly #blockMs: number;
  readonly #statusIntervalMs: number;
  readonly #retryBackoff: BackoffOptions;

  readonly #lifecycle: SourceLifecycle;
  #lag: number | undefined;
  #lastPaymentAt: number | undefined;
  /** Commands that never block: acks, claims, dead-letters, XINFO. */
  #commands: Redis | undefined;
  /** The blocking XREADGROUP alone, so it never holds up an ack. */
  #reader: Redis | undefined;
  #readerId: number | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #statusRefresh: Promise<void> | undefined;
  #nextClaimAt = 0;

  constructor(options: RedisStreamSourceOptions) {
    super();
    this.name = options.name ?? "redis-stream";
    this.#lifecycle = new SourceLifecycle(`Redis stream source "${this.name}"`, (state) => this.emit("state", state));
    if (options.stream.length === 0) throw new TypeError("Expected `stream` to be a non-empty stream key");
    this.stream = options.stream;
    this.group = options.group ?? DEFAULT_GROUP;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
    this.#policies = options.policies;
    this.deadLetterStream = options.deadLetterStream ?? `${options.stream}:dead`;
    if (this.deadLetterStream === this.stream) throw new TypeError("The dead-letter stream must differ from the stream");
    this.#url = options.url;
    this.#sink = options.sink;
    this.#log = options.logger.child({ source: this.name, stream: this.stream, group: this.group, consumer: this.consumer });
    this.#metrics = createStreamMetrics(options.registry);
    this.#maxDeliveries = positiveInteger(options.maxDeliveries ?? 5, "maxDeliveries", 1);
    this.#claimMinIdleMs = positiveInteger(options.claimMinIdleMs ?? 30_000, "claimMinIdleMs", 1);
    this.#claimIntervalMs = positiveInteger(
      options.claimIntervalMs ?? Math.min(this.#claimMinIdleMs, 10_000),
      "claimIntervalMs",
      1,
    );
    this.#batchSize = positiveInteger(options.batchSize ?? 100, "batchSize", 1);
    this.#blockMs = positiveInteger(options.blockMs ?? 5000, "blockMs", 1);
    this.#statusIntervalMs = positiveInteger(options.statusIntervalMs ?? 5000, "statusIntervalMs", 0);
    this.#retryBackoff = options.retryBackoff ?? { baseDelayMs: 250, maxDelayMs: 10_000 };
    validateBackoff(this.#retryBackoff, "retryBackoff");
  }

  /** Returns at once: Redis being down at boot is an outage to ride out, not a reason to refuse to start. */
  async start(): Promise<void> {
    const signal = this.#lifecycle.begin();
    this.#commands = this.#connection("commands");
    this.#reader = this.#connection("reader");
    this.#reader.on("close", () => {
      this.#readerId = undefined;
    });
    this.#log.info({ deadLetterStream: this.deadLetterStream, maxDeliveries: this.#maxDeliveries }, "starting Redis stream source");
    this.#nextClaimAt = 0;
    this.#lifecycle.loop = this.#run(signal);
    this.#scheduleStatus(signal);
  }

  async stop(): Promise<void> {
    if (!this.#lifecycle.abort(new Error("source stopped"))) return;
    clearTimeout(this.#statusTimer);
    await this.#interruptRead();
    await this.#lifecycle.loop;
    await this.#statusRefresh;
    await this.#leaveGroup();
    await Promise.all([this.#commands, this.#reader].map((connection) => connection?.quit().catch(() => connection.disconnect())));
    this.#commands = undefined;
    this.#reader = undefined;
    this.#lifecycle.ended();
  }

  status(): SourceStatus {
    return { state: this.#lifecycle.state, lag: this.#lag, lastPaymentAt: this.#lastPaymentAt, detail: this.#lifecycle.detail };
  }

  /** Reads XINFO GROUPS now; the lag in {@link status} is otherwise refreshed every `statusIntervalMs`. */
  async refreshStatus(): Promise<void> {
    const commands = this.#commands;
    if (!commands) return;
    const groups = (await commands.xinfo("GROUPS", this.stream)) as unknown[][];
    for (const flat of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
      if (info.get("name") !== this.group) continue;
      const pending = Number(info.get("pending") ?? 0);
      // Redis reports no lag when it cannot tell (after some deletions); pending alone is still a floor.
      const unread = info.get("lag");
      const lag = typeof unread === "number" ? unread : undefined;
      this.#metrics.pending.set(pending);
      if (lag !== undefined) this.#metrics.lag.set(lag);
      this.#lag = (lag ?? 0) + pending;
    }
  }

  #connection(role: string): Redis {
    const connection = new Redis(this.#url, {
      lazyConnect: true,
      // Fail commands quickly during an outage: the loop has its own backoff and reports the state.
      maxRetriesPerRequest: 1,
      connectionName: `tributary-ws:${this.name}:${role}`,
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    let reported = false;
    connection.on("error", (error: Error) => {
      // ioredis repeats the same error on every reconnect attempt; once per outage is enough.
      if (!reported) this.#log.warn({ err: error, role }, "Redis connection error");
      reported = true;
    });
    connection.on("ready", () => {
      reported = false;
    });
    return connection;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.#ensureGroup();
        if (this.#lifecycle.state !== "live") this.#lifecycle.set("live");
        failures = 0;
        await this.#consume(signal);
      } catch (error) {
        if (signal.aborted) break;
        this.#metrics.failures.inc({ kind: "redis" });
        this.#log.warn({ err: error }, "Redis stream read failed; retrying");
        this.#lifecycle.set("reconnecting", `redis: ${errorMessage(error)}`);
        try {
          await sleep(backoffDelay(failures++, this.#retryBackoff), signal);
        } catch {
          break;
        }
      }
    }
  }

  async #ensureGroup(): Promise<void> {
    try {
      // From the stream's start: entries published before the first node came up are payments too.
      await this.#redis().xgroup("CREATE", this.stream, this.group, "0", "MKSTREAM");
      this.#log.info("created the consumer group");
    } catch (error) {
      if (!errorMessage(error).startsWith("BUSYGROUP")) throw error;
    }
  }

  async #consume(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (Date.now() >= this.#nextClaimAt) {
        await this.#claimIdle(signal);
        this.#nextClaimAt = Date.now() + this.#claimIntervalMs;
        continue;
      }
      const block = Math.max(1, Math.min(this.#blockMs, this.#nextClaimAt - Date.now()));
      const entries = await this.#readNew(block);
      if (signal.aborted && entries.length === 0) return;
      if (entries.length === 0) continue;
      this.#metrics.consumed.inc({ via: "read" }, entries.length);
      await this.#process(
        entries.map(([id, fields]) => ({ id, fields, deliveries: 1 })),
        signal,
      );
      // A healthy read after a store outage: the state said otherwise meanwhile.
      if (this.#lifecycle.state !== "live") this.#lifecycle.set("live");
    }
  }

  async #readNew(blockMs: number): Promise<Array<[string, string[]]>> {
    const reader = this.#reader;
    if (!reader) return [];
    this.#readerId ??= Number(await reader.client("ID"));
    const reply = (await reader.xreadgroup(
      "GROUP",
      this.group,
      this.consumer,
      "COUNT",
      this.#batchSize,
      "BLOCK",
      blockMs,
      "STREAMS",
      this.stream,
      ">",
    )) as Array<[string, RawEntry[]]> | null;
    return (reply?.[0]?.[1] ?? []).filter((entry): entry is [string, string[]] => entry !== null);
  }

  /** Takes over entries another consumer (or this one) left unacknowledged for longer than the idle time. */
  async #claimIdle(signal: AbortSignal): Promise<void> {
    let cursor = "0-0";
    // Bounded so that new entries are not starved by a huge backlog of pending ones.
    for (let page = 0; page < 10 && !signal.aborted; page++) {
      const [next, raw] = (await this.#redis().xautoclaim(
        this.stream,
        this.group,
        this.consumer,
        this.#claimMinIdleMs,
        cursor,
        "COUNT",
        this.#batchSize,
      )) as [string, RawEntry[], string[]?];
      const claimed = raw.filter((entry): entry is [string, string[]] => entry !== null);
      if (claimed.length > 0) {
        this.#metrics.consumed.inc({ via: "claim" }, claimed.length);
        const deliveries = await this.#deliveryCounts(claimed.map(([id]) => id));
        this.#log.info({ count: claimed.length }, "claimed idle pending entries");
        const ours: Entry[] = [];
        for (const [id, fields] of claimed) {
          const count = deliveries.get(id);
          // Claimed just now, so only an ack or a claim by another node in between makes it go missing.
          if (count !== undefined) ours.push({ id, fields, deliveries: count });
        }
        await this.#process(ours, signal);
      }
      if (next === "0-0") return;
      cursor = next;
    }
  }

  /** Delivery counts of entries pending for this consumer; an id missing from the answer is no longer ours. */
  async #deliveryCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const pipeline = this.#redis().pipeline();
    for (const id of ids) pipeline.xpending(this.stream, this.group, id, id, 1, this.consumer);
    const replies = (await pipeline.exec()) ?? [];
    const counts = new Map<string, number>();
    for (const [error, reply] of replies) {
      if (error) throw error;
      const [row] = reply as Array<[string, string, number, number]>;
      if (row) counts.set(row[0], Number(row[3]));
    }
    return counts;
  }

  async #process(entries: readonly Entry[], signal: AbortSignal): Promise<void> {
    let valid: ParsedEntry[] = [];
    for (const entry of entries) {
      if (entry.deliveries > this.#maxDeliveries) {
        await this.#deadLetter(entry, "max_deliveries", `delivered ${entry.deliveries - 1} times without being stored`);
        continue;
      }
      const text = messageText(entry.fields);
      if (!text.ok) {
        await this.#deadLetter(entry, "malformed", text.detail);
        continue;
      }
      const parsed = parseStreamMessage(text.text);
      if (parsed.ok && parsed.format === "policy_event") {
        // In stream order: the payments read before it are stored first.
        if (valid.length > 0) await this.#ingest(valid, signal);
        valid = [];
        await this.#ingestPolicy(entry, parsed.policy, signal);
      } else if (parsed.ok) valid.push({ entry, payment: parsed.payment });
      else if (parsed.skip) await this.#skip(entry, parsed.reason, parsed.detail);
      else await this.#deadLetter(entry, "malformed", parsed.detail);
    }
    if (valid.length > 0) await this.#ingest(valid, signal);
  }

  async #ingest(items: ParsedEntry[], signal: AbortSignal): Promise<void> {
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      let outcomes;
      try {
        await this.#learnPolicies(pending.map((item) => item.payment));
        outcomes = await this.#sink.ingest(pending.map((item) => item.payment));
      } catch (error) {
        if (isOutage(error)) {
          this.#failed(pending, "store_unavailable", error);
          this.#lifecycle.set("reconnecting", `store: ${errorMessage(error)}`);
          // Throws once stopped, leaving the entries pending for whoever comes next.
          await sleep(backoffDelay(attempt, this.#retryBackoff), signal);
          pending = await this.#stillOurs(pending);
          if (pending.length === 0) return;
          continue;
        }
        if (pending.length > 1) {
          // A batch is stored all or nothing: find the entry at fault by trying each alone.
          for (const item of pending) await this.#ingest([item], signal);
          return;
        }
        const [item] = pending as [ParsedEntry];
        if (error instanceof ServiceError) {
          await this.#deadLetter(item.entry, "rejected", `${error.code}: ${error.message}`);
        } else {
          this.#failed(pending, "sink_error", error);
        }
        return;
      }
      const ids = pending.map((item) => item.entry.id);
      await this.#redis().xack(this.stream, this.group, ...ids);
      const fresh = outcomes.filter((outcome) => !outcome.duplicate).length;
      this.#metrics.stored.inc(fresh);
      this.#metrics.duplicates.inc(outcomes.length - fresh);
      this.#lastPaymentAt = Date.now();
      this.emit("stored", { ids, payments: pending.map((item) => item.payment) });
      return;
    }
  }

  /** Payments name their policy: remembered, so the policy's later lifecycle messages find their tracking ID. */
  async #learnPolicies(payments: readonly PaymentInput[]): Promise<void> {
    const directory = this.#policies?.directory;
    if (directory === undefined) return;
    const mappings = payments.flatMap((payment) =>
      payment.paymentPolicy === undefined || payment.paymentPolicy === ZERO_PUBKEY
        ? []
        : [{ paymentPolicy: payment.paymentPolicy, trackingId: payment.trackingId, source: "payment" as const }],
    );
    if (mappings.length === 0) return;
    try {
      // A read first: most payments name a policy already known, and a write per batch would contend with the payment writer.
      const known = await directory.lookupPolicies([...new Set(mappings.map((mapping) => mapping.paymentPolicy))]);
      const unknown = mappings.filter((mapping) => !known.has(mapping.paymentPolicy));
      if (unknown.length > 0) await directory.rememberPolicies(unknown);
    } catch (error) {
      this.#log.warn({ err: error }, "could not remember the payments' policies");
      throw new ServiceError("STORE_UNAVAILABLE");
    }
  }

  /**
   * One policy lifecycle message: attributed through its memo or the policy
   * directory, stored, then acknowledged. One the directory cannot place is
   * skipped and counted (the indexer's stream has no account to read); a
   * store outage leaves it pending, to be claimed again.
   */
  async #ingestPolicy(entry: Entry, event: PolicyStreamEvent, signal: AbortSignal): Promise<void> {
    const policies = this.#policies;
    if (policies === undefined) return this.#skip(entry, "policy_events_off", `${event.name} is not ingested by this source`);
    for (let attempt = 0; ; attempt++) {
      try {
        const input = await policyInputFromStream(event, policies.directory);
        if (!input.ok) return await this.#skip(entry, input.reason, input.detail);
        await policies.sink.ingestPolicyEvents([input.event]);
        break;
      } catch (error) {
        if (error instanceof ServiceError && !isOutage(error)) {
          return this.#deadLetter(entry, "rejected", `${error.code}: ${error.message}`);
        }
        // Retried in place, as payments are, so later entries do not overtake it.
        this.#metrics.failures.inc({ kind: "store_unavailable" });
        this.#log.warn({ err: error, ids: [entry.id] }, "could not store a policy event; retrying");
        this.emit("failed", { ids: [entry.id], kind: "store_unavailable", error });
        this.#lifecycle.set("reconnecting", `store: ${errorMessage(error)}`);
        // Throws once stopped, leaving the entry pending for whoever comes next.
        await sleep(backoffDelay(attempt, this.#retryBackoff), signal);
      }
    }
    await this.#redis().xack(this.stream, this.group, entry.id);
    this.#metrics.stored.inc();
    this.#lastPaymentAt = Date.now();
  }

  /** Drops entries that another consumer claimed (or acknowledged) while this one waited for the store. */
  async #stillOurs(items: ParsedEntry[]): Promise<ParsedEntry[]> {
    const ours = await this.#deliveryCounts(items.map((item) => item.entry.id));
    return items.filter((item) => ours.has(item.entry.id));
  }

  #failed(items: readonly ParsedEntry[], kind: FailureKind, error: unknown): void {
    const ids = items.map((item) => item.entry.id);
    this.#metrics.failures.inc({ kind });
    this.#log.warn({ err: error, ids, kind }, "could not store entries; they stay pending for a retry");
    this.emit("failed", { ids, kind, error });
  }

  async #skip(entry: Entry, reason: string, detail: string): Promise<void> {
    await this.#redis().xack(this.stream, this.group, entry.id);
    this.#metrics.skipped.inc({ reason });
    this.#log.warn({ id: entry.id, reason, detail }, "skipped a stream entry");
    this.emit("skipped", { id: entry.id, reason });
  }

  /** Copies the entry to the dead-letter stream and acknowledges it, in one transaction. */
  async #deadLetter(entry: Entry, reason: DeadLetterReason, detail: string): Promise<void> {
    const fields: string[] = [
      "reason",
      reason,
      "detail",
      detail,
      "original_id",
      entry.id,
      "stream",
      this.stream,
      "group",
      this.group,
      "consumer",
      this.consumer,
      "deliveries",
      String(entry.deliveries),
    ];
    for (let i = 0; i + 1 < entry.fields.length; i += 2) fields.push(`original.${entry.fields[i]}`, entry.fields[i + 1] as string);
    const replies = await this.#redis()
      .multi()
      .xadd(this.deadLetterStream, "*", ...fields)
      .xack(this.stream, this.group, entry.id)
      .exec();
    const failure = replies?.find(([error]) => error !== null)?.[0];
    if (failure || replies === null) throw failure ?? new Error("dead-letter transaction was discarded");
    this.#metrics.deadLettered.inc({ reason });
    this.#log.warn({ id: entry.id, reason, detail, deliveries: entry.deliveries }, "moved a stream entry to the dead-letter stream");
    this.emit("deadLettered", { id: entry.id, reason, detail });
  }

  async #interruptRead(): Promise<void> {
    const id = this.#readerId;
    if (id !== undefined) await this.#commands?.client("UNBLOCK", id).catch(() => undefined);
    const loop = this.#lifecycle.loop;
    if (!loop) return;
    // The unblock can arrive just before the read it meant to end; closing the socket then ends it.
    const ended = await Promise.race([loop.then(() => true), delay(250, false)]);
    if (!ended) this.#reader?.disconnect();
  }

  /** Removes this consumer from the group when it holds nothing, so restarts do not pile up names. */
  async #leaveGroup(): Promise<void> {
    const commands = this.#commands;
    if (!commands || commands.status !== "ready") return;
    try {
      const mine = (await commands.xpending(this.stream, this.group, "-", "+", 1, this.consumer)) as unknown[];
      if (mine.length === 0) await commands.xgroup("DELCONSUMER", this.stream, this.group, this.consumer);
    } catch (error) {
      this.#log.debug({ err: error }, "could not remove the consumer from the group");
    }
  }

  #scheduleStatus(signal: AbortSignal): void {
    if (this.#statusIntervalMs === 0 || signal.aborted) return;
    const refresh = () => {
      this.#statusRefresh = this.refreshStatus()
        .catch((error: unknown) => {
          if (!signal.aborted) this.#log.debug({ err: error }, "XINFO GROUPS failed");
        })
        .finally(() => {
          if (!signal.aborted) this.#statusTimer = setTimeout(refresh, this.#statusIntervalMs);
        });
    };
    this.#statusTimer = setTimeout(refresh, 0);
  }

  #redis(): Redis {
    if (!this.#commands) throw new Error(`Redis stream source "${this.name}" is not started`);
    return this.#commands;
  }
}

/** The store is down or draining: every entry would fail alike, so none of them is to blame. */
function isOutage(error: unknown): boolean {
  return error instanceof ServiceError && error.status === 503;
}

