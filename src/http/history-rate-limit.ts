import type { FastifyRequest } from "fastify";
import { ServiceError } from "../errors.js";
import { KeyedRateLimiter } from "../limits/token-bucket.js";

export interface HistoryRateLimitOptions {
  /** Reads per second per client address group, sustained; 0 for no limit. */
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
 * for backends that read on their customers' behalf. It runs before the
 * query is parsed or the store is touched, so a refusal costs a map lookup.
 */
export function createHistoryRateLimit(options: HistoryRateLimitOptions): (request: FastifyRequest) => Promise<void> {
  const byAddress =
    options.perAddressPerSecond > 0 ? new KeyedRateLimiter(options.perAddressBurst, options.perAddressPerSecond) : undefined;
  const byKey = options.perKeyPerSecond > 0 ? new KeyedRateLimiter(options.perKeyPerSecond, options.perKeyPerSecond) : undefined;
  return async (request) => {
    const key = options.identifyApiKey(request.headers.authorization);
    if (key !== undefined) {
      if (byKey === undefined || byKey.take(String(key))) return;
      options.onLimited("history_rate_per_key");
      throw new ServiceError("RATE_LIMITED", `Too many history reads for this API key (limit ${options.perKeyPerSecond} per second)`);
    }
    if (byAddress === undefined || byAddress.take(options.addressGroup(request.ip))) return;
    options.onLimited("history_rate_per_ip");
    throw new ServiceError("RATE_LIMITED", `Too many history reads from this address (limit ${options.perAddressPerSecond} per second)`);
  };
}
