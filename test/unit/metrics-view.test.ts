import assert from "node:assert/strict";
import { test } from "node:test";
import { sumSamples } from "../../src/metrics-view.js";

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
