import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "../../src/logger.js";
import { openSqliteStore } from "../../src/store/sqlite-store.js";
import { openSqliteWebhookStore } from "../../src/webhooks/sqlite-webhook-store.js";
import { WebhookDispatcher } from "../../src/webhooks/webhook-dispatcher.js";
import { createWebhookMetrics } from "../../src/webhooks/webhook-metrics.js";
import type { WebhookSender } from "../../src/webhooks/webhook-sender.js";
import type { WebhookStore } from "../../src/webhooks/webhook-store.js";
import { newEndpoint } from "../support/webhook-store-contract.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-webhook-dispatcher-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The SQLite webhook store, telling how many enabled endpoints each round found. */
function countingRounds(webhooks: WebhookStore) {
  const rounds: number[] = [];
  const waiting: Array<{ endpoints: number; resolve: () => void }> = [];
  const store = new Proxy(webhooks, {
    get(target, property) {
      if (property === "listEnabledEndpoints") {
        return async () => {
          const endpoints = await target.listEnabledEndpoints();
          rounds.push(endpoints.length);
          for (const waiter of waiting.filter((w) => w.endpoints === endpoints.length)) waiter.resolve();
          return endpoints;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const roundFinding = (endpoints: number) => new Promise<void>((resolve) => waiting.push({ endpoints, resolve }));
  return { store, rounds, roundFinding };
}

function dispatcherOver(store: WebhookStore, pollIntervalMs: number): WebhookDispatcher {
  const sender = {
    send: () => Promise.reject(new Error("no message was expected")),
  } as unknown as WebhookSender;
  return new WebhookDispatcher({
    store,
    sender,
    metrics: createWebhookMetrics(new Registry(), undefined),
    logger: createLogger("silent"),
    node: "node-a",
    retryScheduleMs: [1000],
    disableAfterMs: 3600_000,
    leaseMs: 30_000,
    pollIntervalMs,
    maxInFlightPerEndpoint: 1,
    maxInFlight: 1,
    logRetentionMs: 3600_000,
  });
}

/**
 * Lets every round already due run to its end. Rounds are started by
 * zero-delay timers, which fire in the order they were set, and the SQLite
 * store answers within the same turn, so a round due before this timer has
 * finished when it fires.
 */
const roundsDueSoFar = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A dispatcher over fresh SQLite stores, its rounds counted, stopped and closed after `use`. */
async function withDispatcher(
  name: string,
  pollIntervalMs: number,
  use: (context: { dispatcher: WebhookDispatcher; webhooks: WebhookStore } & ReturnType<typeof countingRounds>) => Promise<void>,
): Promise<void> {
  const path = join(dir, `${name}.sqlite`);
  const payments = openSqliteStore({ path });
  const webhooks = openSqliteWebhookStore({ paymentsPath: path });
  const counting = countingRounds(webhooks);
  const dispatcher = dispatcherOver(counting.store, pollIntervalMs);
  try {
    await use({ dispatcher, webhooks, ...counting });
  } finally {
    await dispatcher.stop();
    await webhooks.close();
    await payments.close();
  }
}

test("a stored payment costs the dispatcher a round only once a round found an endpoint to feed", () =>
  withDispatcher("no-endpoint", 60_000, async ({ dispatcher, webhooks, rounds }) => {
    dispatcher.start();
    await roundsDueSoFar();
    assert.deepEqual(rounds, [0]);

    dispatcher.logGrew();
    dispatcher.logGrew();
    await roundsDueSoFar();
    assert.deepEqual(rounds, [0], "no round for payments no endpoint reads");

    // As another node adds one: nothing here is told, and a payment stored here does not look.
    await webhooks.createEndpoint(newEndpoint());
    dispatcher.logGrew();
    await roundsDueSoFar();
    assert.deepEqual(rounds, [0]);

    // The next poll (or this node's API, which wakes it) finds it.
    dispatcher.wake();
    await roundsDueSoFar();
    assert.deepEqual(rounds, [0, 1]);

    dispatcher.logGrew();
    await roundsDueSoFar();
    assert.deepEqual(rounds, [0, 1, 1], "with an endpoint, a stored payment is looked at at once");
  }));

test("the poll finds an endpoint another node added while no round was woken", () =>
  withDispatcher("poll", 10, async ({ dispatcher, webhooks, roundFinding }) => {
    const empty = roundFinding(0);
    dispatcher.start();
    await empty;
    const found = roundFinding(1);
    await webhooks.createEndpoint(newEndpoint());
    await found;
  }));
