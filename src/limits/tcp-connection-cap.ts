import type { Server, Socket } from "node:net";
import { normaliseAddress } from "./client-address.js";

export interface TcpConnectionCapOptions {
  /** Open TCP connections one peer address group may hold; 0 for no limit. */
  maxPerAddress: number;
  /** The key the address is counted under (IPv6 grouped by prefix). */
  group: (address: string) => string;
  /** Peers not counted: trusted proxies carry many clients on their connections. */
  isExempt: (address: string) => boolean;
  /** Called for each connection closed for being one too many. */
  onRefused: (address: string) => void;
}

/**
 * Caps the TCP connections one address may hold open: HTTP requests,
 * WebSockets and half-sent requests alike. It is counted at the socket's
 * `connection`, before a byte is parsed, so a refusal costs a close and no
 * more; the Socket.IO limit only sees completed handshakes.
 */
export class TcpConnectionCap {
  private readonly open = new Map<string, number>();
  private readonly keys = new WeakMap<Socket, string>();
  /** One listener for every socket's close (with the socket as `this`): a closure per connection would cost memory per client. */
  private readonly onClose: (this: Socket) => void;

  constructor(private readonly options: TcpConnectionCapOptions) {
    const { open, keys } = this;
    this.onClose = function (this: Socket) {
      const key = keys.get(this);
      if (key === undefined) return;
      keys.delete(this);
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    };
  }

  /**
   * Stops counting a connection that is still open but no longer this
   * process's: a socket handed to another process never emits `close` here.
   */
  release(socket: Socket): void {
    socket.off("close", this.onClose);
    this.onClose.call(socket);
  }

  /** Counts the connections of an HTTP server (an http.Server is a net.Server) or of the workers' router. */
  attach(server: Server): void {
    if (this.options.maxPerAddress <= 0) return;
    server.on("connection", (socket: Socket) => this.onConnection(socket));
  }

  private onConnection(socket: Socket): void {
    const peer = normaliseAddress(socket.remoteAddress ?? "unknown");
    if (this.options.isExempt(peer)) return;
    const key = this.options.group(peer);
    const count = (this.open.get(key) ?? 0) + 1;
    if (count > this.options.maxPerAddress) {
      this.options.onRefused(key);
      socket.destroy();
      return;
    }
    this.open.set(key, count);
    this.keys.set(socket, key);
    socket.on("close", this.onClose);
  }
}
