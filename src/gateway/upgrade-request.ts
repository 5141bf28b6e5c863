import type { EventEmitter } from "node:events";
import type { EngineConnection } from "./engine-connection.js";

type Listener = (...args: unknown[]) => void;

/**
 * Lets go of the HTTP request a connection was opened with, once Socket.IO
 * has built the handshake from it (about 1.4 KB per connection: the
 * IncomingMessage with its headers, raw headers and stream state).
 *
 * Clearing `conn.request` (Socket.IO's documented way) alone frees nothing
 * for a WebSocket: to run its middlewares on the upgrade, Engine.IO wraps
 * the request in a response stand-in that subscribes, with `once`, to the
 * TCP socket's `close` for the connection's whole life, so the request lives
 * as long as the connection. That subscription only re-emits `close` to the
 * stand-in, which nothing here listens to, so it is removed. After an
 * upgrade the HTTP server has taken its own listeners off the socket and
 * `ws` adds its own with `on`: a single `once` listener is the stand-in's.
 * If there is any other number, something unknown is there and all stay.
 *
 * A polling connection upgrades later, with a request of its own: that one
 * is let go when the upgrade completes.
 */
export function releaseUpgradeRequest(conn: EngineConnection): void {
  conn.request = null;
  if (conn.transport.name === "websocket") dropResponseStandIn(conn.transport);
  else conn.once("upgrade", () => dropResponseStandIn(conn.transport));
}

function dropResponseStandIn(transport: EngineConnection["transport"]): void {
  const tcp = transport.socket?._socket as EventEmitter | undefined;
  if (tcp === undefined) return;
  const once = tcp.rawListeners("close").filter((listener) => typeof (listener as { listener?: unknown }).listener === "function");
  if (once.length === 1) tcp.removeListener("close", once[0] as Listener);
}
