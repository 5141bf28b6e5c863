import { z } from "zod";
import { parseAddressOrRange } from "./limits/client-address.js";
import { isAcceptableJwksUrl } from "./limits/jwks-url.js";
import { isAllowedHostEntry } from "./webhooks/outbound-policy.js";

/**
 * Every setting, read from the environment and validated at boot. A bad value
 * stops the process with a message that names the variable.
 */
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const list = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

const addressList = list.refine(
  (entries) => entries.every((entry) => parseAddressOrRange(entry) !== undefined),
  "must be comma-separated IP addresses or CIDR ranges (10.0.0.0/8, ::1)",
);

const durationList = list.pipe(
  z.array(z.string().regex(/^[0-9]+$/, "must be comma-separated whole numbers of ms").transform(Number)).min(1, "must list at least one delay"),
);

/** Shorter API keys are refused at start: a key is the only thing between a stranger and publishing. */
export const MIN_API_KEY_LENGTH = 16;

/** Every setting with its default and description; docs/configuration.md is generated from it (`npm run docs:config`). */
export const envShape = z.object({
  PORT: integer(0, 65535).default(8080).describe("HTTP and WebSocket port; `0` picks a free one."),
  WORKERS: integer(1, 64)
    .default(1)
    .describe(
      "Processes serving clients: `1` runs the node in one process; more (one per core) forks that many workers behind a primary " +
        "that owns the port and keeps each client on one worker. Needs a store the workers share: a SQLite file or PostgreSQL, not `sqlite::memory:`.",
    ),
  HOST: z.string().min(1).default("0.0.0.0").describe("Address to listen on."),
  DATABASE_URL: z
    .string()
    .regex(
      /^(sqlite:.+|postgres(ql)?:\/\/.+)$/,
      "must look like sqlite:<path> (sqlite::memory: for a throwaway store) or postgres://user:password@host:port/database",
    )
    .default("sqlite:./data/tributary.sqlite")
    .describe(
      "Payment store: `sqlite:<path>` (WAL, synchronous=FULL; its index in `<name>.index.sqlite` beside it), " +
        "`sqlite::memory:` for a throwaway store, or " +
        "`postgres://user:password@host:port/database` (or `postgresql://`) for PostgreSQL, shared by several nodes.",
    ),
  TRIBUTARY_API_KEYS: list
    .refine(
      (keys) => keys.every((key) => key.length >= MIN_API_KEY_LENGTH),
      `every key must be at least ${MIN_API_KEY_LENGTH} characters (for example: openssl rand -hex 16)`,
    )
    .default([])
    .describe(`Comma-separated keys allowed to publish, each at least ${MIN_API_KEY_LENGTH} characters. None: publishing is refused.`),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("pino JSON logs on stdout, from this level up."),
  CORS_ORIGINS: list
    .default(["*"])
    .describe("Comma-separated browser origins allowed for HTTP, long-polling and WebSocket handshakes (the server's own origin is always allowed); `*`, the default a public notification API needs, allows every origin."),
  MAX_SUBSCRIPTIONS_PER_SOCKET: integer(1, 100_000).default(100).describe("Tracking IDs one connection may watch at once."),
  MAX_HTTP_BUFFER_SIZE: integer(1024, 100 * 1024 * 1024)
    .default(16 * 1024)
    .describe("Largest message (bytes) a client may send; a bigger one closes that socket only."),
  RECOVERY_WINDOW_MS: integer(0, 24 * 60 * 60 * 1000)
    .default(2 * 60 * 1000)
    .describe(
      "How long (ms) a dropped client keeps its rooms and missed payments (Socket.IO connection-state recovery; one process only, " +
        "so off with REDIS_URL or WORKERS above 1); `0` turns it off.",
    ),
  RECOVERY_MAX_PACKETS: integer(1, 100_000_000)
    .default(250_000)
    .describe(
      "Most broadcasts kept for recovery, whatever their age (about 0.6 – 1 KB each for a payment); past it the oldest go, and a client " +
        "whose offset went with them reconnects without recovery (the client library then catches up with `since`).",
    ),
  REPLAY_PAGE_SIZE: integer(1, 10_000).default(500).describe("Payments read from the store per step of a `since` replay."),
  RETENTION_MAX_AGE_SECONDS: integer(0, 100 * 365 * 24 * 3600)
    .default(0)
    .describe("Delete payments received longer ago than this many seconds; `0` keeps them forever."),
  RETENTION_MAX_PER_TRACKING_ID: integer(0, 1_000_000_000)
    .default(0)
    .describe("Keep only this many newest payments per tracking ID; `0` keeps all."),
  RETENTION_INTERVAL_MS: integer(1000, 24 * 3600 * 1000).default(60_000).describe(
      "How often (ms) retention runs when a bound is set. With SQLite a run deletes in steps of up to 1,000 rows, and payments " +
        "stored meanwhile wait for one step, not the whole run.",
    ),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
    .optional()
    .describe("`redis://` or `rediss://` URL of the Redis that several nodes share, so a payment committed on any node reaches the subscribers of every node. None: a single node."),
  CLUSTER_MAX_PENDING_PUBLISHES: integer(1, 10_000_000)
    .default(10_000)
    .describe("Cross-node publishes waiting on Redis before new ones are shed (the other nodes catch up from the store)."),
  SOLANA_RPC_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .optional()
    .describe("HTTP(S) JSON-RPC endpoint of a Solana node; setting it turns on the chain watcher source."),
  SOLANA_WS_URL: z
    .url({ protocol: /^wss?$/, error: "must be a ws(s) URL" })
    .optional()
    .describe("Solana pub/sub endpoint. Default: SOLANA_RPC_URL with the ws(s) scheme, and an explicit port plus one."),
  TRIBUTARY_PROGRAM_ID: z
    .string()
    .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "must be a base58 program id")
    .default("TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ")
    .describe("The Tributary program the chain watcher reads."),
  SOLANA_COMMITMENT: z
    .enum(["confirmed", "finalized"])
    .default("confirmed")
    .describe("`finalized` never reports a payment that is rolled back, but is about 13 s later."),
  SOLANA_START_FROM: z
    .enum(["tip", "beginning"])
    .default("tip")
    .describe("Where the chain watcher begins with no checkpoint yet: `tip` (from now on) or `beginning` (the program's whole history)."),
  INGEST_REDIS_STREAM: z
    .string()
    .min(1)
    .optional()
    .describe("Redis Stream to take payments from (needs REDIS_URL); setting it turns on the queue source."),
  INGEST_REDIS_GROUP: z
    .string()
    .min(1)
    .default("tributary-ws")
    .describe("Consumer group the nodes share, so each entry is processed by one of them."),
  INGEST_REDIS_CONSUMER: z
    .string()
    .min(1)
    .optional()
    .describe("This node's consumer name, unique per node. Default: `<hostname>-<pid>-<random>`."),
  INGEST_REDIS_MAX_DELIVERIES: integer(1, 1000)
    .default(5)
    .describe("Deliveries without success before an entry goes to the dead-letter stream."),
  INGEST_REDIS_CLAIM_IDLE_MS: integer(1, 24 * 3600 * 1000)
    .default(30_000)
    .describe("How long (ms) an entry stays unacknowledged before another consumer may claim it."),
  INGEST_REDIS_BATCH_SIZE: integer(1, 1000).default(100).describe("Entries per read and per store write."),
  MAX_BODY_BYTES: integer(1024, 100 * 1024 * 1024)
    .default(2 * 1024 * 1024)
    .describe("Largest `POST /v1/payments` body (bytes); 1000 payments with every optional field fit comfortably."),
  SHUTDOWN_TIMEOUT_MS: integer(100, 60_000)
    .default(8_000)
    .describe("Upper bound (ms) for a graceful drain on SIGTERM before the process exits anyway."),

  SUBSCRIBE_AUTH: z
    .enum(["none", "jwt"])
    .default("none")
    .describe("`jwt`: every `subscribe` (and `GET /v1/payments`) needs a token covering the tracking ID; `none` keeps the public API open."),
  SUBSCRIBE_JWT_SECRET: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .describe("HS256 secret (at least 32 characters) the merchant backend signs subscription tokens with."),
  SUBSCRIBE_JWKS_URL: z
    .string()
    .min(1)
    .refine(
      (value) => !/^http:\/\//i.test(value.trim()) || isAcceptableJwksUrl(value),
      "must be an https:// URL (keys fetched over plain http could be swapped on the way; only loopback may use http), a file path, or the JSON itself",
    )
    .optional()
    .describe(
      "Public keys of subscription tokens instead of a secret: an `https://` JWKS URL (plain http only to loopback), a JWKS file path, or the JSON itself.",
    ),
  SUBSCRIBE_JWT_AUDIENCE: z.string().min(1).optional().describe("The `aud` every subscription token must carry; required with `jwt`."),
  SUBSCRIBE_JWT_ISSUER: z.string().min(1).optional().describe("The `iss` every subscription token must carry, when set."),
  TRUSTED_PROXIES: addressList
    .default([])
    .describe("IPs or CIDR ranges whose `X-Forwarded-For` is believed. None: the TCP peer is the client."),
  MAX_CONNECTIONS_PER_IP: integer(0, 10_000_000)
    .default(1000)
    .describe("Socket.IO connections one client address (IPv6: one network of IPV6_PREFIX_LENGTH) may hold open; `0` for no limit."),
  MAX_HTTP_CONNECTIONS_PER_IP: integer(0, 10_000_000)
    .default(1200)
    .describe(
      "TCP connections (HTTP requests and WebSockets alike) one peer address may hold open; past it a new one is closed before a byte " +
        "is read. Trusted proxies are exempt. Must be above MAX_CONNECTIONS_PER_IP; `0` for no limit.",
    ),
  MAX_SUBSCRIPTIONS_PER_IP: integer(0, 1_000_000_000)
    .default(10_000)
    .describe("Subscriptions the sockets of one client address may hold together, recovery sessions included; `0` for no limit."),
  MAX_RECOVERY_SESSIONS: integer(1, 100_000_000)
    .default(20_000)
    .describe("Dropped sessions kept for recovery on this node; past it the oldest is released."),
  IPV6_PREFIX_LENGTH: integer(1, 128)
    .default(64)
    .describe("IPv6 clients are limited per network of this prefix length: one /64 is one subscriber's supply of addresses."),
  REQUEST_TIMEOUT_MS: integer(1000, 600_000)
    .default(30_000)
    .describe("Whole-request deadline (ms), headers and body: a request not received by then is answered 408."),
  MAX_JSON_DEPTH: integer(3, 1000)
    .default(16)
    .describe("Deepest JSON nesting accepted in a request body (a valid publish is 3 deep); deeper bodies are refused before parsing."),
  HISTORY_RATE_PER_SECOND: integer(0, 1_000_000)
    .default(20)
    .describe("History reads per second per client address, sustained (a read of up to 100 payments costs one); `0` for no limit."),
  HISTORY_BURST: integer(1, 1_000_000).default(100).describe("History reads one address may make in a burst, above the sustained rate."),
  HISTORY_KEY_RATE_PER_SECOND: integer(0, 1_000_000)
    .default(1000)
    .describe("History reads per second (and burst) per API key presented, for a backend reading on its customers' behalf; `0` for no limit."),
  MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: integer(0, 10_000_000)
    .default(1000)
    .describe("New Socket.IO connections per second one client address may open (also the burst); `0` for no limit."),
  SOCKET_EVENTS_PER_SECOND: integer(0, 1_000_000).default(100).describe("Events per second one socket may send, sustained; `0` for no limit."),
  SOCKET_EVENTS_BURST: integer(1, 1_000_000).default(500).describe("Events one socket may send in a burst, above the sustained rate."),
  SOCKET_RATE_LIMIT_STRIKES: integer(1, 1_000_000)
    .default(100)
    .describe("Events refused with RATE_LIMITED a socket may pile up (one is forgiven per second) before it is disconnected."),
  MAX_SUBSCRIPTIONS_PER_NODE: integer(1, 1_000_000_000).default(1_000_000).describe("Subscriptions all sockets of this node may hold together (of each worker process, with WORKERS above 1)."),
  PUBLISH_RATE_PER_SECOND: integer(0, 1_000_000)
    .default(10_000)
    .describe("`POST /v1/payments` requests per second per API key (per address without a valid key); `0` for no limit."),
  MAX_BUFFERED_BYTES_PER_SOCKET: integer(16 * 1024, 1024 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe("Bytes the server may hold for a socket that does not read; past it the socket is dropped."),
  METRICS_CACHE_MS: integer(0, 60_000)
    .default(1000)
    .describe(
      "How long (ms) `/metrics` and `/v1/stats` answer from one reading of the metrics; `0` reads them for every request. " +
        "Both need no key, and the reading is what they cost.",
    ),
  WEBHOOK_ALLOWED_HOSTS: list
    .refine((entries) => entries.every(isAllowedHostEntry), "must be comma-separated host names, IP addresses or CIDR ranges")
    .default([])
    .describe(
      "Webhook receivers reachable over plain http and at internal addresses (private, loopback, link-local, metadata): host names, " +
        "IPs or CIDR ranges. Empty: https to public addresses only.",
    ),
  WEBHOOK_RETRY_SCHEDULE_MS: durationList
    .default([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000])
    .describe("Delays (ms) before each retry of a failed webhook: the 2nd, 3rd, … attempt; the first is immediate. Jittered by ±20 %."),
  WEBHOOK_DISABLE_AFTER_MS: integer(1000, 365 * 24 * 3600 * 1000)
    .default(5 * 24 * 3600 * 1000)
    .describe("An endpoint failing for this long (ms) without a single success is disabled."),
  WEBHOOK_TIMEOUT_MS: integer(100, 120_000).default(15_000).describe("Bound (ms) on one webhook request, answer included."),
  WEBHOOK_CONNECT_TIMEOUT_MS: integer(100, 60_000).default(5_000).describe("Bound (ms) on opening the connection to a webhook receiver."),
  WEBHOOK_POLL_INTERVAL_MS: integer(10, 60_000)
    .default(1_000)
    .describe("How often (ms) each node looks for new payments and due retries; a payment stored on this node wakes it at once while an endpoint is enabled, and an endpoint added on another node is found by the next poll."),
  WEBHOOK_MAX_ENDPOINTS_PER_KEY: integer(1, 10_000).default(20).describe("Webhook endpoints one API key may register."),
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: integer(1, 1000)
    .default(8)
    .describe("Attempts in flight per endpoint and node, so one slow receiver holds only its own share."),
  WEBHOOK_MAX_IN_FLIGHT: integer(1, 100_000).default(256).describe("Attempts in flight per node."),
  WEBHOOK_LOG_RETENTION_MS: integer(3600_000, 10 * 365 * 24 * 3600 * 1000)
    .default(30 * 24 * 3600 * 1000)
    .describe("How long (ms) delivered and given-up webhook messages and the attempt log are kept."),
});

const envSchema = envShape.superRefine((env, context) => {
  if (env.MAX_HTTP_CONNECTIONS_PER_IP > 0 && env.MAX_HTTP_CONNECTIONS_PER_IP <= env.MAX_CONNECTIONS_PER_IP) {
    context.addIssue({
      code: "custom",
      path: ["MAX_HTTP_CONNECTIONS_PER_IP"],
      message: "must be above MAX_CONNECTIONS_PER_IP: every Socket.IO connection is a TCP connection too",
    });
  }
  if (env.SUBSCRIBE_AUTH !== "jwt") return;
  const keys = [env.SUBSCRIBE_JWT_SECRET, env.SUBSCRIBE_JWKS_URL].filter((key) => key !== undefined);
  if (keys.length !== 1) {
    context.addIssue({
      code: "custom",
      path: ["SUBSCRIBE_JWT_SECRET"],
      message: "SUBSCRIBE_AUTH=jwt needs exactly one of SUBSCRIBE_JWT_SECRET or SUBSCRIBE_JWKS_URL",
    });
  }
  if (env.SUBSCRIBE_JWT_AUDIENCE === undefined) {
    context.addIssue({ code: "custom", path: ["SUBSCRIBE_JWT_AUDIENCE"], message: "is required when SUBSCRIBE_AUTH=jwt" });
  }
});

export type Config = z.output<typeof envShape> & {
  /** Parsed form of DATABASE_URL. */
  database: { driver: "sqlite"; path: string } | { driver: "postgres"; url: string };
};

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Reads the config from environment variables; empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in envShape.shape && value !== undefined && value !== ""),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  if (parsed.data.INGEST_REDIS_STREAM !== undefined && parsed.data.REDIS_URL === undefined) {
    throw new ConfigError(["REDIS_URL: is required when INGEST_REDIS_STREAM is set (the stream is read from that Redis)"]);
  }
  const url = parsed.data.DATABASE_URL;
  if (parsed.data.WORKERS > 1 && url === "sqlite::memory:") {
    throw new ConfigError(["WORKERS: needs a store the workers share; sqlite::memory: would give each worker its own"]);
  }
  const database: Config["database"] = url.startsWith("sqlite:")
    ? { driver: "sqlite", path: url.slice("sqlite:".length) }
    : { driver: "postgres", url };
  return { ...parsed.data, database };
}
