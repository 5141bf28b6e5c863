import type { Server } from "socket.io";
import { errorEnvelope } from "../protocol/envelopes.js";

/**
 * Tells every client why it is being dropped (`CONNECTION_ERROR`), then
 * closes the transports without a Socket.IO disconnect packet: the stock
 * client treats that as a transport loss and reconnects on its own, to this
 * node after a restart or to another one behind the load balancer.
 * Resolves when every connection has closed or the timeout has passed.
 */
export async function dropAllConnections(io: Server, message: string, timeoutMs: number): Promise<void> {
  io.local.emit("error", errorEnvelope("CONNECTION_ERROR", message));
  const clients = [...io.sockets.sockets.values()].map((socket) => socket.conn);
  const closed = clients.map(
    (conn) =>
      new Promise<void>((resolve) => {
        if (conn.readyState === "closed") return resolve();
        conn.once("close", () => resolve());
        // Without `discard`, Engine.IO flushes the error envelope first.
        conn.close();
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.all(closed), timeout]);
  clearTimeout(timer);
}

/** Closes the Socket.IO server and its connections; resolves once it has. */
export function closeSocketServer(io: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    // Server.close also closes the HTTP server, which its owner closes itself.
    void io.close(() => resolve());
  });
}
