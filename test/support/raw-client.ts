import WebSocket from "ws";

/**
 * A Socket.IO client written by hand on top of `ws`, one level below
 * socket.io-client: it can send what the stock client never would, and it
 * can stop reading.
 */
export interface RawClient {
  ws: WebSocket;
  /** Every text frame received, in order. */
  frames: string[];
  /** Resolves with the first frame (already received or still to come) that matches. */
  waitFor(match: (frame: string) => boolean, timeoutMs?: number): Promise<string>;
  closed: Promise<number>;
}

export function engineUrl(httpUrl: string, query = "EIO=4&transport=websocket"): string {
  return `${httpUrl.replace(/^http/, "ws")}/ws/v1/?${query}`;
}

/** Opens an Engine.IO WebSocket session; with `namespace`, also joins that Socket.IO namespace. */
export async function rawConnect(httpUrl: string, options: { namespace?: string | null } = {}): Promise<RawClient> {
  const ws = new WebSocket(engineUrl(httpUrl));
  const frames: string[] = [];
  const waiters = new Set<{ match: (frame: string) => boolean; resolve: (frame: string) => void }>();
  ws.on("message", (data, isBinary) => {
    const frame = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
    // Answer Engine.IO pings like a live client, so only the behaviour under test ends a session.
    if (frame === "2") ws.send("3");
    frames.push(frame);
    for (const waiter of waiters) if (waiter.match(frame)) waiter.resolve(frame);
  });
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  ws.on("error", () => undefined);
  const client: RawClient = {
    ws,
    frames,
    closed,
    waitFor(match, timeoutMs = 5000) {
      const seen = frames.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (frame: string) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(frame);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms; frames so far: ${frames.slice(-5).join(" | ")}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
  await client.waitFor((frame) => frame.startsWith("0{"));
  const namespace = options.namespace === undefined ? "/" : options.namespace;
  if (namespace !== null) {
    ws.send(namespace === "/" ? "40" : `40${namespace},`);
    await client.waitFor((frame) => frame.startsWith(namespace === "/" ? "40" : `40${namespace},`) || frame.startsWith("44"));
  }
  return client;
}

/** Emits a Socket.IO event on the main namespace. */
export function rawEmit(client: RawClient, event: string, ...args: unknown[]): void {
  client.ws.send(`42${JSON.stringify([event, ...args])}`);
}
