import type { Server as HttpServer } from "node:http";
import type { Server as SocketIoServer } from "socket.io";
import type { PrimaryChannel } from "./primary-channel.js";
import { isPublishRequest, PUBLISHING_WORKER_INDEX } from "./publishing-worker.js";
import { newSessionId } from "./session-ids.js";

/**
 * A worker's side of the primary's sticky router. Each connection the
 * primary hands over is served by this worker's HTTP server, the bytes the
 * primary read put back in front. Session ids name this worker, which is
 * how the primary sends a session's later requests here. Every HTTP answer
 * closes its connection, so a keep-alive connection never carries the next
 * request to a worker the primary did not choose; the one exception is the
 * publishing worker's answer to a publish, which the primary would send
 * here again. A publisher then pays for one TCP connection and hand-over,
 * not one per batch (about half a millisecond of the node's CPU each).
 */
export function takeHandedConnections(io: SocketIoServer, workerIndex: number, primary: PrimaryChannel): void {
  io.engine.generateId = () => newSessionId(workerIndex);
  const http = io.httpServer as HttpServer;
  const keepsPublishers = workerIndex === PUBLISHING_WORKER_INDEX;
  http.prependListener("request", (request, response) => {
    if (!(keepsPublishers && isPublishRequest(request))) response.setHeader("Connection", "close");
  });
  primary.onConnection((socket, bytesRead) => {
    http.emit("connection", socket);
    socket.unshift(bytesRead);
  });
}
