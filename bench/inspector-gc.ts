/**
 * Forces a full GC in another Node process through its inspector and reads
 * its heap figures. The service has no GC endpoint, and RSS right after a
 * burst of connections is mostly garbage not yet collected; attaching briefly
 * over the inspector works the same for the service and the baseline, so
 * their per-connection figures stay comparable.
 */
import WebSocket from "ws";

export interface HeapFigures {
  heapUsedKb: number;
  externalKb: number;
}

interface InspectorTarget {
  webSocketDebuggerUrl?: string;
}

async function debuggerUrl(inspectPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${inspectPort}/json/list`);
  const targets = (await response.json()) as InspectorTarget[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("inspector lists no target");
  return url;
}

/** Runs one full GC (twice, so weakly held objects freed by the first go too). */
export async function collectGarbage(inspectPort: number, timeoutMs = 15_000): Promise<HeapFigures> {
  const socket = new WebSocket(await debuggerUrl(inspectPort), { perMessageDeflate: false });
  const replies = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      replies.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  socket.on("message", (data: WebSocket.RawData) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) replies.get(message.id)?.(message.result);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("inspector GC timed out")), timeoutMs);
  });
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      }),
      timeout,
    ]);
    await Promise.race([call("HeapProfiler.collectGarbage"), timeout]);
    await Promise.race([call("HeapProfiler.collectGarbage"), timeout]);
    const evaluated = (await Promise.race([
      call("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true }),
      timeout,
    ])) as { result?: { value?: unknown } };
    const value = evaluated.result?.value;
    if (typeof value !== "string") throw new Error("inspector returned no memoryUsage");
    const usage = JSON.parse(value) as { heapUsed: number; external: number };
    return { heapUsedKb: usage.heapUsed / 1024, externalKb: usage.external / 1024 };
  } finally {
    clearTimeout(timer);
    socket.terminate();
  }
}
