import type { IncomingMessage } from "node:http";
import { ERRORS } from "../errors.js";
import type { ConnectionLimiter } from "../limits/connection-limiter.js";
import type { RefusalLog } from "../limits/refusal-log.js";
import type { Metrics } from "../metrics.js";
import type { EngineConnection } from "./engine/engine-connection.js";

export interface ConnectionAdmissionOptions {
  metrics: Metrics;
  /** Allowed browser origins; `*` allows all. */
  corsOrigins: readonly string[];
  /** Whether the gateway is draining: new handshakes are then refused. */
  isDraining: () => boolean;
  refusals?: RefusalLog | undefined;
  clientAddress?: ((request: IncomingMessage) => string) | undefined;
  connectionLimiter?: ConnectionLimiter | undefined;
}

/**
 * Who may open a connection: refused while draining, from an origin not
 * allowed, or past the address's connection limits; each open connection is
 * counted against its address until it closes.
 */
export class ConnectionAdmission {
  /** Each open connection's client address, counted down in the limiter when it closes. */
  private readonly connectionAddresses = new WeakMap<EngineConnection, string>();
  /**
   * One listener for every connection's close (Engine.IO emits it once, with the
   * connection as `this`): a closure and a `once` wrapper per connection cost
   * about 400 bytes each.
   */
  private readonly onEngineClose: (this: EngineConnection) => void;

  constructor(private readonly options: ConnectionAdmissionOptions) {
    const { connectionAddresses } = this;
    this.onEngineClose = function (this: EngineConnection) {
      const address = connectionAddresses.get(this);
      if (address === undefined) return;
      connectionAddresses.delete(this);
      options.connectionLimiter?.closed(address);
    };
  }

  /** Why a handshake is refused, or undefined to let it in. Refusing while draining sends new clients to other nodes. */
  refuseHandshake(request: IncomingMessage): string | undefined {
    if (this.options.isDraining()) return "The server is shutting down";
    // Socket.IO's cors option shapes polling answers only; a WebSocket upgrade from another page's origin would open anyway.
    const origin = request.headers.origin;
    const allowed = this.options.corsOrigins;
    if (origin !== undefined && !allowed.includes("*") && !allowed.includes(origin) && !isSameOrigin(origin, request)) {
      this.options.metrics.limited.inc({ limit: "websocket_origin" });
      this.options.metrics.countError("CONNECTION_ERROR");
      this.options.refusals?.refused("websocket_origin", { origin: origin.slice(0, 200) }, "refused a handshake from an origin not in CORS_ORIGINS");
      return "This origin is not allowed";
    }
    const limiter = this.options.connectionLimiter;
    if (limiter === undefined) return undefined;
    const address = this.addressOf(request);
    const refusal = limiter.admit(address);
    if (refusal === undefined) return undefined;
    this.options.metrics.limited.inc({ limit: refusal });
    this.options.metrics.countError("CONNECTION_LIMIT");
    return refusal === "connections_per_ip" ? ERRORS.CONNECTION_LIMIT.message : "Too many new connections from this address";
  }

  addressOf(request: IncomingMessage): string {
    return this.options.clientAddress?.(request) ?? request.socket.remoteAddress ?? "unknown";
  }

  /** Counts an Engine.IO connection against its address until it closes. */
  opened(conn: EngineConnection): void {
    const limiter = this.options.connectionLimiter;
    if (limiter === undefined) return;
    // Engine.IO's connection event comes with the request; it is let go only after Socket.IO's connect.
    if (conn.request === null) return;
    const address = this.addressOf(conn.request);
    const withinLimit = limiter.opened(address);
    this.connectionAddresses.set(conn, address);
    conn.on("close", this.onEngineClose);
    // Two handshakes of one address can both pass `admit` before either is counted; the later one goes.
    if (!withinLimit) {
      this.options.metrics.limited.inc({ limit: "connections_per_ip" });
      this.options.metrics.countError("CONNECTION_LIMIT");
      conn.close();
    }
  }

  /** Addresses the limiter tracks now; for stats. */
  get trackedAddresses(): number {
    return this.options.connectionLimiter?.trackedAddresses ?? 0;
  }
}

/** The live payments page served by this server talks to its own origin; a browser sets Host to what it connected to. */
function isSameOrigin(origin: string, request: IncomingMessage): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The client address a socket (or its kept session) was counted under. */
export function addressOfData(data: unknown): string {
  const address = (data as { address?: unknown } | undefined)?.address;
  return typeof address === "string" ? address : "unknown";
}
