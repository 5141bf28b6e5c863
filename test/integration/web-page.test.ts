import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { packageRoot, webRoot } from "../../src/package-root.js";
import { paymentBody } from "../support/payments.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { TEST_API_KEY, startTestServer, type TestServer } from "../support/test-server.js";

/** Debian's Chromium, installed by scripts/ensure-chromium.sh; never a tool's own browser download. */
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = join(packageRoot(), "test-artifacts");
const WAIT_MS = 15_000;

let profileDir: string;
let context: BrowserContext;
let page: Page;
/** Console errors and uncaught exceptions of the page: a healthy page has none (a missing favicon would be one). */
let pageErrors: string[];

before(() => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  assert.ok(existsSync(join(webRoot(), "index.html")), "the page is not built: run `npm run build` first");
  mkdirSync(ARTIFACTS, { recursive: true });
});

beforeEach(async () => {
  profileDir = mkdtempSync(join(tmpdir(), "tributary-chromium-"));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT_MS);
  pageErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => pageErrors.push(`exception: ${error.message}`));
});

afterEach(async () => {
  await context.close();
  rmSync(profileDir, { recursive: true, force: true });
});

const connectionState = () => page.getByRole("status", { name: "Connection state" });
const liveRow = (id: string) => page.getByRole("table", { name: "Live payments" }).locator(`tr[data-payment-id="${id}"]`);

async function watch(trackingId: string): Promise<void> {
  await page.getByLabel("Tracking IDs to watch").fill(trackingId);
  await page.getByRole("button", { name: "Watch", exact: true }).click();
  await page.getByRole("list", { name: "Watched tracking IDs" }).getByText(trackingId, { exact: true }).waitFor();
}

async function waitForState(text: string): Promise<void> {
  await connectionState().filter({ hasText: text }).waitFor();
}

describe("live payments page", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test("shows history apart, live payments with exact amounts, server status, and publishes a test payment", async () => {
    const trackingId = `page-${process.pid}`;
    const older = [paymentBody({ trackingId, amount: "111" }), paymentBody({ trackingId, amount: "222" })];
    assert.equal((await server.publish(older)).status, 200);

    await page.goto(server.url);
    await waitForState("Connected");
    await watch(trackingId);

    const history = page.getByRole("table", { name: `History payments of ${trackingId}` });
    await history.locator("tbody tr").nth(1).waitFor();
    assert.equal(await history.locator("tbody tr").count(), 2);
    assert.match((await history.textContent()) ?? "", /222.*history.*111.*history/s);

    // The largest u64 is rounded as a JSON number; the page must show amountRaw.
    const live = paymentBody({ trackingId, amount: "18446744073709551615", status: "pending" });
    assert.equal((await server.publish(live)).status, 200);
    const row = liveRow(`${live.signature}:0`);
    await row.waitFor();
    const rowText = (await row.textContent()) ?? "";
    assert.match(rowText, /18446744073709551615/);
    assert.match(rowText, /pending/);
    assert.match(rowText, /live/);
    assert.equal(await row.getByRole("link").getAttribute("href"), `https://explorer.solana.com/tx/${live.signature}`);
    assert.equal(await page.getByRole("table", { name: "Live payments" }).locator("tbody tr").count(), 1);

    // The status panel reads GET /v1/stats: this page's own connection and subscription count.
    await page.getByLabel("Subscriptions", { exact: true }).filter({ hasText: /^[1-9]/ }).waitFor();
    await page.getByLabel("Connections", { exact: true }).filter({ hasText: /^[1-9]/ }).waitFor();
    await page.getByLabel("Payments / s", { exact: true }).filter({ hasText: /^\d+\.\d$/ }).waitFor();

    await page.getByLabel("API key").fill(TEST_API_KEY);
    await page.getByLabel("Amount (base units)").fill("4242");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByRole("status").filter({ hasText: `Published: offset 4 of ${trackingId}` }).waitFor();
    await page.getByRole("table", { name: "Live payments" }).locator("tbody tr").filter({ hasText: "4242" }).waitFor();
    const stored = await server.get(`/v1/payments?trackingId=${trackingId}&after=3`);
    assert.equal(stored.body.payments[0].amountRaw, "4242");
    assert.match(stored.body.payments[0].signature, /^[1-9A-HJ-NP-Za-km-z]{86,88}$/);

    await page.screenshot({ path: join(ARTIFACTS, "web-page.png"), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  test("a test payment with a wrong API key is refused with the server's message", async () => {
    await page.goto(server.url);
    await watch(`refused-${process.pid}`);
    await page.getByLabel("API key").fill("not-a-key");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByRole("status").filter({ hasText: "UNAUTHORIZED" }).waitFor();
    // The refused request is a 401 the page reports itself; anything else on the console is a fault.
    assert.deepEqual(
      pageErrors.filter((error) => !/401/.test(error)),
      [],
    );
  });
});

describe("live payments page across a server restart", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tributary-web-restart-"));
  const env = { DATABASE_URL: `sqlite:${join(dataDir, "tributary.sqlite")}`, TRIBUTARY_API_KEYS: TEST_API_KEY, LOG_LEVEL: "warn" };
  const running: ServerProcess[] = [];
  after(async () => {
    for (const server of running) if (server.child.exitCode === null) server.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(port: number): Promise<ServerProcess> {
    const server = await startServerProcess({ ...env, LOG_LEVEL: "info", PORT: String(port) });
    running.push(server);
    return server;
  }
  async function stop(server: ServerProcess): Promise<void> {
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
  }
  async function publish(server: ServerProcess, body: unknown): Promise<void> {
    const response = await fetch(`${server.url}/v1/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.text());
  }

  test("shows the reconnect, fills in the payment published while it was away, and keeps going live", async () => {
    const trackingId = `restart-${process.pid}`;
    const first = await start(0);
    const port = Number(new URL(first.url).port);
    await page.goto(first.url);
    await waitForState("Connected");
    await watch(trackingId);
    const before = paymentBody({ trackingId, amount: "1" });
    await publish(first, before);
    await liveRow(`${before.signature}:0`).waitFor();

    await stop(first);
    await waitForState("Reconnecting");

    // Published through another node while the page's server is down: the page cannot have seen it live.
    const other = await start(0);
    const missed = paymentBody({ trackingId, amount: "2" });
    await publish(other, missed);
    await stop(other);

    const restarted = await start(port);
    const filledIn = liveRow(`${missed.signature}:0`);
    await filledIn.waitFor();
    assert.match((await filledIn.textContent()) ?? "", /filled in/);
    await waitForState("Recovered");

    const after = paymentBody({ trackingId, amount: "3" });
    await publish(restarted, after);
    const live = liveRow(`${after.signature}:0`);
    await live.waitFor();
    assert.match((await live.textContent()) ?? "", /live/);

    // Each payment exactly once, newest first.
    const rows = page.getByRole("table", { name: "Live payments" }).locator("tbody tr");
    const ids = await Promise.all((await rows.all()).map((row) => row.getAttribute("data-payment-id")));
    assert.deepEqual(ids, [
      `${after.signature}:0`,
      `${missed.signature}:0`,
      `${before.signature}:0`,
    ]);
    await page.screenshot({ path: join(ARTIFACTS, "web-page-after-restart.png"), fullPage: true });
    // The browser reports each refused reconnect attempt while the server is down, and, when the page
    // reaches the server during its drain, the documented refusals: 403 for a handshake, 503 for a request
    // (GET /v1/stats). Nothing else may appear.
    assert.deepEqual(
      pageErrors.filter(
        (error) =>
          !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|responded with a status of (403 \(Forbidden\)|503 \(Service Unavailable\))/.test(
            error,
          ),
      ),
      [],
    );
    await context.close();
    await stop(restarted);
  });
});
