// Relies on the Engine.IO and ws internals engine-connection.ts names (the connection's `readyState`, `upgrading` and
// `writeBuffer`, its transport's `writable` and `opts`, ws's `readyState`, `_sender` and `_socket`); test/unit/engine-internals.test.ts
// checks them. The write itself is the write coalescer's (write-coalescer.ts).
import type { EngineConnection } from "./engine-connection.js";

/** ws's Sender state when it is neither compressing nor reading a Blob, so a frame written now is next on the wire. */
const SENDER_IDLE = 0;
const WS_OPEN = 1;
/** Engine.IO's "message" packet type and socket.io-parser's EVENT packet type, as text: "42". */
const MESSAGE_EVENT = [0x34, 0x32] as const;

/**
 * The WebSocket frame for a Socket.IO event on the main namespace whose
 * socket.io-parser text is "2" + `json`: one text frame, unmasked (server to
 * client), holding Engine.IO's "4" and that text, in one buffer. The same
 * bytes as socket.io-adapter's precomputed frame, made without the string
 * concatenations and the two-part frame it builds on the way.
 */
export function messageFrame(json: string): Buffer {
  const length = Buffer.byteLength(json) + MESSAGE_EVENT.length;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  // FIN and the text opcode.
  frame[0] = 0x81;
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame[head] = MESSAGE_EVENT[0];
  frame[head + 1] = MESSAGE_EVENT[1];
  frame.write(json, head + MESSAGE_EVENT.length);
  return frame;
}

/**
 * Whether a frame written to the connection's TCP socket now would be next on
 * the wire, as it would be through Engine.IO: an open WebSocket connection,
 * not upgrading, with nothing queued in Engine.IO, its transport idle (not
 * mid-send, not held), no compression, and ws's sender idle. Bytes the
 * kernel does not take at once then wait in the TCP socket, where the
 * slow-consumer cap counts them (ws's `bufferedAmount`).
 */
export function idleForDirectWrite(conn: EngineConnection): boolean {
  const { readyState, upgrading, writeBuffer, transport } = conn;
  if (readyState !== "open" || upgrading || writeBuffer.length > 0) return false;
  if (transport.name !== "websocket" || !transport.writable || transport.opts?.perMessageDeflate) return false;
  const ws = transport.socket;
  const sender = ws?._sender;
  return ws?.readyState === WS_OPEN && sender?._state === SENDER_IDLE && sender._queue?.length === 0 && ws._socket?.writable === true;
}
