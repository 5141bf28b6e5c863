/**
 * Forces a full GC in another Node process through its inspector and reads
 * its heap figures. The service has no GC endpoint, and RSS right after a
 * burst of connections is mostly garbage not yet collected; attaching briefly
 * over the inspector works the same for the service and the baseline, so
 * their per-connection figures stay comparable.
 */
import { InspectorSession } from "./inspector-session.js";

export interface HeapFigures {
  heapUsedKb: number;
  externalKb: number;
}

/** Runs one full GC (twice, so weakly held objects freed by the first go too). */
export async function collectGarbage(inspectPort: number, timeoutMs = 15_000): Promise<HeapFigures> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("inspector GC timed out")), timeoutMs);
  });
  const opening = InspectorSession.open(inspectPort);
  let session: InspectorSession | undefined;
  try {
    session = await Promise.race([opening, timeout]);
    await Promise.race([session.call("HeapProfiler.collectGarbage"), timeout]);
    await Promise.race([session.call("HeapProfiler.collectGarbage"), timeout]);
    const evaluated = await Promise.race([
      session.call<{ result?: { value?: unknown } }>("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true }),
      timeout,
    ]);
    const value = evaluated.result?.value;
    if (typeof value !== "string") throw new Error("inspector returned no memoryUsage");
    const usage = JSON.parse(value) as { heapUsed: number; external: number };
    return { heapUsedKb: usage.heapUsed / 1024, externalKb: usage.external / 1024 };
  } finally {
    clearTimeout(timer);
    // A session that opens after the timeout is closed as soon as it does.
    if (session === undefined) void opening.then((late) => late.close()).catch(() => undefined);
    else session.close();
  }
}
