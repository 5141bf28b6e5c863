/**
 * `npm run bench:request` — server CPU per HTTP request, the fixed part a
 * publish batch pays whatever its size (hooks, headers, routing, the answer).
 * Starts the service as the bench does, pinned to one core, sends requests
 * from this process on another core with a few in flight, and divides the
 * server's CPU time (/proc) by the requests answered. CPU time per request
 * does not depend on how busy a shared machine is the way a rate does.
 *
 *   npm run bench:request -- --requests 20000 --path /v1/health
 *   npm run bench:request -- --service-cmd "node dist/src/main.js"
 *   npm run bench:request -- --publish 50    (POST /v1/payments, 50 new payments each)
 */
import { request as httpRequest, Agent } from "node:http";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./bench-options.js";
import { Cleanup } from "./cleanup.js";
import { pinProcess } from "./cpu-pinning.js";
import { Publisher } from "./publisher.js";
import { ServerProcess, type TargetSpec } from "./server-process.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "8" },
    path: { type: "string", default: "/v1/health" },
    publish: { type: "string" },
    "service-cmd": { type: "string", default: "node --import tsx src/main.ts" },
    "service-cwd": { type: "string", default: REPO_ROOT },
    "server-cores": { type: "string", default: "0" },
    "generator-cores": { type: "string", default: "1" },
  },
});

/** Sends one request and resolves with its status. */
type OneRequest = () => Promise<number>;

/** A GET of `path` over kept-alive connections. */
function getter(port: number, path: string, concurrency: number): { one: OneRequest; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end();
    });
  return { one, close: () => agent.destroy() };
}

/** A publish of `size` new payments (to as many tracking IDs) over the bench publisher's kept-alive connections. */
function publisher(port: number, apiKey: string, size: number, concurrency: number): { one: OneRequest; close: () => void } {
  const client = new Publisher(`http://127.0.0.1:${port}`, apiKey, concurrency);
  const trackingIds = Array.from({ length: size }, (_, i) => `request-cost-${i}`);
  return { one: async () => (await client.post(client.buildBody(trackingIds))).status, close: () => client.close() };
}

/** Sends `count` requests, `concurrency` at a time; resolves with the statuses seen. */
async function requestMany(one: OneRequest, count: number, concurrency: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const status = await one();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

async function main(): Promise<void> {
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const path = values.path;
  pinProcess(process.pid, values["generator-cores"]);
  const target: TargetSpec = {
    name: "service",
    command: values["service-cmd"].split(" ").filter((arg) => arg.length > 0),
    cwd: values["service-cwd"],
    workers: 1,
    cores: values["server-cores"],
  };
  const cleanup = new Cleanup();
  cleanup.installProcessHandlers();
  const apiKey = "request-cost-key-0123456789";
  const server = await ServerProcess.start(target, apiKey, cleanup);
  const publishSize = values.publish === undefined ? undefined : Number(values.publish);
  const client =
    publishSize === undefined ? getter(server.port, path, concurrency) : publisher(server.port, apiKey, publishSize, concurrency);
  const what = publishSize === undefined ? `GET ${path}` : `POST /v1/payments of ${publishSize}`;
  try {
    // Warm up the route's code (and the JIT) before measuring.
    await requestMany(client.one, Math.min(5_000, requests), concurrency);
    const before = server.sample();
    const started = performance.now();
    const statuses = await requestMany(client.one, requests, concurrency);
    const seconds = (performance.now() - started) / 1000;
    const after = server.sample();
    const cpuUsPerRequest = ((after.cpuMs - before.cpuMs) * 1000) / requests;
    console.log(
      `${what} × ${requests} (${concurrency} in flight): ${cpuUsPerRequest.toFixed(1)} µs server CPU per request, ` +
        `${Math.round(requests / seconds)} requests/s, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  } finally {
    client.close();
    await server.stop();
  }
}

await main();
