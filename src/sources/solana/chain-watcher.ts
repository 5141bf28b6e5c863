/**
 * The Solana source: turns Tributary's PaymentRecord events into payments.
 *
 * Live events come from `logsSubscribe`; anything the subscription could not
 * deliver (the service was down, the socket dropped) comes from a backfill
 * over `getSignaturesForAddress`, walking back to the checkpoint. Every
 * session runs: subscribe → backfill → live, so nothing lands in between:
 * notifications arriving during the backfill wait in a queue, and are
 * processed after it (duplicates are absorbed by the store's identity rule).
 *
 * The checkpoint only moves after the sink resolved for every payment up to
 * it, and never backwards, so a crash at any point replays, never skips.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { PaymentInput } from "../../payment.js";
import type { PolicyEventInput } from "../../policy-event.js";
import type { PolicyDirectory, PolicyEventSink } from "../../ingest/policy-event-sink.js";
import type { CheckpointStore } from "../checkpoint-store.js";
import type { PaymentSink } from "../../ingest/payment-sink.js";
import type { PaymentSource, SourceState, SourceStatus } from "../payment-source.js";
import { errorMessage } from "../error-message.js";
import { positiveInteger } from "../integer-option.js";
import { SourceLifecycle } from "../source-lifecycle.js";
import { backoffDelay, sleep, validateBackoff, type BackoffOptions } from "../backoff.js";
import { parseCheckpoint, serializeCheckpoint, type ChainCheckpoint } from "./chain-checkpoint.js";
import { LogsSubscription, type LogsNotification } from "./logs-subscription.js";
import { paymentsFromLogs, type ChainItem } from "./payments-from-logs.js";
import { PolicyResolver, type PolicyEventAt } from "./policy-resolver.js";
import { deriveWebSocketUrl } from "./rpc-urls.js";
import { COMMITMENTS, SolanaRpc, type Commitment, type SignatureInfo } from "./solana-rpc.js";
import { createWatcherMetrics, type WatcherMetrics } from "./watcher-metrics.js";
import { TRIBUTARY_PROGRAM_ID } from "../../tributary/program-id.js";

export { TRIBUTARY_PROGRAM_ID } from "../../tributary/program-id.js";

export interface ChainWatcherOptions {
  /** HTTP(S) JSON-RPC URL of the Solana node (`SOLANA_RPC_URL`). */
  rpcUrl: string;
  /**
   * Pub/sub URL (`SOLANA_WS_URL`).
   * @default derived from rpcUrl: ws(s) scheme, an explicit port plus one
   */
  wsUrl?: string | undefined;
  /**
   * The Tributary program (`TRIBUTARY_PROGRAM_ID`).
   * @default "TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ"
   */
  programId?: string | undefined;
  /**
   * Commitment for the subscription and every RPC read (`SOLANA_COMMITMENT`).
   * `finalized` never sees a rolled-back payment but is about 13 s later.
   * @default "confirmed"
   */
  commitment?: Commitment | undefined;
  sink: PaymentSink;
  /**
   * Where policy lifecycle events go, and the policy → tracking ID directory
   * they are attributed with. Without it, policy events are ignored.
   */
  policies?: { sink: PolicyEventSink; directory: PolicyDirectory } | undefined;
  checkpoints: CheckpointStore;
  logger: Logger;
  registry: Registry;
  /**
   * Source name, also the checkpoint key.
   * @default "solana"
   */
  name?: string | undefined;
  /**
   * Where to begin when there is no checkpoint yet. `tip`: payments from now
   * on. `beginning`: the program's whole history, which can be millions of
   * transactions on a busy program, so it must be asked for.
   * @default "tip"
   */
  startFrom?: "tip" | "beginning" | undefined;
  /** HTTP RPC tuning. @default { timeoutMs: 10000, maxAttempts: 6, backoff: { baseDelayMs: 250, maxDelayMs: 10000 } } */
  rpc?: { timeoutMs?: number; maxAttempts?: number; backoff?: BackoffOptions; maxRetryAfterMs?: number } | undefined;
  /** Delays between pub/sub sessions. @default { baseDelayMs: 500, maxDelayMs: 30000 } */
  reconnectBackoff?: BackoffOptions | undefined;
  /** @default 10000 */
  connectTimeoutMs?: number | undefined;
  /** @default 30000 */
  pingIntervalMs?: number | undefined;
  /**
   * How often the tip slot is read for the lag figure, in ms (0 disables).
   * @default 10000
   */
  tipPollIntervalMs?: number | undefined;
  /**
   * Signatures per getSignaturesForAddress page (the node's maximum is 1000).
   * @default 1000
   */
  pageLimit?: number | undefined;
  /**
   * Transactions per sink.ingest call and checkpoint write during a backfill.
   * @default 100
   */
  batchSize?: number | undefined;
  /**
   * getTransaction calls in flight during a backfill.
   * @default 8
   */
  fetchConcurrency?: number | undefined;
  /**
   * Extra tries when the node does not know a listed transaction yet.
   * @default 5
   */
  notFoundRetries?: number | undefined;
}

export interface ChainWatcherEvents {
  state: [SourceState];
  checkpoint: [ChainCheckpoint];
  /** After the sink resolved for these payments. */
  payments: [PaymentInput[]];
  /** After the policy sink resolved for these lifecycle events. */
  policies: [PolicyEventInput[]];
  /** After a backfill caught up; `transactions` is how many it walked. */
  backfilled: [{ transactions: number }];
}

/** One transaction's items, with what placing them on the chain needs. */
interface TransactionItems {
  signature: string;
  slot: number;
  /** Known from getTransaction; read by getBlockTime only when a policy event needs it. */
  blockTime: number | undefined;
  items: ChainItem[];
}

interface SessionProgress {
  live: boolean;
}

export class SolanaChainWatcher extends EventEmitter<ChainWatcherEvents> implements PaymentSource {
  readonly name: string;
  readonly programId: string;
  readonly commitment: Commitment;
  readonly wsUrl: string;
  readonly #rpc: SolanaRpc;
  readonly #sink: PaymentSink;
  readonly #policySink: PolicyEventSink | undefined;
  readonly #resolver: PolicyResolver | undefined;
  readonly #checkpoints: CheckpointStore;
  readonly #log: Logger;
  readonly #metrics: WatcherMetrics;
  readonly #startFrom: "tip" | "beginning";
  readonly #reconnectBackoff: BackoffOptions;
  readonly #notFoundBackoff: BackoffOptions;
  readonly #connectTimeoutMs: number;
  readonly #pingIntervalMs: number;
  readonly #tipPollIntervalMs: number;
  readonly #pageLimit: number;
  readonly #batchSize: number;
  readonly #fetchConcurrency: number;
  readonly #notFoundRetries: number;

  readonly #lifecycle: SourceLifecycle;
  #subscription: LogsSubscription | undefined;
  #queue: LogsNotification[] = [];
  #checkpoint: ChainCheckpoint | undefined;
  #tipSlot: number | undefined;
  #syncedSlot: number | undefined;
  #lastPaymentAt: number | undefined;
  #tipTimer: NodeJS.Timeout | undefined;
  #tipPoll: Promise<void> | undefined;

  constructor(options: ChainWatcherOptions) {
    super();
    this.name = options.name ?? "solana";
    this.#lifecycle = new SourceLifecycle(`Solana watcher "${this.name}"`, (state) => this.emit("state", state));
    this.programId = options.programId ?? TRIBUTARY_PROGRAM_ID;
    this.commitment = options.commitment ?? "confirmed";
    if (!COMMITMENTS.includes(this.commitment)) {
      throw new TypeError(`Expected \`commitment\` to be one of ${COMMITMENTS.join(", ")}, got \`${String(this.commitment)}\``);
    }
    this.#startFrom = options.startFrom ?? "tip";
    if (this.#startFrom !== "tip" && this.#startFrom !== "beginning") {
      throw new TypeError(`Expected \`startFrom\` to be "tip" or "beginning", got \`${String(this.#startFrom)}\``);
    }
    this.wsUrl = options.wsUrl ?? deriveWebSocketUrl(options.rpcUrl);
    if (!/^wss?:\/\//.test(this.wsUrl) || !URL.canParse(this.wsUrl)) {
      // Fail at boot: a bad URL would otherwise only show up as endless reconnects.
      throw new TypeError(`Expected \`wsUrl\` to be a ws(s) URL, got \`${this.wsUrl}\``);
    }
    this.#sink = options.sink;
    this.#checkpoints = options.checkpoints;
    this.#log = options.logger.child({ source: this.name });
    this.#metrics = createWatcherMetrics(options.registry);
    this.#reconnectBackoff = options.reconnectBackoff ?? { baseDelayMs: 500, maxDelayMs: 30_000 };
    validateBackoff(this.#reconnectBackoff, "reconnectBackoff");
    this.#notFoundBackoff = options.rpc?.backoff ?? { baseDelayMs: 250, maxDelayMs: 10_000 };
    this.#connectTimeoutMs = positiveInteger(options.connectTimeoutMs ?? 10_000, "connectTimeoutMs", 1);
    this.#pingIntervalMs = positiveInteger(options.pingIntervalMs ?? 30_000, "pingIntervalMs", 0);
    this.#tipPollIntervalMs = positiveInteger(options.tipPollIntervalMs ?? 10_000, "tipPollIntervalMs", 0);
    this.#pageLimit = positiveInteger(options.pageLimit ?? 1000, "pageLimit", 1);
    if (this.#pageLimit > 1000) throw new TypeError(`Expected \`pageLimit\` to be at most 1000, got \`${this.#pageLimit}\``);
    this.#batchSize = positiveInteger(options.batchSize ?? 100, "batchSize", 1);
    this.#fetchConcurrency = positiveInteger(options.fetchConcurrency ?? 8, "fetchConcurrency", 1);
    this.#notFoundRetries = positiveInteger(options.notFoundRetries ?? 5, "notFoundRetries", 0);
    const rpc = (this.#rpc = new SolanaRpc({
      url: options.rpcUrl,
      timeoutMs: options.rpc?.timeoutMs,
      maxAttempts: options.rpc?.maxAttempts,
      backoff: options.rpc?.backoff,
      maxRetryAfterMs: options.rpc?.maxRetryAfterMs,
      onRetry: (info) => {
        this.#metrics.rpcRetries.inc({ method: info.method });
        this.#log.debug(info, "retrying RPC call");
      },
    }));
    this.#policySink = options.policies?.sink;
    this.#resolver =
      options.policies === undefined
        ? undefined
        : new PolicyResolver({
            directory: options.policies.directory,
            getAccount: (address) => rpc.getAccountInfo(address, this.commitment, this.#lifecycle.signal),
            programId: this.programId,
            metrics: this.#metrics,
            logger: this.#log,
          });
  }

  async start(): Promise<void> {
    const signal = this.#lifecycle.begin();
    try {
      const stored = await this.#checkpoints.readCheckpoint(this.name);
      this.#checkpoint = stored === undefined ? undefined : parseCheckpoint(stored);
    } catch (error) {
      this.#lifecycle.failed(errorMessage(error));
      throw error;
    }
    if (this.#checkpoint) {
      this.#metrics.lastProcessedSlot.set(this.#checkpoint.slot);
      this.#synced(this.#checkpoint.slot);
    }
    this.#log.info(
      { checkpoint: this.#checkpoint, programId: this.programId, commitment: this.commitment, wsUrl: this.wsUrl },
      "starting Solana watcher",
    );
    this.#lifecycle.loop = this.#run(signal);
    this.#scheduleTipPoll(signal);
  }

  async stop(): Promise<void> {
    if (!this.#lifecycle.abort(new Error("watcher stopped"))) return;
    clearTimeout(this.#tipTimer);
    // Wakes a session waiting for notifications; the session itself awaits the socket's end.
    void this.#subscription?.close();
    await this.#lifecycle.loop;
    await this.#tipPoll;
    this.#lifecycle.ended();
  }

  status(): SourceStatus {
    const lag =
      this.#tipSlot === undefined || this.#syncedSlot === undefined
        ? undefined
        : Math.max(0, this.#tipSlot - this.#syncedSlot);
    return { state: this.#lifecycle.state, lag, lastPaymentAt: this.#lastPaymentAt, detail: this.#lifecycle.detail };
  }

  /** The last checkpoint written (or read at start). */
  get checkpoint(): ChainCheckpoint | undefined {
    return this.#checkpoint;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const progress: SessionProgress = { live: false };
      try {
        await this.#session(signal, progress);
        if (!signal.aborted) this.#log.warn("pub/sub connection lost");
      } catch (error) {
        if (signal.aborted) break;
        this.#lifecycle.detail = errorMessage(error);
        this.#log.warn({ err: error }, "Solana watcher session failed");
      }
      if (signal.aborted) break;
      if (progress.live) failures = 0;
      this.#metrics.reconnects.inc();
      this.#lifecycle.set("reconnecting", this.#lifecycle.detail);
      try {
        await sleep(backoffDelay(failures++, this.#reconnectBackoff), signal);
      } catch {
        break;
      }
    }
  }

  /** One pub/sub connection: subscribe, backfill, then live until the connection ends. */
  async #session(signal: AbortSignal, progress: SessionProgress): Promise<void> {
    const subscription = await LogsSubscription.open({
      url: this.wsUrl,
      address: this.programId,
      commitment: this.commitment,
      connectTimeoutMs: this.#connectTimeoutMs,
      pingIntervalMs: this.#pingIntervalMs,
      signal,
    });
    this.#subscription = subscription;
    const queue: LogsNotification[] = [];
    this.#queue = queue;
    let wake: (() => void) | undefined;
    subscription.on("notification", (notification) => {
      queue.push(notification);
      this.#observeTip(notification.slot);
      wake?.();
    });
    subscription.on("malformed", (text) => {
      this.#metrics.logAnomalies.inc({ kind: "malformed_notification" });
      this.#log.warn({ message: text }, "skipped a malformed pub/sub message");
    });
    subscription.on("close", (reason) => {
      this.#lifecycle.detail = `pub/sub ${reason}`;
      wake?.();
    });
    try {
      this.#lifecycle.set("backfilling");
      await this.#backfill(signal);
      progress.live = true;
      this.#lifecycle.detail = undefined;
      this.#lifecycle.set("live");
      for (;;) {
        if (signal.aborted) return;
        const next = queue.shift();
        if (next) {
          await this.#processLive(next);
          continue;
        }
        // Queued notifications are still processed after a close: they are
        // real, and the next session's backfill starts from the checkpoint.
        if (subscription.closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#subscription = undefined;
      await subscription.close();
    }
  }

  async #backfill(signal: AbortSignal): Promise<void> {
    const tip = await this.#rpc.getSlot(this.commitment, signal);
    this.#observeTip(tip);
    if (!this.#checkpoint && this.#startFrom === "tip") {
      const [newest] = await this.#rpc.getSignaturesForAddress(
        this.programId,
        { limit: 1, commitment: this.commitment },
        signal,
      );
      // Written at once, so a restart before the first payment still starts here, not at a later tip.
      await this.#advance(newest ? { signature: newest.signature, slot: newest.slot } : { signature: null, slot: tip });
      this.#log.info({ checkpoint: this.#checkpoint }, "no checkpoint: starting at the tip");
    }
    const history = await this.#missedSignatures(signal);
    for (let at = 0; at < history.length; at += this.#batchSize) {
      const batch = history.slice(at, at + this.#batchSize);
      const found = await mapConcurrent(batch, this.#fetchConcurrency, (entry) =>
        this.#paymentsOfListed(entry, signal),
      );
      await this.#ingestItems(found.filter((tx) => tx !== undefined), signal);
      const last = batch[batch.length - 1];
      if (last) await this.#advance({ signature: last.signature, slot: last.slot });
    }
    this.#synced(tip);
    this.emit("backfilled", { transactions: history.length });
    if (history.length > 0) this.#log.info({ transactions: history.length }, "backfill caught up");
  }

  /** Signatures after the checkpoint, oldest first. */
  async #missedSignatures(signal: AbortSignal): Promise<SignatureInfo[]> {
    const checkpoint = this.#checkpoint;
    const newestFirst: SignatureInfo[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await this.#rpc.getSignaturesForAddress(
        this.programId,
        { before, until: checkpoint?.signature ?? undefined, limit: this.#pageLimit, commitment: this.commitment },
        signal,
      );
      let reached = false;
      for (const entry of page) {
        // `until` only stops at a signature the node knows (a pruned ledger or
        // another node behind a load balancer may not): the slot bounds the walk.
        if (checkpoint && entry.slot < checkpoint.slot) {
          reached = true;
          break;
        }
        newestFirst.push(entry);
      }
      const last = page[page.length - 1];
      if (reached || !last || page.length < this.#pageLimit) break;
      before = last.signature;
    }
    return newestFirst.reverse();
  }

  async #paymentsOfListed(entry: SignatureInfo, signal: AbortSignal): Promise<TransactionItems | undefined> {
    if (entry.err !== null) {
      this.#metrics.transactions.inc({ path: "backfill", outcome: "failed_tx" });
      return undefined;
    }
    for (let attempt = 0; ; attempt++) {
      const tx = await this.#rpc.getTransaction(entry.signature, this.commitment, signal);
      if (tx?.meta) {
        if (tx.meta.err !== null) {
          this.#metrics.transactions.inc({ path: "backfill", outcome: "failed_tx" });
          return undefined;
        }
        if (!tx.meta.logMessages) {
          // Skipping would lose its payments for good; failing the backfill keeps them retryable.
          throw new Error(`getTransaction ${entry.signature}: the node returned no log messages`);
        }
        this.#metrics.transactions.inc({ path: "backfill", outcome: "processed" });
        return {
          signature: entry.signature,
          slot: tx.slot,
          blockTime: tx.blockTime ?? entry.blockTime ?? undefined,
          items: this.#extract(tx.meta.logMessages, entry.signature, tx.slot),
        };
      }
      if (attempt >= this.#notFoundRetries) {
        throw new Error(`getTransaction ${entry.signature}: not available at ${this.commitment} commitment`);
      }
      await sleep(backoffDelay(attempt, this.#notFoundBackoff), signal);
    }
  }

  async #processLive(notification: LogsNotification): Promise<void> {
    if (notification.err !== null) {
      this.#metrics.transactions.inc({ path: "live", outcome: "failed_tx" });
    } else {
      this.#metrics.transactions.inc({ path: "live", outcome: "processed" });
      const items = this.#extract(notification.logs, notification.signature, notification.slot);
      const signal = this.#lifecycle.signal ?? AbortSignal.abort();
      await this.#ingestItems([{ signature: notification.signature, slot: notification.slot, blockTime: undefined, items }], signal);
    }
    await this.#advance({ signature: notification.signature, slot: notification.slot });
    this.#synced(notification.slot);
  }

  #extract(logs: readonly string[], signature: string, slot: number): ChainItem[] {
    const found = paymentsFromLogs(logs, { programId: this.programId, signature, slot });
    if (found.truncated) {
      this.#metrics.logAnomalies.inc({ kind: "truncated" });
      this.#log.warn({ signature }, "transaction log was truncated: PaymentRecord events after the cut are lost");
    }
    if (found.anomalies > 0) {
      this.#metrics.logAnomalies.inc({ kind: "nesting" }, found.anomalies);
      this.#log.warn({ signature, lines: found.anomalies }, "log lines out of invoke nesting");
    }
    for (const skip of found.skipped) {
      this.#metrics.events.inc({ outcome: skip.reason });
      this.#log.warn({ signature, eventIndex: skip.eventIndex, reason: skip.reason, detail: skip.detail }, "skipped a PaymentRecord");
    }
    for (const skip of found.skippedPolicyEvents) {
      this.#metrics.policyEvents.inc({ event: skip.name, outcome: "malformed" });
      this.#log.warn({ signature, eventIndex: skip.eventIndex, detail: skip.detail }, "skipped a policy event");
    }
    return found.items;
  }

  /**
   * Hands the transactions' payments and policy events on in chain order:
   * each run of one kind is stored before the next run starts, so a policy
   * event is stored after the payments that preceded it on chain (its
   * `afterOffset` says so) and before the ones that follow.
   */
  async #ingestItems(transactions: readonly TransactionItems[], signal: AbortSignal): Promise<void> {
    let payments: PaymentInput[] = [];
    let policies: PolicyEventAt[] = [];
    const flushPayments = async (): Promise<void> => {
      if (payments.length === 0) return;
      const run = payments;
      payments = [];
      await this.#resolver?.learnFromPayments(run);
      await this.#ingest(run);
      const completions = (await this.#resolver?.completionsAfter(run)) ?? [];
      if (completions.length > 0 && this.#policySink !== undefined) {
        await this.#policySink.ingestPolicyEvents(completions);
        this.emit("policies", completions);
      }
    };
    const flushPolicies = async (): Promise<void> => {
      if (policies.length === 0) return;
      const run = policies;
      policies = [];
      await this.#ingestPolicies(run);
    };
    for (const tx of transactions) {
      for (const item of tx.items) {
        if (item.kind === "payment") {
          await flushPolicies();
          payments.push(item.payment);
        } else if (this.#resolver !== undefined) {
          await flushPayments();
          tx.blockTime ??= await this.#blockTime(tx.slot, signal);
          policies.push({ ...item.policy, signature: tx.signature, slot: tx.slot, blockTime: tx.blockTime });
        }
      }
    }
    await flushPayments();
    await flushPolicies();
  }

  async #ingestPolicies(events: readonly PolicyEventAt[]): Promise<void> {
    const inputs = (await this.#resolver?.resolve(events)) ?? [];
    if (inputs.length === 0 || this.#policySink === undefined) return;
    await this.#policySink.ingestPolicyEvents(inputs);
    for (const input of inputs) {
      const name = events.find((at) => at.signature === input.signature && at.eventIndex === input.eventIndex)?.event.name;
      this.#metrics.policyEvents.inc({ event: name ?? "unknown", outcome: "ingested" });
    }
    this.emit("policies", inputs);
  }

  /** A live notification carries no block time; the node knows it. Falls back to the server's clock if the node does not. */
  async #blockTime(slot: number, signal: AbortSignal): Promise<number> {
    const time = await this.#rpc.getBlockTime(slot, signal);
    if (time !== null) return time;
    this.#log.warn({ slot }, "the node has no block time for this slot: the server's clock stands in");
    return Math.floor(Date.now() / 1000);
  }

  async #ingest(payments: PaymentInput[]): Promise<void> {
    await this.#sink.ingest(payments);
    this.#metrics.events.inc({ outcome: "ingested" }, payments.length);
    this.#lastPaymentAt = Date.now();
    this.emit("payments", payments);
  }

  async #advance(next: ChainCheckpoint): Promise<void> {
    const current = this.#checkpoint;
    // A late notification from an older slot must not pull the checkpoint back.
    if (current && (next.slot < current.slot || next.signature === current.signature)) return;
    await this.#checkpoints.writeCheckpoint(this.name, serializeCheckpoint(next));
    this.#checkpoint = next;
    this.#metrics.lastProcessedSlot.set(next.slot);
    this.emit("checkpoint", next);
  }

  #observeTip(slot: number): void {
    if (this.#tipSlot === undefined || slot > this.#tipSlot) this.#tipSlot = slot;
    this.#updateLag();
  }

  #synced(slot: number): void {
    if (this.#syncedSlot === undefined || slot > this.#syncedSlot) this.#syncedSlot = slot;
    this.#updateLag();
  }

  #updateLag(): void {
    const lag = this.status().lag;
    if (lag !== undefined) this.#metrics.lagSlots.set(lag);
  }

  #scheduleTipPoll(signal: AbortSignal): void {
    if (this.#tipPollIntervalMs === 0 || signal.aborted) return;
    this.#tipTimer = setTimeout(() => {
      this.#tipPoll = this.#pollTip(signal).finally(() => this.#scheduleTipPoll(signal));
    }, this.#tipPollIntervalMs);
  }

  async #pollTip(signal: AbortSignal): Promise<void> {
    try {
      const tip = await this.#rpc.getSlot(this.commitment, signal);
      this.#observeTip(tip);
      // Live with nothing queued: every transaction up to the tip has been
      // notified and handled, so an idle program shows no lag.
      if (this.#lifecycle.state === "live" && this.#queue.length === 0) this.#synced(tip);
    } catch (error) {
      if (!signal.aborted) this.#log.debug({ err: error }, "tip slot poll failed");
    }
  }
}

/** Maps with at most `limit` calls in flight, keeping input order; stops taking new items after a failure. */
async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
