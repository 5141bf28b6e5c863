import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect, type AddressInfo, type Socket } from "node:net";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { newSessionId } from "../../src/workers/session-ids.js";
import { StickyRouter, type RoutableWorker, type StickyRouterOptions } from "../../src/workers/sticky-router.js";

const RECEIVER = fileURLToPath(new URL("../support/handle-receiver.ts", import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

async function startReceiver(): Promise<{ child: ChildProcess; worker: RoutableWorker }> {
  const child = fork(RECEIVER, [], { execArgv: ["--import", "tsx"], serialization: "advanced" });
  children.push(child);
  const [message] = (await once(child, "message")) as [{ type: string }];
  assert.equal(message.type, "ready");
  return {
    child,
    worker: { send: (message, handle, callback) => child.send(message as object, handle, callback), isConnected: () => child.connected },
  };
}

/** The router's view of these workers: all up, each at its place in the list. */
function routing(workers: RoutableWorker[]): Pick<StickyRouterOptions, "workers" | "workerAt"> {
  return { workers: () => workers, workerAt: (index) => workers[index] };
}

async function listen(router: StickyRouter): Promise<number> {
  router.server.listen(0, "127.0.0.1");
  await once(router.server, "listening");
  return (router.server.address() as AddressInfo).port;
}

function write(socket: Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(text, (error) => (error ? reject(error) : resolve())));
}

/** What the stand-in worker read from the next connection it took, up to "END\n". */
function received(child: ChildProcess, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(new Error(`the worker did not read up to END within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { type: string; text: string }) => {
      if (message.type !== "received") return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(message.text);
    };
    child.on("message", onMessage);
  });
}

/** What the router itself answers to a request, read to the end of the connection. */
async function answerTo(port: number, request: string): Promise<string> {
  const client = connect(port, "127.0.0.1");
  await write(client, request);
  let answer = "";
  client.on("data", (chunk: Buffer) => (answer += chunk.toString()));
  await once(client, "end");
  return answer;
}

/** Sends a request with the given request line per call; resolves with the index of the receiver that took it. */
function takerOf(port: number, receivers: ReadonlyArray<{ child: ChildProcess }>): (requestLine: string) => Promise<number> {
  let onTaken: (index: number) => void = () => undefined;
  receivers.forEach((receiver, index) =>
    receiver.child.on("message", (message: { type: string }) => {
      if (message.type === "received") onTaken(index);
    }),
  );
  return async (requestLine) => {
    const taken = new Promise<number>((resolve) => (onTaken = resolve));
    const client = connect(port, "127.0.0.1");
    await write(client, `${requestLine}\r\nHost: x\r\n\r\nEND\n`);
    const index = await taken;
    client.destroy();
    return index;
  };
}

test("bytes a client sends while the worker has not yet taken its connection reach the worker, none stay with the primary", async () => {
  const { child, worker } = await startReceiver();
  let handedOver: () => void = () => undefined;
  const handover = new Promise<void>((resolve) => (handedOver = resolve));
  const router = new StickyRouter({ ...routing([worker]), maxBodyBytes: 1_000_000, onHandedOver: () => handedOver() });
  const port = await listen(router);
  try {
    // A stopped worker cannot acknowledge the handle, so the primary's copy
    // stays open for as long as the test needs: the window where it used to read.
    child.kill("SIGSTOP");
    const client = connect(port, "127.0.0.1");
    await write(client, "GET /ws/v1/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\r\n");
    await handover;
    await write(client, "the namespace connect and a subscribe END\n");
    // Two turns of the primary's event loop: where it would read the bytes, it has.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const text = received(child);
    child.kill("SIGCONT");
    assert.equal(await text, "GET /ws/v1/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\r\nthe namespace connect and a subscribe END\n");
    client.destroy();
  } finally {
    child.kill("SIGCONT");
    router.server.close();
  }
});

test("a request of a session goes to the worker its id names, with no word from that worker; new ones take turns", async () => {
  const receivers = [await startReceiver(), await startReceiver()];
  const router = new StickyRouter({ ...routing(receivers.map((receiver) => receiver.worker)), maxBodyBytes: 1_000_000 });
  const port = await listen(router);
  const taker = takerOf(port, receivers);
  const send = (path: string) => taker(`GET ${path} HTTP/1.1`);
  try {
    const ofWorker1 = newSessionId(1);
    for (let i = 0; i < 4; i++) assert.equal(await send(`/ws/v1/?EIO=4&transport=polling&sid=${ofWorker1}`), 1);
    assert.equal(await send(`/ws/v1/?EIO=4&transport=websocket&sid=${ofWorker1}`), 1);
    assert.equal(await send(`/ws/v1/?EIO=4&sid=${newSessionId(0)}&transport=polling&t=x`), 0);
    const fresh = [await send("/ws/v1/?EIO=4&transport=polling"), await send("/ws/v1/?EIO=4&transport=polling")];
    assert.deepEqual(fresh.sort(), [0, 1]);
    // A session of a worker that is not up, or an id not of ours: any worker, which answers that it does not know it.
    const strays = [await send(`/ws/v1/?EIO=4&transport=polling&sid=${newSessionId(7)}`), await send(`/ws/v1/?EIO=4&transport=polling&sid=${newSessionId(7)}`)];
    assert.deepEqual(strays.sort(), [0, 1]);
    const foreign = [await send("/ws/v1/?EIO=4&transport=polling&sid=AbCdEfGhIjKlMnOp-_12"), await send("/ws/v1/?EIO=4&transport=polling&sid=1.short")];
    assert.deepEqual(foreign.sort(), [0, 1]);
  } finally {
    router.server.close();
  }
});

test("pinned requests go to their worker while it is up, and to any worker when it is not", async () => {
  const receivers = [await startReceiver(), await startReceiver()];
  let pinnedUp = true;
  const pinned = receivers[1]!.worker;
  const router = new StickyRouter({
    ...routing(receivers.map((receiver) => receiver.worker)),
    maxBodyBytes: 1_000_000,
    pinned: { requestLinePrefix: "POST /v1/payments", worker: () => (pinnedUp ? pinned : undefined) },
  });
  const port = await listen(router);
  const send = takerOf(port, receivers);
  try {
    for (let i = 0; i < 3; i++) assert.equal(await send("POST /v1/payments HTTP/1.1"), 1);
    assert.deepEqual([await send("GET /v1/payments?trackingId=x HTTP/1.1"), await send("GET /v1/health HTTP/1.1")].sort(), [0, 1]);
    pinnedUp = false;
    assert.deepEqual([await send("POST /v1/payments HTTP/1.1"), await send("POST /v1/payments HTTP/1.1")].sort(), [0, 1]);
  } finally {
    router.server.close();
  }
});

test("a request head and body in several pieces go over whole with its connection; a chunked one is refused with 411", async () => {
  const { child, worker } = await startReceiver();
  const router = new StickyRouter({ ...routing([worker]), maxBodyBytes: 1_000_000 });
  const port = await listen(router);
  try {
    const body = `${"x".repeat(200_000)}END\n`;
    const text = received(child);
    const accepted = once(router.server, "connection") as Promise<[Socket]>;
    const client = connect(port, "127.0.0.1");
    const [primarySide] = await accepted;
    // Each piece is written once the router has read the one before, so each
    // reaches it as a read of its own: the head's end split between two
    // pieces, then the body in three.
    const pieces = [
      `POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r`,
      `\n${body.slice(0, 70_000)}`,
      body.slice(70_000, 140_000),
      body.slice(140_000),
    ];
    for (const piece of pieces) {
      let left = Buffer.byteLength(piece);
      const read = new Promise<void>((resolve) =>
        primarySide.on("data", function counted(chunk: Buffer) {
          left -= chunk.length;
          if (left > 0) return;
          primarySide.off("data", counted);
          resolve();
        }),
      );
      await write(client, piece);
      await read;
    }
    assert.equal(await text, `POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    client.destroy();

    assert.match(await answerTo(port, "POST /v1/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), /^HTTP\/1\.1 411 /);
  } finally {
    router.server.close();
  }
});

test("with no worker to take it, a connection is answered 503", async () => {
  const router = new StickyRouter({ ...routing([]), maxBodyBytes: 1_000_000 });
  const port = await listen(router);
  try {
    assert.match(await answerTo(port, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 503 /);
  } finally {
    router.server.close();
  }
});
