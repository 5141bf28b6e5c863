// Relies on Engine.IO's Socket internals: `request`, `readyState`, `upgrading`, `writeBuffer`, `flush()`, `transport.writable`,
// `transport.opts` and the ws socket (`readyState`, `bufferedAmount`, `_sender`, `_socket`), and `close` emitted with the
// connection as `this`; test/unit/engine-internals.test.ts checks them.
import type { IncomingMessage } from "node:http";

/** The parts of an Engine.IO connection the limits and the write path read; its typings keep them internal. */
export interface EngineConnection {
  /** Null once the gateway has let go of it; see opening-request.ts. */
  request: IncomingMessage | null;
  readyState: string;
  upgrading: boolean;
  writeBuffer: Array<{ data?: unknown }>;
  transport: {
    name: string;
    writable: boolean;
    opts?: { perMessageDeflate?: unknown };
    socket?: {
      readyState?: number;
      bufferedAmount?: number;
      terminate?: () => void;
      _sender?: { _state?: number; _queue?: unknown[] };
      _socket?: { writable: boolean; cork(): void; uncork(): void; write(chunk: Uint8Array): boolean };
    };
  };
  flush(): void;
  once(event: "close" | "drain" | "upgrade", listener: () => void): unknown;
  on(event: "close", listener: (this: EngineConnection) => void): unknown;
  off(event: "close" | "drain", listener: () => void): unknown;
  close(discard?: boolean): unknown;
}

/**
 * Bytes waiting for one client: the WebSocket's unsent bytes plus the packets
 * Engine.IO holds until the transport drains (string length as the byte
 * count: close enough for a cap). Stops counting once past `stopAt`.
 */
export function bufferedBytes(conn: EngineConnection, stopAt: number): number {
  let total = conn.transport.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer) {
    if (total > stopAt) break;
    const { data } = packet;
    total += typeof data === "string" ? data.length : data instanceof Uint8Array ? data.byteLength : 0;
  }
  return total;
}
