import type { IncomingMessage } from "node:http";

/**
 * Sends a new WebSocket client's `101 Switching Protocols` and its Engine.IO
 * open packet in one write. `ws` writes the 101 as soon as it has the
 * headers; Engine.IO writes the open packet a microtask later, once the
 * session exists. On their own they are two syscalls, and on a busy node a
 * write costs about a tenth of a whole connect, so the socket is corked from
 * the headers to the end of the turn's I/O callbacks (setImmediate: after the
 * microtask that sends the open packet, whatever Engine.IO awaits first).
 */
export function mergeHandshakeWrites(request: IncomingMessage): void {
  if (request.headers.upgrade?.toLowerCase() !== "websocket") return;
  const { socket } = request;
  socket.cork();
  setImmediate(() => socket.uncork());
}
