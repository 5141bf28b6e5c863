import { z } from "zod";
import { parseAddressOrRange } from "./limits/client-address.js";
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

const envShape = z.object({
  PORT: integer(0, 65535).default(8080),
  /**
   * Processes serving this node's clients: one (the default) or more, one per
   * core, behind a primary that keeps each client on one worker.
   */
  WORKERS: integer(1, 64).default(1),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .regex(
      /^(sqlite:.+|postgres(ql)?:\/\/.+)$/,
      "must look like sqlite:<path> (sqlite::memory: for a throwaway store) or postgres://user:password@host:port/database",
    )
    .default("sqlite:./data/tributary.sqlite"),
  TRIBUTARY_API_KEYS: list.default([]),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** `*` allows every origin, as a public notification API needs by default. */
  CORS_ORIGINS: list.default(["*"]),
  MAX_SUBSCRIPTIONS_PER_SOCKET: integer(1, 100_000).default(100),
  /** Largest Engine.IO message accepted from a client; a bigger one closes that socket. */
  MAX_HTTP_BUFFER_SIZE: integer(1024, 100 * 1024 * 1024).default(16 * 1024),
  /** How long (ms) a dropped client keeps its rooms and missed payments through Socket.IO recovery. */
  RECOVERY_WINDOW_MS: integer(0, 24 * 60 * 60 * 1000).default(2 * 60 * 1000),
  /** Most broadcasts kept for recovery, whatever their age; past it the oldest go, so memory stays bounded under sustained load. */
  RECOVERY_MAX_PACKETS: integer(1, 100_000_000).default(250_000),
  /** Payments read from the store per step when a client replays with `since`. */
  REPLAY_PAGE_SIZE: integer(1, 10_000).default(500),
  /** Retention by age: delete payments received more than this many seconds ago; 0 keeps them forever. */
  RETENTION_MAX_AGE_SECONDS: integer(0, 100 * 365 * 24 * 3600).default(0),
  /** Retention by count: keep at most this many newest payments per tracking ID; 0 keeps all. */
  RETENTION_MAX_PER_TRACKING_ID: integer(0, 1_000_000_000).default(0),
  /** How often (ms) retention runs, when a bound is set. */
  RETENTION_INTERVAL_MS: integer(1000, 24 * 3600 * 1000).default(60_000),
  /** Redis for several nodes: payments committed on any node reach the subscribers of every node. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).optional(),
  /** Most cross-node publishes waiting on Redis before new ones are shed (and caught up from the store). */
  CLUSTER_MAX_PENDING_PUBLISHES: integer(1, 10_000_000).default(10_000),
  /** Solana JSON-RPC endpoint; setting it switches on the chain watcher source. */
  SOLANA_RPC_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Solana pub/sub endpoint; derived from SOLANA_RPC_URL (ws scheme, port + 1 if explicit) when unset. */
  SOLANA_WS_URL: z.url({ protocol: /^wss?$/, error: "must be a ws(s) URL" }).optional(),
  TRIBUTARY_PROGRAM_ID: z
    .string()
    .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "must be a base58 program id")
    .default("TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ"),
  /** `finalized` never reports a payment that is later rolled back, but is about 13 s later. */
  SOLANA_COMMITMENT: z.enum(["confirmed", "finalized"]).default("confirmed"),
  /** Where the watcher begins with no checkpoint: `tip` (from now on) or `beginning` (the whole history). */
  SOLANA_START_FROM: z.enum(["tip", "beginning"]).default("tip"),
  /** Redis Stream of payments to consume (needs REDIS_URL); setting it switches on the queue source. */
  INGEST_REDIS_STREAM: z.string().min(1).optional(),
  /** Consumer group the nodes share, so each entry is processed by one of them. */
  INGEST_REDIS_GROUP: z.string().min(1).default("tributary-ws"),
  /** This node's consumer name; unique per node. Default: <hostname>-<pid>-<random>. */
  INGEST_REDIS_CONSUMER: z.string().min(1).optional(),
  /** Deliveries an entry may have without being stored before it goes to the dead-letter stream. */
  INGEST_REDIS_MAX_DELIVERIES: integer(1, 1000).default(5),
  /** How long (ms) an entry stays unacknowledged before another consumer may claim it. */
  INGEST_REDIS_CLAIM_IDLE_MS: integer(1, 24 * 3600 * 1000).default(30_000),
  /** Entries per read and per store write. */
  INGEST_REDIS_BATCH_SIZE: integer(1, 1000).default(100),
  /** Largest HTTP publish body; 1000 payments with every optional field fit comfortably. */
  MAX_BODY_BYTES: integer(1024, 100 * 1024 * 1024).default(2 * 1024 * 1024),
  /** Upper bound (ms) for a graceful shutdown before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: integer(100, 60_000).default(8_000),

  /** `jwt`: every subscribe must carry a token that covers its tracking ID. `none` keeps the public API open. */
  SUBSCRIBE_AUTH: z.enum(["none", "jwt"]).default("none"),
  /** HS256 secret the merchant backend signs subscription tokens with; at least 32 bytes. */
  SUBSCRIBE_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** JWKS with the public keys of subscription tokens: an http(s) URL, a file path, or the JSON itself. */
  SUBSCRIBE_JWKS_URL: z.string().min(1).optional(),
  /** The `aud` every subscription token must carry. */
  SUBSCRIBE_JWT_AUDIENCE: z.string().min(1).optional(),
  /** The `iss` every subscription token must carry, when set. */
  SUBSCRIBE_JWT_ISSUER: z.string().min(1).optional(),
  /** Proxies whose X-Forwarded-For is believed: IPs or CIDR ranges. None: the TCP peer is the client. */
  TRUSTED_PROXIES: addressList.default([]),
  /** Socket.IO connections one client address may hold open; 0 for no limit. */
  MAX_CONNECTIONS_PER_IP: integer(0, 10_000_000).default(10_000),
  /** New Socket.IO connections per second one client address may open (also the burst); 0 for no limit. */
  MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: integer(0, 10_000_000).default(1000),
  /** Events per second one socket may send, sustained; 0 for no limit. */
  SOCKET_EVENTS_PER_SECOND: integer(0, 1_000_000).default(100),
  /** Events one socket may send in a burst, above the sustained rate. */
  SOCKET_EVENTS_BURST: integer(1, 1_000_000).default(500),
  /** Events refused with RATE_LIMITED that a socket may accumulate (one is forgiven per second) before it is disconnected. */
  SOCKET_RATE_LIMIT_STRIKES: integer(1, 1_000_000).default(100),
  /** Subscriptions all sockets of this node may hold together. */
  MAX_SUBSCRIPTIONS_PER_NODE: integer(1, 1_000_000_000).default(1_000_000),
  /** POST /v1/payments requests per second one API key may make; 0 for no limit. */
  PUBLISH_RATE_PER_SECOND: integer(0, 1_000_000).default(10_000),
  /** Bytes the server may hold for one socket that does not read; past it the socket is dropped. */
  MAX_BUFFERED_BYTES_PER_SOCKET: integer(16 * 1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),

  /**
   * Webhook receivers reachable over plain http and at internal addresses
   * (private, loopback, link-local, metadata): host names, IPs or CIDR
   * ranges. Empty: https to public addresses only.
   */
  WEBHOOK_ALLOWED_HOSTS: list
    .refine((entries) => entries.every(isAllowedHostEntry), "must be comma-separated host names, IP addresses or CIDR ranges")
    .default([]),
  /** Delays (ms) before each retry of a failed webhook: the 2nd, 3rd, … attempt; the first is immediate. Jittered by ±20 %. */
  WEBHOOK_RETRY_SCHEDULE_MS: durationList.default([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  /** An endpoint failing for this long (ms) without a single success is disabled. */
  WEBHOOK_DISABLE_AFTER_MS: integer(1000, 365 * 24 * 3600 * 1000).default(5 * 24 * 3600 * 1000),
  /** Bound (ms) on one webhook request, answer included. */
  WEBHOOK_TIMEOUT_MS: integer(100, 120_000).default(15_000),
  /** Bound (ms) on opening the connection to a webhook receiver. */
  WEBHOOK_CONNECT_TIMEOUT_MS: integer(100, 60_000).default(5_000),
  /** How often (ms) each node looks for new payments and due retries; a payment stored on this node wakes it at once. */
  WEBHOOK_POLL_INTERVAL_MS: integer(10, 60_000).default(1_000),
  /** Webhook endpoints one API key may register. */
  WEBHOOK_MAX_ENDPOINTS_PER_KEY: integer(1, 10_000).default(20),
  /** Attempts in flight per endpoint and node, so one slow receiver holds only its own share. */
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: integer(1, 1000).default(8),
  /** Attempts in flight per node. */
  WEBHOOK_MAX_IN_FLIGHT: integer(1, 100_000).default(256),
  /** How long (ms) delivered and given-up webhook messages and the attempt log are kept. */
  WEBHOOK_LOG_RETENTION_MS: integer(3600_000, 10 * 365 * 24 * 3600 * 1000).default(30 * 24 * 3600 * 1000),
});

const envSchema = envShape.superRefine((env, context) => {
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
