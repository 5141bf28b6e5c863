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
 */
import { request as httpRequest, Agent } from "node:http";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./bench-options.js";
import { Cleanup } from "./cleanup.js";
import { pinProcess } from "./cpu-pinning.js";
import { ServerProcess, type TargetSpec } from "./server-process.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "8" },
    path: { type: "string", default: "/v1/health" },
    "service-cmd": { type: "string", default: "node --import tsx src/main.ts" },
    "service-cwd": { type: "string", default: REPO_ROOT },
    "server-cores": { type: "string", default: "0" },
    "generator-cores": { type: "string", default: "1" },
  },
});

/** Answers `count` GETs of `path`, `concurrency` at a time over kept-alive connections; resolves with the statuses seen. */
async function requestMany(port: number, path: string, count: number, concurrency: number): Promise<Map<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = new Map<number, number>();
  let next = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path, agent }, (res) => {
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await one();
    }),
  );
  agent.destroy();
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
  const server = await ServerProcess.start(target, "request-cost-key-0123456789", cleanup);
  try {
    // Warm up the route's code (and the JIT) before measuring.
    await requestMany(server.port, path, Math.min(5_000, requests), concurrency);
    const before = server.sample();
    const started = performance.now();
    const statuses = await requestMany(server.port, path, requests, concurrency);
    const seconds = (performance.now() - started) / 1000;
    const after = server.sample();
    const cpuUsPerRequest = ((after.cpuMs - before.cpuMs) * 1000) / requests;
    console.log(
      `GET ${path} × ${requests} (${concurrency} in flight): ${cpuUsPerRequest.toFixed(1)} µs server CPU per request, ` +
        `${Math.round(requests / seconds)} requests/s, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  } finally {
    await server.stop();
  }
}

await main();
