import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { OutboundPolicy } from "../../src/webhooks/outbound-policy.js";
import { WebhookSender, type Resolver } from "../../src/webhooks/webhook-sender.js";
import { generateSecret, sign, signatureHeader, verifySignature } from "../../src/webhooks/webhook-signature.js";
import { startWebhookReceiver } from "../support/webhook-receiver.js";

/** Every client socket this process creates while `run` runs, and whether each one connected. */
async function watchSockets<T>(run: () => Promise<T>): Promise<{ result: T; created: number; connected: string[] }> {
  const sockets: Socket[] = [];
  const connected: string[] = [];
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    sockets.push(socket);
    socket.on("connect", () => connected.push(`${socket.remoteAddress}:${socket.remotePort}`));
  };
  subscribe("net.client.socket", onSocket);
  try {
    const result = await run();
    return { result, created: sockets.length, connected };
  } finally {
    unsubscribe("net.client.socket", onSocket);
  }
}

function resolverTo(addresses: string[], asked: string[]): Resolver {
  return async (hostname) => {
    asked.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

describe("webhook sender: outbound policy", () => {
  const internal = [
    ["10.0.0.1"],
    ["169.254.169.254"],
    ["192.168.1.1"],
    ["172.16.5.4"],
    ["127.0.0.1"],
    ["100.64.0.1"],
    ["0.0.0.0"],
    ["::1"],
    ["fd00:ec2::254"],
    ["fe80::1"],
    ["::ffff:10.0.0.1"],
    // One internal answer among public ones is enough to refuse the name.
    ["93.184.216.34", "10.1.2.3"],
  ];
  for (const addresses of internal) {
    test(`a name resolving to ${addresses.join(", ")} is refused in the lookup, before any connection`, async () => {
      const asked: string[] = [];
      const sender = new WebhookSender({
        policy: new OutboundPolicy([]),
        resolver: resolverTo(addresses, asked),
        connectTimeoutMs: 1000,
        responseTimeoutMs: 2000,
      });
      try {
        const { result, connected } = await watchSockets(() =>
          sender.send({ url: "https://merchant.test:8443/hook", headers: {}, body: "{}" }),
        );
        assert.deepEqual(asked, ["merchant.test"], "the injected resolver answered, not DNS");
        assert.equal(result.failure, "refused");
        assert.match(result.error ?? "", /internal address/);
        assert.equal(result.statusCode, undefined);
        assert.deepEqual(connected, [], "no socket connected");
      } finally {
        sender.close();
      }
    });
  }

  test("internal IP literals are refused without a lookup or a socket", async () => {
    const asked: string[] = [];
    const sender = new WebhookSender({ policy: new OutboundPolicy([]), resolver: resolverTo([], asked), connectTimeoutMs: 1000, responseTimeoutMs: 2000 });
    try {
      for (const url of ["https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://[::ffff:192.168.1.1]/x"]) {
        const { result, created } = await watchSockets(() => sender.send({ url, headers: {}, body: "{}" }));
        assert.equal(result.failure, "refused", url);
        assert.equal(created, 0, `${url}: no socket was even created`);
      }
      const plain = await sender.send({ url: "http://merchant.test/hook", headers: {}, body: "{}" });
      assert.match(plain.error ?? "", /must be https/);
      assert.deepEqual(asked, []);
    } finally {
      sender.close();
    }
  });

  test("a host allowed by name is reached over http at a loopback address (the watch sees connections)", async () => {
    const receiver = await startWebhookReceiver();
    const asked: string[] = [];
    const sender = new WebhookSender({
      policy: new OutboundPolicy(["receiver.test"]),
      resolver: resolverTo(["127.0.0.1"], asked),
      connectTimeoutMs: 1000,
      responseTimeoutMs: 2000,
    });
    try {
      const { result, connected } = await watchSockets(() =>
        sender.send({ url: `http://receiver.test:${receiver.port}/hook`, headers: { "content-type": "application/json" }, body: '{"a":1}' }),
      );
      assert.equal(result.statusCode, 200);
      assert.deepEqual(connected, [`127.0.0.1:${receiver.port}`]);
      assert.equal(receiver.received[0]?.body, '{"a":1}');
    } finally {
      sender.close();
      await receiver.close();
    }
  });

  test("an allowed range admits its addresses and nothing else", () => {
    const policy = new OutboundPolicy(["10.20.0.0/16", "127.0.0.1"]);
    assert.equal(policy.refuseAddress("a.test", "10.20.3.4"), undefined);
    assert.match(policy.refuseAddress("a.test", "10.21.3.4") ?? "", /internal/);
    assert.equal(policy.refuseUrl(new URL("http://127.0.0.1:8080/x")), undefined);
    assert.match(policy.refuseUrl(new URL("https://user:pw@example.com/")) ?? "", /credentials/);
    assert.equal(policy.refuseAddress("example.com", "93.184.216.34"), undefined);
  });

  test("redirects are not followed: a 3xx is the answer", async () => {
    const receiver = await startWebhookReceiver(() => ({ status: 307, headers: { location: "http://169.254.169.254/" } }));
    const sender = new WebhookSender({ policy: new OutboundPolicy(["127.0.0.1"]), connectTimeoutMs: 1000, responseTimeoutMs: 2000 });
    try {
      const { result, connected } = await watchSockets(() => sender.send({ url: receiver.url, headers: {}, body: "{}" }));
      assert.equal(result.statusCode, 307);
      assert.deepEqual(connected, [`127.0.0.1:${receiver.port}`]);
      assert.equal(receiver.received.length, 1);
    } finally {
      sender.close();
      await receiver.close();
    }
  });
});

describe("webhook sender: kept-alive connections", () => {
  test("an idle connection is closed by the sender before the receiver's announced keep-alive timeout ends", async () => {
    // The receiver announces `Keep-Alive: timeout=3` and closes an idle connection after 3 s; a webhook sent on
    // it at that moment would be reset. The sender must close first.
    const server = createServer((request, response) => {
      request.resume();
      request.on("end", () => response.writeHead(200).end());
    });
    server.keepAliveTimeout = 3000;
    const closedBy = new Promise<"sender" | "receiver">((resolve) => {
      server.once("connection", (socket: Socket) => {
        socket.once("end", () => resolve("sender"));
        socket.once("close", () => resolve("receiver"));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const sender = new WebhookSender({ policy: new OutboundPolicy(["127.0.0.1"]), connectTimeoutMs: 1000, responseTimeoutMs: 2000 });
    try {
      const result = await sender.send({ url: `http://127.0.0.1:${port}/hook`, headers: {}, body: "{}" });
      assert.equal(result.statusCode, 200);
      assert.equal(await closedBy, "sender");
    } finally {
      sender.close();
      server.close();
    }
  });
});

describe("webhook signatures", () => {
  test("match the reference implementation, and verify in constant time against any entry", () => {
    const secret = generateSecret();
    assert.equal(Buffer.from(secret.slice(6), "base64").length, 32);
    const timestamp = 1_700_000_000;
    const reference = new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), '{"x":1}');
    assert.equal(sign(secret, "msg_1", timestamp, '{"x":1}'), reference);
    const old = generateSecret();
    const header = signatureHeader([{ secret }, { secret: old, expiresAt: 2_000 }], 1_000, "msg_1", timestamp, '{"x":1}');
    assert.equal(header.split(" ").length, 2);
    assert.equal(verifySignature(old, header, "msg_1", timestamp, '{"x":1}'), true);
    assert.equal(verifySignature(secret, header, "msg_1", timestamp, '{"x":2}'), false);
    const expired = signatureHeader([{ secret }, { secret: old, expiresAt: 2_000 }], 2_000, "msg_1", timestamp, '{"x":1}');
    assert.equal(expired.split(" ").length, 1, "the old secret stops signing when its day is over");
  });
});
