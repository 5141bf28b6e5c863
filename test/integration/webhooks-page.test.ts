import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext } from "playwright-core";
import { webRoot } from "../../src/package-root.js";
import { startTestServer, TEST_API_KEY, type TestServer } from "../support/test-server.js";

/** Debian's Chromium, installed by scripts/ensure-chromium.sh. */
const CHROMIUM = "/usr/bin/chromium";

let server: TestServer;
let context: BrowserContext;
let profileDir: string;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  assert.ok(existsSync(join(webRoot(), "index.html")), "the page is not built: run `npm run build` first");
  server = await startTestServer({ WEBHOOK_ALLOWED_HOSTS: "127.0.0.1" });
  profileDir = mkdtempSync(join(tmpdir(), "tributary-chromium-"));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});
after(async () => {
  await context?.close();
  rmSync(profileDir, { recursive: true, force: true });
  await server?.close();
});

test("the live page shows a key's webhook endpoints and why one is disabled", async () => {
  const headers = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };
  const create = (url: string) =>
    fetch(`${server.url}/v1/webhooks`, { method: "POST", headers, body: JSON.stringify({ url, filter: { all: true } }) }).then(
      (response) => response.json() as Promise<{ id: string }>,
    );
  await create("http://127.0.0.1:9/enabled-one");
  const paused = await create("http://127.0.0.1:9/paused-one");
  await fetch(`${server.url}/v1/webhooks/${paused.id}`, { method: "PATCH", headers, body: JSON.stringify({ enabled: false }) });

  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  await page.goto(server.url);
  const panel = page.getByRole("region", { name: "Webhook endpoints" });
  await panel.getByLabel("Webhooks of key").fill(TEST_API_KEY);
  await panel.getByRole("button", { name: "Show" }).click();
  const table = panel.getByRole("table", { name: "Webhook endpoints" });
  await table.getByRole("row").filter({ hasText: "/enabled-one" }).getByText("enabled", { exact: true }).waitFor();
  await table.getByRole("row").filter({ hasText: "/paused-one" }).getByText("disabled: disabled by its owner").waitFor();

  await panel.getByLabel("Webhooks of key").fill("not-a-key");
  await panel.getByRole("button", { name: "Show" }).click();
  await panel.getByText(/^UNAUTHORIZED: /).waitFor();
});
