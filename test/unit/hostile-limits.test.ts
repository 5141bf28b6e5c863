import assert from "node:assert/strict";
import { test } from "node:test";
import { exceedsJsonDepth } from "../../src/http/json-depth.js";
import { addressGroup, expandIpv6 } from "../../src/limits/address-group.js";
import { SubscriptionBudget } from "../../src/limits/subscription-budget.js";
import { isValidTrackingId } from "../../src/payment.js";

test("IPv6 addresses are grouped by prefix; IPv4 addresses stand alone", () => {
  assert.equal(addressGroup("203.0.113.7", 64), "203.0.113.7");
  assert.equal(addressGroup("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64), "2001:db8:1:2:0:0:0:0/64");
  assert.equal(addressGroup("2001:db8:1:2::1", 64), addressGroup("2001:db8:1:2:ffff::9", 64));
  assert.notEqual(addressGroup("2001:db8:1:2::1", 64), addressGroup("2001:db8:1:3::1", 64));
  assert.equal(addressGroup("2001:db8:1:2::1", 48), "2001:db8:1:0:0:0:0:0/48");
  assert.equal(addressGroup("2001:db8:1:2::1", 56), addressGroup("2001:db8:1:ff::1", 56));
  assert.equal(addressGroup("2001:db8::1", 128), "2001:db8::1");
  assert.equal(addressGroup("::1", 64), "0:0:0:0:0:0:0:0/64");
  assert.deepEqual(expandIpv6("::ffff:192.0.2.1"), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
  assert.equal(expandIpv6("1::2::3"), undefined);
});

test("JSON depth is counted outside strings and the scan stops at the first level too deep", () => {
  assert.equal(exceedsJsonDepth('[{"a":{"b":1}}]', 3), false);
  assert.equal(exceedsJsonDepth('[{"a":{"b":[1]}}]', 3), true);
  assert.equal(exceedsJsonDepth('{"a":"[[[[[[[[\\"[[[["}', 1), false, "brackets in strings (escaped quotes too) do not count");
  const deep = "[".repeat(1_000_000) + "]".repeat(1_000_000);
  const startedAt = performance.now();
  for (let i = 0; i < 1000; i++) assert.equal(exceedsJsonDepth(deep, 16), true);
  const perCallMs = (performance.now() - startedAt) / 1000;
  console.log(`refusing a million '[': ${(perCallMs * 1000).toFixed(2)} µs per body`);
  assert.ok(perCallMs < 5, `${perCallMs} ms per refusal`);
});

test("tracking IDs with bidi controls or invisible characters are refused", () => {
  for (const bad of ["order\u202e1", "a\u200bb", "a\u200db", "\ufeffid", "a\u2066b\u2069", "a\u00adb", "tag\u{e0041}", "a\u2028b"]) {
    assert.equal(isValidTrackingId(bad), false, JSON.stringify(bad));
  }
  for (const good of ["order-1", "café:42", "注文-7", "merchant/🙂", "a b"]) assert.equal(isValidTrackingId(good), true, good);
});

test("subscriptions are counted per address and node, held sessions too; held ones are released oldest first", () => {
  const released: string[] = [];
  const budget = new SubscriptionBudget({ perAddress: 3, perNode: 5, maxHeldSessions: 2, release: (pid) => released.push(pid) });
  budget.count("a", 2);
  budget.hold("old", "a", 1);
  assert.equal(budget.reserve("a"), undefined);
  assert.deepEqual(released, ["old"], "the address's held session made room");
  budget.count("a", 1);
  assert.equal(budget.reserve("a"), "subscriptions_per_ip");
  budget.count("b", 2);
  budget.hold("b1", "b", 0);
  assert.equal(budget.reserve("c"), "subscriptions_per_node");
  budget.hold("b2", "b", 0);
  budget.hold("b3", "b", 0);
  assert.deepEqual(released, ["old", "b1"], "past the session cap the oldest goes");
  budget.unhold("b2");
  budget.unhold("b3");
  budget.count("a", -3);
  budget.count("b", -2);
  assert.equal(budget.subscriptions, 0);
  assert.equal(budget.trackedAddresses, 0);
  assert.equal(budget.heldSessions, 0);
});
