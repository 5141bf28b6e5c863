import type { Socket } from "socket.io";
import type { ErrorCode } from "../errors.js";
import { refilled } from "../limits/token-bucket.js";
import type { Metrics } from "../metrics.js";
import type { SubscriptionResponse } from "../protocol/wire.js";
import { errorEnvelope } from "../protocol/envelopes.js";
import { useMiddleware } from "./engine/socket-middleware.js";

export interface EventRate {
  /** Sustained events per second. */
  perSecond: number;
  /** Events allowed in a burst. */
  burst: number;
  /** Refused events tolerated (one forgiven per second) before the socket is disconnected. */
  strikes: number;
}

type Acknowledge = (response: SubscriptionResponse) => void;

/** How an over-the-rate event is answered: RATE_LIMITED to the socket, and to its callback when it passed one. */
export type RefuseEvent = (socket: Socket, code: ErrorCode, message: string, acknowledge: Acknowledge | undefined) => void;

/** Strikes are forgiven at this rate. */
const STRIKES_PER_SECOND = 1;

/**
 * One socket's two token buckets in one object: events, and strikes (refusals).
 * Both refill from the same moment, which changes nothing, since a bucket
 * refilled in two steps holds what it would hold refilled in one.
 */
class SocketBudget {
  cutOff = false;

  constructor(
    public events: number,
    public strikes: number,
    public updatedAt: number,
  ) {}
}

/**
 * Events per socket as a token bucket. An event over the rate is refused
 * with RATE_LIMITED; refusals use up a second, slowly refilling bucket,
 * and a client that empties it (keeps flooding) is disconnected.
 *
 * One limiter serves every socket; what a socket adds is its budget and the
 * middleware closure (two TokenBuckets and closures of their own cost about
 * 560 bytes per connection).
 */
export class EventRateLimit {
  private readonly message: string;

  constructor(
    private readonly rate: EventRate,
    private readonly metrics: Metrics,
    private readonly refuse: RefuseEvent,
  ) {
    this.message = `Too many events (limit ${rate.perSecond} per second, bursts of ${rate.burst}); this one was ignored`;
  }

  attach(socket: Socket): void {
    const budget = new SocketBudget(this.rate.burst, this.rate.strikes, performance.now());
    useMiddleware(socket, (packet, next) => this.admit(socket, budget, packet, next));
  }

  private admit(socket: Socket, budget: SocketBudget, packet: unknown[], next: () => void): void {
    // Packets that arrived in the same read as the one that tipped the client over.
    if (budget.cutOff) return;
    const now = performance.now();
    const elapsedSeconds = Math.max(0, now - budget.updatedAt) / 1000;
    budget.updatedAt = now;
    budget.events = refilled(budget.events, this.rate.burst, this.rate.perSecond, elapsedSeconds);
    budget.strikes = refilled(budget.strikes, this.rate.strikes, STRIKES_PER_SECOND, elapsedSeconds);
    if (budget.events >= 1) {
      budget.events -= 1;
      return next();
    }
    this.metrics.limited.inc({ limit: "socket_events" });
    if (budget.strikes < 1) {
      budget.cutOff = true;
      this.metrics.limited.inc({ limit: "socket_events_disconnect" });
      this.metrics.countError("CONNECTION_ERROR");
      socket.emit("error", errorEnvelope("CONNECTION_ERROR", "Too many events over the rate limit; disconnected"));
      socket.disconnect(true);
      return;
    }
    budget.strikes -= 1;
    const last: unknown = packet[packet.length - 1];
    this.refuse(socket, "RATE_LIMITED", this.message, typeof last === "function" ? (last as Acknowledge) : undefined);
  }
}
