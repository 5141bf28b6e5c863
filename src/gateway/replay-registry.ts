import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { errorEnvelope, paymentEnvelope, policyEnvelope } from "../protocol/envelopes.js";
import type { GatewaySocket } from "./gateway-socket.js";
import { ReplaySession, type ReplayHistory } from "./replay-session.js";
import { isTrackingRoom, trackingIdOf } from "./tracking-rooms.js";

export interface ReplayRegistryOptions {
  history: ReplayHistory;
  /** Payments read from the store per replay step. */
  pageSize: number;
  /** Resolves once the tracking ID's room has emitted every offset up to `offset`, so a replay hands over to it without a gap. */
  catchUp: (trackingId: string, offset: number) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
}

export interface ReplayRequest {
  trackingId: string;
  since: number;
  /** The store's latest offset when the socket joined the room; the replay reads up to it, the room takes over after. */
  latestAtStart: number;
  policySince: number | undefined;
  /** Waits until the client has read enough to be sent the next page. */
  pace: () => Promise<void>;
}

/**
 * The replays in progress (`subscribe {since}`), per tracking ID and socket:
 * a replaying socket gets the room's live payments from its replay, in order,
 * until the replay has caught up with the room.
 */
export class ReplayRegistry {
  /** Tracking ID → socket id → session. */
  private readonly replays = new Map<string, Map<string, ReplaySession>>();

  constructor(private readonly options: ReplayRegistryOptions) {}

  /** Tracking IDs with a replay in progress. */
  get size(): number {
    return this.replays.size;
  }

  /** The sessions replaying this tracking ID, by socket id. */
  replaying(trackingId: string): ReadonlyMap<string, ReplaySession> | undefined {
    // Asked for every live payment, and almost always with no replay at all: no hashing of the ID then.
    return this.replays.size === 0 ? undefined : this.replays.get(trackingId);
  }

  has(trackingId: string, socketId: string): boolean {
    return this.replays.get(trackingId)?.has(socketId) === true;
  }

  start(socket: GatewaySocket, request: ReplayRequest): ReplaySession {
    const { trackingId, since } = request;
    const { history, pageSize, metrics, catchUp } = this.options;
    const session = new ReplaySession({
      trackingId,
      since,
      policySince: request.policySince,
      sendPolicy: (event) => socket.emit("policy", policyEnvelope(event)),
      latestAtStart: request.latestAtStart,
      history,
      pageSize,
      send: (payment) => socket.emit("payment", paymentEnvelope(payment)),
      pace: request.pace,
      onTruncated: (firstAvailable) => {
        metrics.countError("REPLAY_TRUNCATED");
        const envelope = errorEnvelope(
          "REPLAY_TRUNCATED",
          `Payments of ${trackingId} after offset ${since} up to ${firstAvailable - 1} are no longer retained; replaying from offset ${firstAvailable}`,
        );
        // Beside the spec's code and message: which replay was cut, and where it resumes.
        socket.emit("error", { ...envelope, data: { ...envelope.data, trackingId, firstAvailableOffset: firstAvailable } });
      },
      catchUp: (offset) => catchUp(trackingId, offset),
      onCaughtUp: () => this.end(socket.id, trackingId),
    });
    let sessions = this.replays.get(trackingId);
    if (sessions === undefined) this.replays.set(trackingId, (sessions = new Map()));
    sessions.set(socket.id, session);
    metrics.replays.inc();
    return session;
  }

  async run(socket: GatewaySocket, session: ReplaySession): Promise<void> {
    try {
      await session.run();
    } catch (error) {
      // The client cannot be brought up to date; dropping it makes it reconnect and ask again.
      this.options.logger.error({ err: error, trackingId: session.trackingId }, "replay failed");
      this.end(socket.id, session.trackingId);
      socket.emit("error", errorEnvelope("CONNECTION_ERROR", "Replay failed; reconnect to continue"));
      socket.conn.close();
    }
  }

  end(socketId: string, trackingId: string): void {
    const sessions = this.replays.get(trackingId);
    const session = sessions?.get(socketId);
    if (session === undefined || sessions === undefined) return;
    session.cancel();
    sessions.delete(socketId);
    if (sessions.size === 0) this.replays.delete(trackingId);
    this.options.metrics.replays.dec();
  }

  /** Ends every replay of a socket that is leaving or being dropped. */
  endAll(socket: GatewaySocket): void {
    for (const room of socket.rooms) if (isTrackingRoom(room)) this.end(socket.id, trackingIdOf(room));
  }
}
