import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { createJwtAuthorizer, prefixCovers } from "../../src/gateway/subscribe-authorizer.js";

test("a local JWKS, as a file or as inline JSON, verifies tokens without any network", async () => {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "offline", alg: "EdDSA" }] });
  const dir = mkdtempSync(join(tmpdir(), "tributary-jwks-"));
  try {
    const file = join(dir, "jwks.json");
    writeFileSync(file, jwks);
    const token = await new SignJWT({ tid_prefix: "air-gapped:" })
      .setProtectedHeader({ alg: "EdDSA", kid: "offline" })
      .setAudience("ws")
      .setExpirationTime("1m")
      .sign(privateKey);
    for (const source of [file, jwks]) {
      const authorizer = createJwtAuthorizer({ jwks: source, audience: "ws" });
      assert.deepEqual(await authorizer.authorize("air-gapped:1", { handshake: token }), { ok: true });
      assert.equal((await authorizer.authorize("elsewhere", { handshake: token })).ok, false);
      assert.equal((await authorizer.authorize("air-gapped:1", { handshake: 42, payload: "" })).ok, false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tid_prefix covers only what lies past a separator, never a longer neighbour", () => {
  assert.equal(prefixCovers("merchant-42:", "merchant-42:order-1"), true);
  assert.equal(prefixCovers("merchant-42", "merchant-42:order-1"), true);
  assert.equal(prefixCovers("merchant-42", "merchant-42/order-1"), true);
  assert.equal(prefixCovers("merchant-42", "merchant-420:order-1"), false);
  assert.equal(prefixCovers("merchant-42:", "merchant-420:order-1"), false);
  assert.equal(prefixCovers("merchant-42", "merchant-42-order-1"), false, "`-` is part of a name, not a separator");
  assert.equal(prefixCovers("merchant-42", "merchant-42"), false, "a prefix covers what is below it, not itself");
  assert.equal(prefixCovers("merchant-42:", "merchant-42:"), false);
  assert.equal(prefixCovers("", ":x"), false);
});

test("a JWKS URL over plain http is refused", () => {
  assert.throws(() => createJwtAuthorizer({ jwks: "http://keys.example/jwks.json", audience: "ws" }), /must be https/);
});
