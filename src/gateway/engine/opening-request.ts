// Relies on Engine.IO's WebSocket response stand-in (one `once("close")` listener on the TCP socket, `transport.socket._socket`)
// and on Socket.IO's `handshake` fields (headers, query, url, time); test/unit/engine-internals.test.ts checks them.
import type { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { ParsedUrlQuery } from "node:querystring";
import type { Socket } from "socket.io";
import type { EngineConnection } from "./engine-connection.js";

type Listener = (...args: unknown[]) => void;

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});
const NO_QUERY: ParsedUrlQuery = Object.freeze({});

/**
 * What a connection keeps of the HTTP request it was opened with, once
 * Socket.IO is connected: nothing of the request itself, and of the
 * handshake Socket.IO built from it only what is not the client's to size,
 * less the time it was made (a date string). The gateway reads
 * `handshake.auth` (subscriber tokens) and nothing else; the request's
 * headers, query and URL stay in the handshake otherwise, for the
 * connection's life (a browser sends a dozen headers or more, cookies too).
 */
export function releaseOpeningRequest(socket: Socket): void {
  releaseUpgradeRequest(socket.conn as unknown as EngineConnection);
  socket.handshake.headers = NO_HEADERS;
  socket.handshake.query = NO_QUERY;
  socket.handshake.url = "";
  // A Date's string form, 80 bytes per connection, that nothing reads.
  socket.handshake.time = "";
}

/**
 * Lets go of the request itself (~1.4 KB per connection). Clearing `conn.request` alone frees nothing for a
 * WebSocket: Engine.IO's response stand-in holds it through a `close` listener, removed here when it is the only
 * `once` listener. Details: docs/decisions/socket-io-internals.md.
 */
function releaseUpgradeRequest(conn: EngineConnection): void {
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
