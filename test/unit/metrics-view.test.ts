import assert from "node:assert/strict";
import { test } from "node:test";
import { cachedMetricsView, sumSamples } from "../../src/metrics-view.js";

test("sumSamples adds every label set of one metric and nothing of another", () => {
  const text = [
    "# HELP tributary_connections x",
    'tributary_connections{worker="0"} 4',
    'tributary_connections{worker="1"} 5',
    "tributary_connections_extra 100",
    'tributary_deliveries_total{worker="0"} 7',
  ].join("\n");
  assert.equal(sumSamples(text, "tributary_connections"), 9);
  assert.equal(sumSamples(text, "tributary_deliveries_total"), 7);
  assert.equal(sumSamples(text, "tributary_subscriptions"), 0);
});

test("cachedMetricsView reads once per max age, shares a reading in flight, and does not keep a failed one", async () => {
  let clock = 0;
  let reads = 0;
  let fail = false;
  const view = cachedMetricsView(
    {
      contentType: "text/plain",
      text: async () => {
        reads += 1;
        if (fail) throw new Error("the primary did not answer");
        return `reading ${reads}`;
      },
    },
    1000,
    () => clock,
  );
  assert.deepEqual(await Promise.all([view.text(), view.text()]), ["reading 1", "reading 1"]);
  clock = 999;
  assert.equal(await view.text(), "reading 1");
  clock = 1000;
  assert.equal(await view.text(), "reading 2");
  assert.equal(reads, 2);
  clock = 2000;
  fail = true;
  await assert.rejects(view.text());
  fail = false;
  assert.equal(await view.text(), "reading 4");
});

test("cachedMetricsView with a max age of 0 reads every time", async () => {
  let reads = 0;
  const view = cachedMetricsView({ contentType: "text/plain", text: async () => `reading ${++reads}` }, 0);
  await view.text();
  await view.text();
  assert.equal(reads, 2);
});
