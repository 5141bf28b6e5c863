/**
 * A session with another Node process's inspector: the bench starts every
 * server with `--inspect` on loopback, and reads its heap, forces its GC and
 * profiles its main thread through it, the same way for the service and the
 * baseline.
 */
import WebSocket from "ws";

interface InspectorTarget {
  webSocketDebuggerUrl?: string;
}

interface InspectorMessage {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message?: string };
}

export class InspectorSession {
  private nextId = 1;
  private readonly replies = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Map<string, (params: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString()) as InspectorMessage;
      if (message.id === undefined) {
        if (message.method !== undefined) this.listeners.get(message.method)?.(message.params);
        return;
      }
      const reply = this.replies.get(message.id);
      this.replies.delete(message.id);
      if (message.error !== undefined) reply?.reject(new Error(`inspector: ${message.error.message ?? JSON.stringify(message.error)}`));
      else reply?.resolve(message.result);
    });
    socket.on("close", () => {
      for (const reply of this.replies.values()) reply.reject(new Error("the inspector session closed"));
      this.replies.clear();
    });
  }

  /** Opens a session with the first target of the inspector on `127.0.0.1:<inspectPort>`: the process's main thread. */
  static async open(inspectPort: number): Promise<InspectorSession> {
    const response = await fetch(`http://127.0.0.1:${inspectPort}/json/list`);
    const targets = (await response.json()) as InspectorTarget[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error("inspector lists no target");
    // Heap snapshots and profiles of a busy server are large messages.
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new InspectorSession(socket);
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.replies.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Listens to one kind of event the inspector sends, such as a heap snapshot's chunks. */
  on(method: string, listener: (params: unknown) => void): void {
    this.listeners.set(method, listener);
  }

  close(): void {
    this.socket.terminate();
  }
}
