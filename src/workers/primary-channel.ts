import { Socket } from "node:net";
import { isPrimaryMessage, type NodeTopic, type WorkerMessage } from "./worker-messages.js";

/** Longer than the primary's own wait for the slowest worker, so its answer (or error) comes first. */
const ANSWER_TIMEOUT_MS = 6000;

/**
 * A worker's side of the IPC channel to its primary: asks about the whole
 * node, and answers the primary's probes about this worker.
 */
export class PrimaryChannel {
  private nextRequestId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private healthProbe: (() => Promise<unknown>) | undefined;
  private connectionListener: ((socket: Socket, bytesRead: Uint8Array) => void) | undefined;

  constructor(private readonly ipc: NodeJS.Process) {
    ipc.on("message", (message: unknown, handle?: unknown) => {
      if (!isPrimaryMessage(message)) return;
      if (message.type === "tributary:connection") {
        // No handle: the connection closed while it was being passed.
        if (!(handle instanceof Socket)) return;
        if (this.connectionListener === undefined) handle.destroy();
        else this.connectionListener(handle, message.data);
        return;
      }
      if (message.type === "tributary:probe") {
        void this.answerProbe(message.probeId);
        return;
      }
      const request = this.pending.get(message.requestId);
      if (request === undefined) return;
      this.pending.delete(message.requestId);
      if ("error" in message) request.reject(new Error(message.error));
      else request.resolve(message.value);
    });
  }

  get connected(): boolean {
    return this.ipc.connected;
  }

  send(message: WorkerMessage): void {
    if (this.ipc.connected) this.ipc.send?.(message);
  }

  ask(topic: NodeTopic): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const requestId = this.nextRequestId++;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`the primary did not answer about ${topic}`));
      }, ANSWER_TIMEOUT_MS);
      this.pending.set(requestId, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.send({ type: "tributary:ask", requestId, topic });
    });
  }

  /** Takes the TCP connections the primary hands to this worker, with the bytes it read from each. */
  onConnection(listener: (socket: Socket, bytesRead: Uint8Array) => void): void {
    this.connectionListener = listener;
  }

  /** How this worker answers when the primary gathers the node's health. */
  onHealthProbe(report: () => Promise<unknown>): void {
    this.healthProbe = report;
  }

  private async answerProbe(probeId: number): Promise<void> {
    const value = this.healthProbe === undefined ? undefined : await this.healthProbe();
    this.send({ type: "tributary:probe-answer", probeId, value });
  }
}
