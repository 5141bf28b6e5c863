import type { Socket } from "socket.io";
import type { ErrorCode } from "../errors.js";
import { TokenBucket } from "../limits/token-bucket.js";
import type { Metrics } from "../metrics.js";
import type { SubscriptionResponse } from "../protocol/wire.js";
import { errorEnvelope } from "./envelopes.js";

export interface EventRate {
  /** Sustained events per second. */
  perSecond: number;
  /** Events allowed in a burst. */
  burst: number;
  /** Refused events tolerated (one forgiven per second) before the socket is disconnected. */
  strikes: number;
}

/**
 * Events per socket as a token bucket. An event over the rate is refused
 * with RATE_LIMITED; refusals use up a second, slowly refilling bucket,
 * and a client that empties it (keeps flooding) is disconnected.
 */
export function limitEventRate(
  socket: Socket,
  rate: EventRate,
  metrics: Metrics,
  refuse: (code: ErrorCode, message: string, acknowledge: ((response: SubscriptionResponse) => void) | undefined) => void,
): void {
  const events = new TokenBucket(rate.burst, rate.perSecond);
  const strikes = new TokenBucket(rate.strikes, 1);
  let cutOff = false;
  socket.use((packet, next) => {
    // Packets that arrived in the same read as the one that tipped the client over.
    if (cutOff) return;
    if (events.take()) return next();
    metrics.limited.inc({ limit: "socket_events" });
    if (!strikes.take()) {
      cutOff = true;
      metrics.limited.inc({ limit: "socket_events_disconnect" });
      metrics.countError("CONNECTION_ERROR");
      socket.emit("error", errorEnvelope("CONNECTION_ERROR", "Too many events over the rate limit; disconnected"));
      socket.disconnect(true);
      return;
    }
    const last: unknown = packet[packet.length - 1];
    refuse(
      "RATE_LIMITED",
      `Too many events (limit ${rate.perSecond} per second, bursts of ${rate.burst}); this one was ignored`,
      typeof last === "function" ? (last as (response: SubscriptionResponse) => void) : undefined,
    );
  });
}
