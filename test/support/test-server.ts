import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { createApp, type App, type AppDependencies } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createMetrics } from "../../src/metrics.js";
import { nextEvent, waitUntil } from "./wait.js";

export const TEST_API_KEY = "test-key-0123456789";

export interface TestServer {
  app: App;
  url: string;
  dataDir: string;
  databaseUrl: string;
  /** POST /v1/payments with the test key (or the given headers) and return status and JSON body. */
  publish(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
  connect(options?: Partial<ManagerOptions & SocketOptions>): Promise<Socket>;
  /** Closes the app and every client it opened; with `keepData`, the SQLite file stays for a restart. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** A complete service on 127.0.0.1:0 with its own SQLite file, as `npm start` would run it. */
export async function startTestServer(
  env: Record<string, string> = {},
  dependencies: AppDependencies = {},
  dataDir = mkdtempSync(join(tmpdir(), "tributary-test-")),
): Promise<TestServer> {
  const databaseUrl = `sqlite:${join(dataDir, "tributary.sqlite")}`;
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    TRIBUTARY_API_KEYS: TEST_API_KEY,
    LOG_LEVEL: "silent",
    // Tests read the metrics right after what they count; the cache has tests of its own.
    METRICS_CACHE_MS: "0",
    ...env,
  });
  const app = await createApp(config, { metrics: createMetrics({ defaultMetrics: false }), ...dependencies });
  const address = await app.listen();
  const url = `http://127.0.0.1:${address.port}`;
  const sockets: Socket[] = [];

  const request = async (path: string, init: RequestInit) => {
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    return { status: response.status, body: text.length > 0 ? JSON.parse(text) : undefined };
  };

  return {
    app,
    url,
    dataDir,
    databaseUrl,
    publish: (body, headers = { authorization: `Bearer ${TEST_API_KEY}` }) =>
      request("/v1/payments", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }),
    get: (path) => request(path, { method: "GET" }),
    async connect(options = {}) {
      const socket = io(url, { path: "/ws/v1", transports: ["websocket"], forceNew: true, ...options });
      sockets.push(socket);
      await nextEvent(socket, "connect");
      return socket;
    },
    async close({ keepData = false } = {}) {
      for (const socket of sockets) socket.disconnect();
      // Let the server see every client leave first: a long-polling client
      // that is simply gone would hold Engine.IO's close open for 30 s.
      await waitUntil(() => app.gateway.connectionCount === 0, "every test client has left");
      await app.close();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Emits with a Socket.IO acknowledgement and resolves with the server's response. */
export function emitWithAck<T = any>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<T>;
}
