/**
 * Entry point of a SQLite store's writer thread: owns the only write
 * connection to the file and answers the store's requests one at a time, in
 * the order they were sent.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openSqliteFileWriter } from "./sqlite-writer.js";
import { encodeError, encodeResults, type WriterReply, type WriterRequest, type WriterThreadData } from "./sqlite-writer-protocol.js";

const port = parentPort;
if (port === null) throw new Error("sqlite-writer-thread.ts runs as a worker thread, started by the SQLite store");
const { path, busyTimeoutMs } = workerData as WriterThreadData;
const writer = openSqliteFileWriter(path, busyTimeoutMs, Date.now);

function handle(request: WriterRequest): unknown {
  switch (request.op) {
    case "commit":
      return encodeResults(writer.commit(request.group));
    case "writeCheckpoint":
      return writer.writeCheckpoint(request.source, request.value);
    case "pruneStep":
      return writer.pruneStep(request.policy, request.cursor);
    case "ping":
      return writer.ping();
    case "close":
      writer.close();
      return undefined;
  }
}

port.on("message", (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = { id: request.id, ok: true, value: handle(request) };
  } catch (error) {
    reply = { id: request.id, ok: false, error: encodeError(error) };
  }
  port.postMessage(reply);
  if (request.op === "close") port.close();
});
