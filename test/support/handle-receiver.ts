/**
 * A stand-in worker for the sticky router's tests, run with `fork`: it takes
 * a handed-over connection as a worker's PrimaryChannel does (the socket,
 * then the bytes the primary read put back in front), reads up to "END\n",
 * and reports what it read.
 */
import type { Socket } from "node:net";

process.on("message", (message: { type?: string; data?: Buffer }, socket?: Socket) => {
  if (message.type !== "tributary:connection" || socket === undefined) return;
  socket.unshift(Buffer.from(message.data ?? []));
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
    if (text.endsWith("END\n")) {
      process.send?.({ type: "received", text });
      socket.end();
    }
  });
});
process.send?.({ type: "ready" });
