// Relies on Engine.IO emitting `headers` with the upgrade request before `ws` writes the 101, the open packet following
// within the same turn; test/unit/engine-internals.test.ts checks them.
import type { IncomingMessage } from "node:http";

/**
 * Sends a new WebSocket client's `101` and its Engine.IO open packet in one write (corked until setImmediate):
 * two syscalls were a tenth of a connect. Why and what it relies on: docs/decisions/socket-io-internals.md.
 */
export function mergeHandshakeWrites(request: IncomingMessage): void {
  if (request.headers.upgrade?.toLowerCase() !== "websocket") return;
  const { socket } = request;
  socket.cork();
  setImmediate(() => socket.uncork());
}
