import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { setupPrimary as relayClusterAdapter } from "@socket.io/cluster-adapter";
import { AggregatorRegistry } from "prom-client";
import type { Config } from "../config.js";
import { addressGroup } from "../limits/address-group.js";
import { ClientAddressResolver } from "../limits/client-address.js";
import { TcpConnectionCap } from "../limits/tcp-connection-cap.js";
import { createLogger } from "../logger.js";
import type { HealthReport } from "../health/health-report.js";
import { nodeHealth } from "./node-health.js";
import { PUBLISH_REQUEST_LINE_PREFIX, PUBLISHING_WORKER_INDEX } from "./publishing-worker.js";
import { StickyRouter } from "./sticky-router.js";
import { isWorkerMessage, type PrimaryMessage } from "./worker-messages.js";

/** The environment variable that tells a worker its place; the worker that is 0 runs the sources and retention. */
export const WORKER_INDEX_VARIABLE = "TRIBUTARY_WORKER_INDEX";
/** A worker that dies is started again; this many deaths inside the window mean it cannot run, and the node stops. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 500;
/** A health check waits this long for every worker's report; one that is late counts as missing. */
const HEALTH_PROBE_TIMEOUT_MS = 2000;

/**
 * The primary of a node with several worker processes. It owns the port:
 * its sticky router hands each TCP connection to a worker, and keeps every
 * long-polling request of a session on the worker that holds it. It
 * relays the cluster adapter's messages between workers (how a payment
 * committed on one reaches the sockets of the others), sums the workers'
 * metrics, restarts a worker that dies, and on SIGTERM or SIGINT lets every
 * worker drain before it exits.
 */
export async function runPrimary(config: Config): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL).child({ component: "primary" });
  // Binary-safe IPC: the sticky router sends request bytes, the adapter encoded packets.
  cluster.setupPrimary({ serialization: "advanced" });
  relayClusterAdapter();
  const aggregator = new AggregatorRegistry();
  const workers = new Map<number, Worker>();
  // Connections go only to workers that said they take them: a new worker's
  // sticky listener is not there until it is ready, and a handle sent to it
  // before then would be dropped.
  const ready = new Set<Worker>();
  const readyAt = (index: number) => {
    const worker = workers.get(index);
    return worker !== undefined && ready.has(worker) ? worker : undefined;
  };
  // Connections arrive here first: the per-address TCP cap applies before a head is read or a worker is chosen.
  // It counts a connection until the hand-over, after which the worker's own cap counts it.
  const addresses = new ClientAddressResolver(config.TRUSTED_PROXIES);
  const connectionCap = new TcpConnectionCap({
    maxPerAddress: config.MAX_HTTP_CONNECTIONS_PER_IP,
    group: (address) => addressGroup(address, config.IPV6_PREFIX_LENGTH),
    isExempt: (address) => addresses.isTrusted(address),
    onRefused: (address) => logger.debug({ address }, "closed a connection past the per-address TCP cap"),
  });
  const router = new StickyRouter({
    workers: () => [...ready],
    workerAt: readyAt,
    maxBodyBytes: Math.max(config.MAX_BODY_BYTES, config.MAX_HTTP_BUFFER_SIZE),
    pinned: { requestLinePrefix: PUBLISH_REQUEST_LINE_PREFIX, worker: () => readyAt(PUBLISHING_WORKER_INDEX) },
    onHandedOver: (_worker, socket) => connectionCap.release(socket),
  });
  const { server } = router;
  connectionCap.attach(server);
  // Health: each probe collects one report per worker, until all answered or the wait is over.
  const probes = new Map<number, (report: unknown) => void>();
  let nextProbeId = 0;
  const gatherHealth = async (): Promise<HealthReport> => {
    const probeId = nextProbeId++;
    const asked = [...workers.values()].filter((worker) => worker.isConnected());
    const reports: HealthReport[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, HEALTH_PROBE_TIMEOUT_MS);
      let waiting = asked.length;
      const settle = () => {
        if (waiting > 0) return;
        clearTimeout(timer);
        resolve();
      };
      probes.set(probeId, (report) => {
        if (typeof report === "object" && report !== null) reports.push(report as HealthReport);
        waiting--;
        settle();
      });
      for (const worker of asked) send(worker, { type: "tributary:probe", probeId });
      settle();
    });
    probes.delete(probeId);
    return nodeHealth(reports, config.WORKERS);
  };
  const restarts: number[] = [];
  let stopping = false;
  let exitCode = 0;
  let notReady = config.WORKERS;
  let started: () => void = () => undefined;
  const allReady = new Promise<void>((resolve) => (started = resolve));

  const fork = (index: number) => {
    const worker = cluster.fork({ [WORKER_INDEX_VARIABLE]: String(index) });
    workers.set(index, worker);
    logger.info({ worker: index, pid: worker.process.pid }, "starting worker");
    worker.on("message", (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === "tributary:worker-ready") {
        ready.add(worker);
        logger.info({ worker: index, pid: worker.process.pid }, "worker ready");
        if (--notReady === 0) started();
        return;
      }
      if (message.type === "tributary:probe-answer") {
        probes.get(message.probeId)?.(message.value);
        return;
      }
      const { requestId } = message;
      (message.topic === "metrics" ? aggregator.clusterMetrics() : gatherHealth()).then(
        (value) => send(worker, { type: "tributary:answer", requestId, value }),
        (error: unknown) => send(worker, { type: "tributary:answer", requestId, error: error instanceof Error ? error.message : String(error) }),
      );
    });
    worker.on("exit", (code, signal) => {
      if (workers.get(index) === worker) workers.delete(index);
      const wasReady = ready.delete(worker);
      if (stopping) return;
      if (!wasReady && notReady > 0) {
        logger.fatal({ worker: index, code, signal }, "a worker exited while starting; stopping the node");
        exitCode = 1;
        void stop();
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] ?? now) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        logger.fatal({ worker: index, code, signal, restarts: restarts.length }, "workers keep dying; stopping the node");
        exitCode = 1;
        void stop();
        return;
      }
      logger.error({ worker: index, code, signal }, "a worker exited; starting it again");
      setTimeout(() => {
        if (!stopping) fork(index);
      }, RESTART_DELAY_MS).unref();
    });
  };

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      server.close();
      const exits = [...workers.values()].filter((worker) => !worker.isDead()).map((worker) => once(worker, "exit"));
      // Each worker drains its own clients (bounded by SHUTDOWN_TIMEOUT_MS) and exits.
      for (const worker of workers.values()) worker.process.kill("SIGTERM");
      const deadline = setTimeout(() => {
        logger.error("workers took too long to drain; killing them");
        for (const worker of workers.values()) worker.process.kill("SIGKILL");
      }, config.SHUTDOWN_TIMEOUT_MS + 2000);
      await Promise.all(exits);
      clearTimeout(deadline);
      logger.info("all workers stopped");
      process.exit(exitCode);
    })();
    return stopped;
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());

  for (let index = 0; index < config.WORKERS; index++) fork(index);
  await allReady;
  if (stopping) return;
  try {
    server.listen(config.PORT, config.HOST);
    await once(server, "listening");
  } catch (error) {
    logger.fatal({ err: error, port: config.PORT }, "cannot listen");
    exitCode = 1;
    await stop();
    return;
  }
  const address = server.address() as AddressInfo;
  logger.info({ host: address.address, port: address.port, path: "/ws/v1", workers: config.WORKERS }, "listening");
}

function send(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}
