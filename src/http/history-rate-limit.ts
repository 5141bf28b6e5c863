import type { FastifyRequest } from "fastify";
import { ServiceError } from "../errors.js";
import { KeyedRateLimiter } from "../limits/token-bucket.js";
import { MAX_HISTORY_LIMIT } from "./routes/payment-routes.js";

/** Payments one token of the history budget pays for: a read of `limit=1000` costs ten reads of the default 100. */
const PAYMENTS_PER_HISTORY_TOKEN = 100;

export interface HistoryRateLimitOptions {
  /** Reads (of up to 100 payments) per second per client address group, sustained; 0 for no limit. */
  perAddressPerSecond: number;
  /** Reads one address group may make in a burst. */
  perAddressBurst: number;
  /** Reads per second (and burst) per API key presented; 0 for no limit. */
  perKeyPerSecond: number;
  identifyApiKey: (authorization: string | undefined) => number | undefined;
  addressGroup: (address: string) => string;
  onLimited: (limit: "history_rate_per_ip" | "history_rate_per_key") => void;
}

/**
 * A token bucket per address group for history reads, and one per API key
 * for backends that read on their customers' behalf. A read costs a token
 * per 100 payments it asks for (`limit`), so a flood of the largest pages
 * is held to a tenth of the rate. It runs before the query is validated or
 * the store is touched, so a refusal costs a map lookup.
 */
export function createHistoryRateLimit(options: HistoryRateLimitOptions): (request: FastifyRequest) => Promise<void> {
  const byAddress =
    options.perAddressPerSecond > 0 ? new KeyedRateLimiter(options.perAddressBurst, options.perAddressPerSecond) : undefined;
  const byKey = options.perKeyPerSecond > 0 ? new KeyedRateLimiter(options.perKeyPerSecond, options.perKeyPerSecond) : undefined;
  return async (request) => {
    const cost = readCost(request.query);
    const key = options.identifyApiKey(request.headers.authorization);
    if (key !== undefined) {
      if (byKey === undefined || byKey.take(String(key), undefined, cost)) return;
      options.onLimited("history_rate_per_key");
      throw new ServiceError("RATE_LIMITED", `Too many history reads for this API key (limit ${options.perKeyPerSecond} per second)`);
    }
    if (byAddress === undefined || byAddress.take(options.addressGroup(request.ip), undefined, cost)) return;
    options.onLimited("history_rate_per_ip");
    throw new ServiceError("RATE_LIMITED", `Too many history reads from this address (limit ${options.perAddressPerSecond} per second)`);
  };
}

/** Tokens a read costs: one per 100 payments of its `limit` (the route's default is 100); at most the largest page's. */
function readCost(query: unknown): number {
  const limit = Number((query as { limit?: unknown } | undefined)?.limit);
  if (!Number.isInteger(limit) || limit <= PAYMENTS_PER_HISTORY_TOKEN) return 1;
  return Math.ceil(Math.min(limit, MAX_HISTORY_LIMIT) / PAYMENTS_PER_HISTORY_TOKEN);
}
