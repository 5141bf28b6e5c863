import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext } from "playwright-core";
import { webRoot } from "../../src/package-root.js";
import { ChainPolicy } from "../support/chain-policy.js";
import { SolanaRpcStandIn } from "../support/solana-rpc-stand-in.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { waitUntil } from "../support/wait.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let node: SolanaRpcStandIn;
let server: TestServer;
let context: BrowserContext;
let profileDir: string;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  assert.ok(existsSync(join(webRoot(), "index.html")), "the page is not built: run `npm run build` first");
  node = await SolanaRpcStandIn.start();
  server = await startTestServer({ SOLANA_RPC_URL: node.httpUrl, SOLANA_WS_URL: node.wsUrl });
  await waitUntil(async () => (await server.get("/v1/health")).body.sources.solana.state === "live", "the watcher is live", 15_000);
  profileDir = mkdtempSync(join(tmpdir(), "tributary-chromium-"));
  context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
});
after(async () => {
  await context.close();
  rmSync(profileDir, { recursive: true, force: true });
  await server.close();
  await node.close();
});

test("the page shows each watched tracking ID's policy status: as stored when watching starts, then as it changes", async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });

  const policy = new ChainPolicy(node, "badge-sub");
  policy.create();
  policy.setStatus("paused");
  await waitUntil(async () => (await server.get("/v1/history?trackingId=badge-sub&kind=policy")).body.items.length === 2, "both stored");

  await page.goto(server.url);
  await page.getByLabel("Tracking IDs to watch").fill("badge-sub");
  await page.getByRole("button", { name: "Watch", exact: true }).click();
  const badge = page.getByLabel("Policy status of badge-sub");
  await badge.filter({ hasText: "paused" }).waitFor();

  policy.setStatus("active");
  await badge.filter({ hasText: "active" }).waitFor();
  policy.delete();
  await badge.filter({ hasText: "deleted" }).waitFor();
  assert.match((await badge.getAttribute("class")) ?? "", /policy-deleted/);
  assert.deepEqual(errors, []);
});
