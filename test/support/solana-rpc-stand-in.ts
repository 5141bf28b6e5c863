/**
 * A local stand-in for a Solana RPC node: JSON-RPC 2.0 over HTTP
 * (getTransaction, getSignaturesForAddress, getSlot, getBlockTime,
 * getAccountInfo with base64 encoding) and the pub/sub
 * WebSocket protocol (logsSubscribe, logsUnsubscribe, logsNotification),
 * with the shapes and error codes the node uses. Both are served on one
 * 127.0.0.1 port, as hosted RPC endpoints do.
 *
 * Transactions are described as instruction trees and their logs rendered
 * the way the runtime writes them (invoke depth, consumed, success/failed,
 * CPI nesting, "Log truncated"), so the watcher's log parsing meets the real
 * thing, including its awkward parts.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import bs58 from "bs58";
import { WebSocketServer, type WebSocket } from "ws";
import { randomPubkey } from "./payment-record-encoder.js";

export const SYSTEM_PROGRAM_ID = "11111111111111111111111111111111";
export const COMPUTE_BUDGET_PROGRAM_ID = "ComputeBudget111111111111111111111111111111";
export const TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";

// Builtins run natively and never log compute units consumed.
const BUILTINS = new Set([SYSTEM_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID]);

export type LogStep =
  /** `msg!`: written as `Program log: <text>`. */
  | { log: string }
  /** `sol_log_data` (what Anchor's `emit!` calls): written as `Program data: <base64>`. */
  | { data: Uint8Array | string }
  /** A line written verbatim: garbage the parser must survive. */
  | { raw: string }
  /** A cross-program invocation. */
  | { invoke: Instruction };

export interface Instruction {
  programId: string;
  steps?: LogStep[];
  /** Ends this instruction, and with it the transaction, with `Program <id> failed: <fail>`. */
  fail?: string;
}

export interface TransactionSpec {
  instructions: Instruction[];
  /** Keep only this many log lines, then `Log truncated`, as the runtime does past its byte limit. */
  truncateAfterLines?: number;
  /** @default the next slot */
  slot?: number;
  /**
   * Whether current subscribers are notified; false models a transaction
   * that landed while nobody was listening.
   * @default true
   */
  notify?: boolean;
  /** @default 0 */
  version?: 0 | "legacy";
}

export interface StandInTransaction {
  signature: string;
  slot: number;
  blockTime: number;
  err: unknown;
  logs: string[];
  accountKeys: string[];
  version: 0 | "legacy";
  seq: number;
}

export interface HttpFault {
  status: number;
  /** Sent as Retry-After (seconds). */
  retryAfter?: string;
}

interface Subscriber {
  ws: WebSocket;
  subscriptions: Map<number, string | null>;
}

interface RpcRequest {
  id: unknown;
  method: unknown;
  params: unknown;
}

export interface StandInEvents {
  subscribed: [{ id: number; address: string | null; commitment: string }];
  request: [string];
}

const BASE_BLOCK_TIME = 1_700_000_000;

export class SolanaRpcStandIn extends EventEmitter<StandInEvents> {
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #transactions = new Map<string, StandInTransaction>();
  readonly #ordered: StandInTransaction[] = [];
  readonly #subscribers = new Set<Subscriber>();
  readonly #faults: HttpFault[] = [];
  readonly #accounts = new Map<string, { owner: string; data: Uint8Array }>();
  #slot = 300_000_000;
  #seq = 0;
  #nextSubscriptionId = 1;
  acceptingWebSockets = true;
  /** HTTP requests answered with an injected fault, by status. */
  readonly faultsServed = new Map<number, number>();
  /** JSON-RPC calls answered, by method. */
  readonly calls = new Map<string, number>();

  private constructor() {
    super();
    this.#server = createServer((req, res) => void this.#onHttp(req, res));
    this.#wss = new WebSocketServer({ noServer: true });
    this.#server.on("upgrade", (req, socket, head) => {
      if (!this.acceptingWebSockets) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws));
    });
  }

  static async start(): Promise<SolanaRpcStandIn> {
    const standIn = new SolanaRpcStandIn();
    await new Promise<void>((resolve, reject) => {
      standIn.#server.once("error", reject);
      standIn.#server.listen(0, "127.0.0.1", () => resolve());
    });
    return standIn;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }
  get slot(): number {
    return this.#slot;
  }
  get subscriptionCount(): number {
    let count = 0;
    for (const subscriber of this.#subscribers) count += subscriber.subscriptions.size;
    return count;
  }
  get transactions(): readonly StandInTransaction[] {
    return this.#ordered;
  }

  /** Renders the logs, records the transaction and (unless told not to) notifies subscribers. */
  addTransaction(spec: TransactionSpec): StandInTransaction {
    const slot = spec.slot ?? ++this.#slot;
    if (slot > this.#slot) this.#slot = slot;
    const logs: string[] = [];
    let err: unknown = null;
    for (const [index, instruction] of spec.instructions.entries()) {
      const failure = render(instruction, 1, logs);
      if (failure !== undefined) {
        err = { InstructionError: [index, instructionError(failure)] };
        break;
      }
    }
    if (spec.truncateAfterLines !== undefined && logs.length > spec.truncateAfterLines) {
      logs.length = spec.truncateAfterLines;
      logs.push("Log truncated");
    }
    const programs = new Set<string>();
    for (const instruction of spec.instructions) collectPrograms(instruction, programs);
    const tx: StandInTransaction = {
      signature: bs58.encode(randomBytes(64)),
      slot,
      blockTime: blockTimeOf(slot),
      err,
      logs,
      accountKeys: [randomPubkey(), randomPubkey(), ...programs],
      version: spec.version ?? 0,
      seq: this.#seq++,
    };
    this.#transactions.set(tx.signature, tx);
    this.#ordered.push(tx);
    if (spec.notify !== false) this.#notify(tx);
    return tx;
  }

  /** Creates or overwrites an account, as a transaction of its owner program would. */
  setAccount(address: string, owner: string, data: Uint8Array): void {
    this.#accounts.set(address, { owner, data });
  }

  /** Closes an account: getAccountInfo answers null from now on. */
  closeAccount(address: string): void {
    this.#accounts.delete(address);
  }

  /** Moves the tip without any transaction (empty slots happen). */
  advanceSlot(by = 1): void {
    this.#slot += by;
  }

  /** Answers the next `count` HTTP requests with this status instead of serving them. */
  failNextRequests(count: number, fault: HttpFault): void {
    for (let i = 0; i < count; i++) this.#faults.push(fault);
  }

  get pendingFaults(): number {
    return this.#faults.length;
  }

  /** Cuts every pub/sub connection without a close handshake, as a crashed node or a dead link would. */
  dropConnections(): void {
    for (const subscriber of this.#subscribers) subscriber.ws.terminate();
  }

  /** Sends a raw text frame to every pub/sub connection. */
  sendRaw(text: string): void {
    for (const subscriber of this.#subscribers) subscriber.ws.send(text);
  }

  async close(): Promise<void> {
    for (const subscriber of this.#subscribers) subscriber.ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #notify(tx: StandInTransaction): void {
    for (const subscriber of this.#subscribers) {
      for (const [id, address] of subscriber.subscriptions) {
        if (address !== null && !tx.accountKeys.includes(address)) continue;
        subscriber.ws.send(
          JSON.stringify({
            jsonrpc: "2.0",
            method: "logsNotification",
            params: {
              result: { context: { slot: tx.slot }, value: { signature: tx.signature, err: tx.err, logs: tx.logs } },
              subscription: id,
            },
          }),
        );
      }
    }
  }

  #onSocket(ws: WebSocket): void {
    const subscriber: Subscriber = { ws, subscriptions: new Map() };
    this.#subscribers.add(subscriber);
    ws.on("close", () => this.#subscribers.delete(subscriber));
    ws.on("error", () => this.#subscribers.delete(subscriber));
    ws.on("message", (raw) => {
      const text = raw.toString();
      let request: RpcRequest;
      try {
        request = JSON.parse(text) as RpcRequest;
      } catch {
        ws.send(JSON.stringify(errorReply(null, -32700, "Parse error")));
        return;
      }
      ws.send(JSON.stringify(this.#pubsub(subscriber, request)));
    });
  }

  #pubsub(subscriber: Subscriber, request: RpcRequest): object {
    const params = Array.isArray(request.params) ? (request.params as unknown[]) : [];
    if (request.method === "logsSubscribe") {
      const filter = params[0];
      let address: string | null;
      if (filter === "all" || filter === "allWithVotes") address = null;
      else if (isRecord(filter) && Array.isArray(filter.mentions)) {
        if (filter.mentions.length !== 1 || typeof filter.mentions[0] !== "string") {
          return errorReply(request.id, -32602, "Invalid Request: Only 1 address supported");
        }
        address = filter.mentions[0];
      } else {
        return errorReply(request.id, -32602, "Invalid params");
      }
      const config = isRecord(params[1]) ? params[1] : {};
      const commitment = typeof config.commitment === "string" ? config.commitment : "finalized";
      const id = this.#nextSubscriptionId++;
      subscriber.subscriptions.set(id, address);
      queueMicrotask(() => this.emit("subscribed", { id, address, commitment }));
      return { jsonrpc: "2.0", result: id, id: request.id };
    }
    if (request.method === "logsUnsubscribe") {
      const id = params[0];
      if (typeof id !== "number" || !subscriber.subscriptions.delete(id)) {
        return errorReply(request.id, -32602, "Invalid subscription id.");
      }
      return { jsonrpc: "2.0", result: true, id: request.id };
    }
    return errorReply(request.id, -32601, "Method not found");
  }

  async #onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const fault = this.#faults.shift();
    if (fault) {
      this.faultsServed.set(fault.status, (this.faultsServed.get(fault.status) ?? 0) + 1);
      const headers: Record<string, string> = { "content-type": "text/plain" };
      if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
      res.writeHead(fault.status, headers).end(fault.status === 429 ? "Too many requests" : "Internal error");
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      sendJson(res, errorReply(null, -32700, "Parse error"));
      return;
    }
    sendJson(res, Array.isArray(body) ? body.map((one) => this.#rpc(one)) : this.#rpc(body));
  }

  #rpc(raw: unknown): object {
    if (!isRecord(raw) || raw.jsonrpc !== "2.0" || typeof raw.method !== "string") {
      return errorReply(isRecord(raw) ? (raw.id ?? null) : null, -32600, "Invalid request");
    }
    const id = raw.id ?? null;
    const params = Array.isArray(raw.params) ? (raw.params as unknown[]) : [];
    this.calls.set(raw.method, (this.calls.get(raw.method) ?? 0) + 1);
    this.emit("request", raw.method);
    try {
      switch (raw.method) {
        case "getSlot":
          return { jsonrpc: "2.0", result: this.#slot, id };
        case "getTransaction":
          return { jsonrpc: "2.0", result: this.#getTransaction(params), id };
        case "getSignaturesForAddress":
          return { jsonrpc: "2.0", result: this.#getSignaturesForAddress(params), id };
        case "getBlockTime":
          return { jsonrpc: "2.0", result: this.#getBlockTime(params), id };
        case "getAccountInfo":
          return { jsonrpc: "2.0", result: this.#getAccountInfo(params), id };
        default:
          return errorReply(id, -32601, "Method not found");
      }
    } catch (error) {
      if (error instanceof RpcFailure) return errorReply(id, error.code, error.message);
      throw error;
    }
  }

  #getTransaction(params: unknown[]): object | null {
    const [signature, config] = params;
    if (typeof signature !== "string") throw new RpcFailure(-32602, "Invalid params: signature expected");
    const options = isRecord(config) ? config : {};
    if (options.encoding !== undefined && options.encoding !== "json") {
      throw new RpcFailure(-32602, "Invalid params: the stand-in only serves json encoding");
    }
    checkCommitment(options.commitment);
    const tx = this.#transactions.get(signature);
    if (!tx) return null;
    if (tx.version !== "legacy" && options.maxSupportedTransactionVersion === undefined) {
      throw new RpcFailure(
        -32015,
        `Transaction version (${tx.version}) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0`,
      );
    }
    return {
      slot: tx.slot,
      blockTime: tx.blockTime,
      version: tx.version,
      meta: {
        err: tx.err,
        status: tx.err === null ? { Ok: null } : { Err: tx.err },
        fee: 5000,
        preBalances: tx.accountKeys.map(() => 1_000_000_000),
        postBalances: tx.accountKeys.map((_, i) => (i === 0 ? 999_995_000 : 1_000_000_000)),
        innerInstructions: [],
        logMessages: tx.logs,
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
        loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: 42_000,
      },
      transaction: {
        signatures: [tx.signature],
        message: {
          accountKeys: tx.accountKeys,
          header: { numRequiredSignatures: 1, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 1 },
          instructions: [],
          recentBlockhash: bs58.encode(randomBytes(32)),
          addressTableLookups: [],
        },
      },
    };
  }

  #getBlockTime(params: unknown[]): number {
    const [slot] = params;
    if (typeof slot !== "number" || !Number.isInteger(slot) || slot < 0) throw new RpcFailure(-32602, "Invalid params: slot expected");
    if (slot > this.#slot) throw new RpcFailure(-32004, `Block not available for slot ${slot}`);
    return blockTimeOf(slot);
  }

  #getAccountInfo(params: unknown[]): object {
    const [address, config] = params;
    if (typeof address !== "string") throw new RpcFailure(-32602, "Invalid params: address expected");
    const options = isRecord(config) ? config : {};
    if (options.encoding !== "base64") throw new RpcFailure(-32602, "Invalid params: the stand-in only serves base64 encoding");
    checkCommitment(options.commitment);
    const account = this.#accounts.get(address);
    const value =
      account === undefined
        ? null
        : {
            data: [Buffer.from(account.data).toString("base64"), "base64"],
            executable: false,
            lamports: 2_039_280,
            owner: account.owner,
            rentEpoch: 0,
            space: account.data.length,
          };
    return { context: { apiVersion: "2.1.0", slot: this.#slot }, value };
  }

  #getSignaturesForAddress(params: unknown[]): object[] {
    const [address, config] = params;
    if (typeof address !== "string") throw new RpcFailure(-32602, "Invalid params: address expected");
    const options = isRecord(config) ? config : {};
    if (options.commitment === "processed") {
      throw new RpcFailure(-32602, "Method does not support commitment below `confirmed`");
    }
    checkCommitment(options.commitment);
    const limit = options.limit ?? 1000;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new RpcFailure(-32602, "Invalid limit; max 1000");
    }
    const newestFirst = this.#ordered
      .filter((tx) => tx.accountKeys.includes(address))
      .sort((a, b) => b.slot - a.slot || b.seq - a.seq);
    let start = 0;
    if (typeof options.before === "string") {
      start = newestFirst.findIndex((tx) => tx.signature === options.before) + 1;
      if (start === 0) return [];
    }
    const result: object[] = [];
    for (const tx of newestFirst.slice(start)) {
      if (tx.signature === options.until || result.length === limit) break;
      result.push({
        signature: tx.signature,
        slot: tx.slot,
        err: tx.err,
        memo: null,
        blockTime: tx.blockTime,
        confirmationStatus: "finalized",
      });
    }
    return result;
  }
}

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Slots are about 400 ms apart. */
function blockTimeOf(slot: number): number {
  return BASE_BLOCK_TIME + Math.floor(slot * 0.4) - 120_000_000;
}

function checkCommitment(value: unknown): void {
  if (value !== undefined && value !== "processed" && value !== "confirmed" && value !== "finalized") {
    throw new RpcFailure(-32602, `Invalid params: unknown variant \`${String(value)}\``);
  }
}

function render(instruction: Instruction, depth: number, out: string[]): string | undefined {
  const id = instruction.programId;
  out.push(`Program ${id} invoke [${depth}]`);
  const consumed = (): void => {
    if (!BUILTINS.has(id)) out.push(`Program ${id} consumed ${1000 * depth + out.length} of 200000 compute units`);
  };
  for (const step of instruction.steps ?? []) {
    if ("log" in step) out.push(`Program log: ${step.log}`);
    else if ("raw" in step) out.push(step.raw);
    else if ("data" in step) {
      out.push(`Program data: ${typeof step.data === "string" ? step.data : Buffer.from(step.data).toString("base64")}`);
    } else {
      const failure = render(step.invoke, depth + 1, out);
      if (failure !== undefined) {
        // A failed CPI fails its caller with the same error.
        consumed();
        out.push(`Program ${id} failed: ${failure}`);
        return failure;
      }
    }
  }
  if (instruction.fail !== undefined) {
    consumed();
    out.push(`Program ${id} failed: ${instruction.fail}`);
    return instruction.fail;
  }
  consumed();
  out.push(`Program ${id} success`);
  return undefined;
}

function instructionError(failure: string): unknown {
  const custom = /custom program error: 0x([0-9a-f]+)/.exec(failure);
  return custom?.[1] ? { Custom: Number.parseInt(custom[1], 16) } : "ProgramFailedToComplete";
}

function collectPrograms(instruction: Instruction, into: Set<string>): void {
  into.add(instruction.programId);
  for (const step of instruction.steps ?? []) if ("invoke" in step) collectPrograms(step.invoke, into);
}

function errorReply(id: unknown, code: number, message: string): object {
  return { jsonrpc: "2.0", error: { code, message }, id: id ?? null };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sendJson(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
}
