import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from "jose";
import { paymentBody } from "../support/payments.js";
import { emitWithAck, startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";
import { nextEvent } from "../support/wait.js";

const SECRET = "a-test-secret-of-at-least-32-bytes-long";
const AUDIENCE = "tributary-ws";
const ISSUER = "merchant-backend";

/** What a merchant backend does: sign a short-lived token naming what this subscriber may watch. */
async function mint(
  claims: JWTPayload & { tids?: string[]; tid_prefix?: string },
  { secret = SECRET, audience = AUDIENCE, issuer = ISSUER, expiresIn = "5m" as string | number } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setAudience(audience)
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

describe("subscriber auth with an HS256 secret", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      SUBSCRIBE_AUTH: "jwt",
      SUBSCRIBE_JWT_SECRET: SECRET,
      SUBSCRIBE_JWT_AUDIENCE: AUDIENCE,
      SUBSCRIBE_JWT_ISSUER: ISSUER,
    });
  });
  after(() => server.close());

  test("a token in the payload that lists the tracking ID lets it subscribe, and payments arrive", async () => {
    const socket = await server.connect();
    const token = await mint({ tids: ["order-1", "order-2"] });
    const response = await emitWithAck(socket, "subscribe", { trackingId: "order-2", token });
    assert.equal(response.ok, true);
    const payment = nextEvent<any>(socket, "payment");
    await server.publish(paymentBody({ trackingId: "order-2" }));
    assert.equal((await payment).data.trackingId, "order-2");
  });

  test("the handshake's auth.token covers every subscribe of the connection; a payload token wins over it", async () => {
    const socket = await server.connect({ auth: { token: await mint({ tids: ["hs-a"] }) } });
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "hs-a" })).ok, true);
    const other = await emitWithAck(socket, "subscribe", { trackingId: "hs-b" });
    assert.equal(other.ok, false);
    assert.equal(other.error.code, "UNAUTHORIZED");
    const payloadToken = await mint({ tids: ["hs-b"] });
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "hs-b", token: payloadToken })).ok, true);
  });

  test("a tid_prefix claim covers every tracking ID that starts with it, and nothing else", async () => {
    const socket = await server.connect({ auth: { token: await mint({ tid_prefix: "merchant-7:" }) } });
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "merchant-7:sub-1" })).ok, true);
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "merchant-7:sub-2" })).ok, true);
    const refused = await emitWithAck(socket, "subscribe", { trackingId: "merchant-8:sub-1" });
    assert.equal(refused.error.code, "UNAUTHORIZED");
  });

  test("a tid_prefix never covers a longer neighbour: merchant-42 does not reach merchant-420, over the socket or HTTP", async () => {
    await server.publish(paymentBody({ trackingId: "merchant-420:order-1" }));
    await server.publish(paymentBody({ trackingId: "merchant-42:order-1" }));
    for (const prefix of ["merchant-42", "merchant-42:"]) {
      const token = await mint({ tid_prefix: prefix });
      const socket = await server.connect({ auth: { token } });
      assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "merchant-42:order-1" })).ok, true, prefix);
      const neighbour = await emitWithAck(socket, "subscribe", { trackingId: "merchant-420:order-1" });
      assert.equal(neighbour.error.code, "UNAUTHORIZED", prefix);
      assert.match(neighbour.error.message, /does not cover trackingId: merchant-420:order-1/);
      const history = (trackingId: string) =>
        fetch(`${server.url}/v1/payments?trackingId=${encodeURIComponent(trackingId)}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await history("merchant-42:order-1")).status, 200, prefix);
      assert.equal((await history("merchant-420:order-1")).status, 401, prefix);
      socket.disconnect();
    }
  });

  const refusals: Array<[string, () => Promise<string | undefined>, RegExp]> = [
    ["no token at all", async () => undefined, /token is required/],
    ["an expired token", () => mint({ tids: ["refused"] }, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ["the wrong audience", () => mint({ tids: ["refused"] }, { audience: "someone-else" }), /aud/],
    ["the wrong issuer", () => mint({ tids: ["refused"] }, { issuer: "someone-else" }), /iss/],
    ["another tracking ID", () => mint({ tids: ["not-this-one"] }), /does not cover trackingId: refused/],
    ["another secret", () => mint({ tids: ["refused"] }, { secret: "another-secret-that-is-32-bytes-long!!" }), /invalid/],
    ["garbage", async () => "not.a.jwt", /invalid/],
    [
      "no exp claim",
      () =>
        new SignJWT({ tids: ["refused"] })
          .setProtectedHeader({ alg: "HS256" })
          .setAudience(AUDIENCE)
          .setIssuer(ISSUER)
          .sign(new TextEncoder().encode(SECRET)),
      /exp/,
    ],
  ];

  for (const [label, token, message] of refusals) {
    test(`${label}: UNAUTHORIZED as an error envelope and in the ack, and the connection stays`, async () => {
      const socket = await server.connect();
      const error = nextEvent<any>(socket, "error");
      const presented = await token();
      const response = await emitWithAck(socket, "subscribe", { trackingId: "refused", ...(presented === undefined ? {} : { token: presented }) });
      assert.equal(response.ok, false);
      assert.equal(response.error.code, "UNAUTHORIZED");
      assert.match(response.error.message, message);
      const envelope = await error;
      assert.equal(envelope.type, "error");
      assert.deepEqual(envelope.data, response.error);
      // Not a member of the room: a payment for it does not arrive, while a covered subscribe still works.
      const good = await mint({ tids: ["after-refusal"] });
      assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "after-refusal", token: good })).ok, true);
      assert.equal(socket.connected, true);
      const serverSocket = server.app.gateway.io.sockets.sockets.get(socket.id!);
      assert.equal(serverSocket?.rooms.has("t:refused"), false);
    });
  }

  test("the history of a tracking ID needs a covering token or a publisher's API key", async () => {
    await server.publish(paymentBody({ trackingId: "history-1" }));
    const read = async (authorization?: string) => {
      const response = await fetch(`${server.url}/v1/payments?trackingId=history-1`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      return { status: response.status, body: (await response.json()) as any };
    };
    const anonymous = await read();
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, "UNAUTHORIZED");
    assert.equal((await read(`Bearer ${await mint({ tids: ["history-2"] })}`)).status, 401);
    const covered = await read(`Bearer ${await mint({ tids: ["history-1"] })}`);
    assert.equal(covered.status, 200);
    assert.equal(covered.body.payments.length, 1);
    assert.equal((await read(`Bearer ${TEST_API_KEY}`)).status, 200);
  });
});

describe("subscriber auth with a remote JWKS", () => {
  let server: TestServer;
  let jwksServer: Server;
  let fetches = 0;
  let signingKey: CryptoKey;
  let strangerKey: CryptoKey;

  before(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair("ES256")).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwksServer = createServer((_request, response) => {
      fetches++;
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const { port } = jwksServer.address() as AddressInfo;
    server = await startTestServer({
      SUBSCRIBE_AUTH: "jwt",
      SUBSCRIBE_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      SUBSCRIBE_JWT_AUDIENCE: AUDIENCE,
    });
  });
  after(async () => {
    await server.close();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  const sign = (key: CryptoKey, trackingIds: string[]) =>
    new SignJWT({ tids: trackingIds }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setAudience(AUDIENCE).setExpirationTime("1m").sign(key);

  test("a token signed by a key of the JWKS is accepted; one signed by another key is not", async () => {
    const socket = await server.connect({ auth: { token: await sign(signingKey, ["jwks-1"]) } });
    assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "jwks-1" })).ok, true);
    assert.ok(fetches >= 1, "the JWKS was fetched");
    const forged = await emitWithAck(socket, "subscribe", { trackingId: "jwks-1", token: await sign(strangerKey, ["jwks-1"]) });
    assert.equal(forged.ok, false);
    assert.equal(forged.error.code, "UNAUTHORIZED");
  });

  test("an HS256 token keyed with the public JWK's text is refused (no algorithm confusion)", async () => {
    const socket = await server.connect();
    const token = await new SignJWT({ tids: ["jwks-2"] })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setAudience(AUDIENCE)
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(JSON.stringify({ keys: [] }).padEnd(32, " ")));
    const response = await emitWithAck(socket, "subscribe", { trackingId: "jwks-2", token });
    assert.equal(response.error.code, "UNAUTHORIZED");
  });
});

describe("subscriber auth off (the default)", () => {
  test("the spec's clients subscribe without any token", async () => {
    const server = await startTestServer();
    try {
      const socket = await server.connect();
      assert.equal((await emitWithAck(socket, "subscribe", { trackingId: "open-1" })).ok, true);
      assert.equal((await server.get("/v1/payments?trackingId=open-1")).status, 200);
    } finally {
      await server.close();
    }
  });
});
