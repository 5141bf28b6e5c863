/**
 * What recovery churn leaves in the heap: 3,200 times (connect, subscribe to
 * 100 new tracking IDs, drop the TCP connection) against an in-process
 * server on its defaults, the heap measured after a full GC before and after.
 *
 *   node --import tsx bench/recovery-churn-heap.ts
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { rawConnect, rawEmit } from "../test/support/raw-client.js";
import { startTestServer } from "../test/support/test-server.js";

const cycles = Number(process.env.CHURN_CYCLES ?? 3200);
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const server = await startTestServer({ MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: "0" });
gc();
const before = process.memoryUsage().heapUsed;
const startedAt = performance.now();
for (let cycle = 0; cycle < cycles; cycle++) {
  const client = await rawConnect(server.url);
  for (let i = 0; i < 100; i++) rawEmit(client, "subscribe", { trackingId: `churn-${cycle}-${i}` });
  await client.waitFor((frame) => frame.includes(`churn-${cycle}-99`));
  client.ws.terminate();
  await client.closed;
}
gc();
const after = process.memoryUsage().heapUsed;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
console.log(
  `${cycles} churn cycles in ${(performance.now() - startedAt).toFixed(0)} ms; heap after GC ${mib(before)} → ${mib(after)} MiB; ` +
    `gateway ${JSON.stringify(server.app.gateway.stats)}`,
);
process.exit(0);
