import { Worker } from "node:worker_threads";
import type { PaymentInput } from "../payment.js";
import { StoreFatalError, type RetentionPolicy } from "./payment-store.js";
import type { PruneCursor, PruneStepResult } from "./prune-steps.js";
import type { RequestResult } from "./sqlite-writer.js";
import type { WriterPort } from "./sqlite-writer-port.js";
import {
  decodeError,
  decodeResults,
  type EncodedRequestResult,
  type WriterReply,
  type WriterRequest,
  type WriterThreadData,
} from "./sqlite-writer-protocol.js";

/** `Omit` on each member of a union, so that it stays a union. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
/** Any request without its `id`, which the port assigns. */
type Request = WithoutId<WriterRequest>;

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the writer on a worker thread: the statements and the commit's fsync
 * happen there, while the event loop keeps serving sockets. If the thread
 * dies, every request fails with {@link StoreFatalError}: the app then exits
 * and a supervisor restarts it, as for a broken file.
 */
export class ThreadWriterPort implements WriterPort {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private failure: StoreFatalError | undefined;
  private closing = false;

  constructor(data: WriterThreadData) {
    this.worker = spawnWriterThread(data);
    // Only outstanding requests keep the process alive, as a pending
    // fs call would; an idle store must not hold up exit.
    this.worker.unref();
    this.worker.on("message", (reply: WriterReply) => this.settle(reply));
    this.worker.on("error", (error) => this.fail(error));
    // A reply that cannot be deserialised leaves its request unanswered for good.
    this.worker.on("messageerror", (error) => this.fail(error));
    this.worker.on("exit", (code) => {
      if (!this.closing) this.fail(new Error(`the SQLite writer thread exited with code ${code}`));
    });
  }

  async commit(group: ReadonlyArray<readonly PaymentInput[]>): Promise<RequestResult[]> {
    return decodeResults((await this.request({ op: "commit", group })) as EncodedRequestResult[]);
  }

  async writeCheckpoint(source: string, value: string): Promise<void> {
    await this.request({ op: "writeCheckpoint", source, value });
  }

  async pruneStep(policy: RetentionPolicy, cursor: PruneCursor): Promise<PruneStepResult> {
    return (await this.request({ op: "pruneStep", policy, cursor })) as PruneStepResult;
  }

  async ping(): Promise<void> {
    await this.request({ op: "ping" });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    const closed = this.failure === undefined ? this.request({ op: "close" }) : Promise.resolve();
    // Set before the thread can exit, so its exit is not taken for a crash.
    this.closing = true;
    try {
      await closed;
    } finally {
      await this.worker.terminate();
    }
  }

  private request(request: Request): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error("the SQLite store is closed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as WriterRequest);
    });
  }

  private settle(reply: WriterReply): void {
    const waiting = this.waiting.get(reply.id);
    if (waiting === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(decodeError(reply.error));
  }

  private fail(cause: unknown): void {
    this.failure ??= new StoreFatalError(cause);
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
    this.worker.unref();
  }
}

function spawnWriterThread(workerData: WriterThreadData): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./sqlite-writer-thread.js", here), { workerData });
  // Running from source under tsx: on Node 20 a worker does not inherit the
  // loader hooks that `--import tsx` registered, so it registers them itself
  // before loading the TypeScript entry.
  const tsx = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./sqlite-writer-thread.ts", here).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
