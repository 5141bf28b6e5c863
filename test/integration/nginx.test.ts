import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { io } from "socket.io-client";
import { freePort } from "../support/free-port.js";
import { paymentBody } from "../support/payments.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { TEST_API_KEY } from "../support/test-server.js";
import { collect, nextEvent, waitUntil } from "../support/wait.js";

const CONFIG = fileURLToPath(new URL("../../deploy/nginx.conf", import.meta.url));
const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => spawnSync(path, ["-v"]).status === 0);

/** The documented config with this test's ports: the upstream servers and the listen address. */
function renderConfig(listenPort: number, nodePorts: number[]): string {
  const text = readFileSync(CONFIG, "utf8");
  const servers = nodePorts.map((port) => `    server 127.0.0.1:${port} max_fails=3 fail_timeout=10s;`).join("\n");
  const rendered = text
    .replace(/( {4}server 127\.0\.0\.1:\d+ [^\n]*\n)+/, `${servers}\n`)
    .replace("listen 127.0.0.1:8080;", `listen 127.0.0.1:${listenPort};`);
  assert.notEqual(rendered, text, "the config's upstream and listen lines are where the test expects them");
  return rendered;
}

let redis: RedisServer;
let postgres: PostgresServer;
before(async () => {
  if (NGINX === undefined) return;
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
});
after(async () => {
  await Promise.all([redis?.close(), postgres?.close()]);
});

test(
  "deploy/nginx.conf: nginx -t accepts it, and two nodes behind it deliver to a client on the default transport (polling, then upgrade)",
  { skip: NGINX === undefined ? "nginx is not installed (apt-get install nginx)" : false, timeout: 120_000 },
  async () => {
    const nginx = NGINX!;
    const env = { DATABASE_URL: await postgres.createDatabase("nginx"), REDIS_URL: redis.url, TRIBUTARY_API_KEYS: TEST_API_KEY };
    const nodes: ServerProcess[] = [];
    const prefix = mkdtempSync(join(tmpdir(), "tributary-nginx-"));
    mkdirSync(join(prefix, "logs"));
    const socket = { current: undefined as ReturnType<typeof io> | undefined };
    let proxy: ReturnType<typeof spawn> | undefined;
    try {
      nodes.push(await startServerProcess(env), await startServerProcess(env));
      const listenPort = await freePort();
      const config = join(prefix, "nginx.conf");
      writeFileSync(config, renderConfig(listenPort, nodes.map((node) => Number(new URL(node.url).port))));

      const check = spawnSync(nginx, ["-t", "-p", prefix, "-c", config], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stderr, /test is successful/);

      proxy = spawn(nginx, ["-p", prefix, "-c", config, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
      const url = `http://127.0.0.1:${listenPort}`;
      await waitUntil(
        async () => (await fetch(`${url}/v1/health`).catch(() => undefined))?.status === 200,
        "nginx answers /v1/health from a node",
        10_000,
      );

      const client = io(url, { path: "/ws/v1", reconnection: false });
      socket.current = client;
      // Read at the handshake: the upgrade may already be done by the time "connect" is handled.
      const firstTransport = new Promise<string>((resolve) => client.io.once("open", () => resolve(client.io.engine.transport.name)));
      const payments = collect<any>(client, "payment");
      await nextEvent(client, "connect");
      assert.equal(await firstTransport, "polling", "the default client starts with long-polling");
      await client.timeout(5000).emitWithAck("subscribe", { trackingId: "behind-nginx" });
      await waitUntil(() => client.io.engine.transport.name === "websocket", "the connection upgraded to WebSocket through nginx");

      // One payment through nginx, one straight into each node: every one reaches the client, wherever it is.
      const bodies = [paymentBody({ trackingId: "behind-nginx" }), paymentBody({ trackingId: "behind-nginx" }), paymentBody({ trackingId: "behind-nginx" })];
      const targets = [url, nodes[0]!.url, nodes[1]!.url];
      for (const [i, target] of targets.entries()) {
        const response = await fetch(`${target}/v1/payments`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
          body: JSON.stringify(bodies[i]),
        });
        assert.equal(response.status, 200);
      }
      const received = await payments.until(3, 10_000);
      assert.deepEqual(
        received.map((message) => message.data.offset),
        [1, 2, 3],
      );
      assert.deepEqual(
        received.map((message) => message.data.signature),
        bodies.map((body) => body.signature),
      );
    } finally {
      socket.current?.close();
      if (proxy !== undefined && proxy.exitCode === null) {
        const exited = once(proxy, "exit");
        proxy.kill("SIGQUIT");
        await exited;
      }
      for (const node of nodes) node.child.kill("SIGTERM");
      await Promise.all(nodes.map((node) => node.exited));
      rmSync(prefix, { recursive: true, force: true });
    }
  },
);
