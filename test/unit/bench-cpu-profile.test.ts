import assert from "node:assert/strict";
import { test } from "node:test";
import { summarizeProfile, type CpuProfile } from "../../bench/cpu-profile.js";

const frame = (functionName: string, url = "", lineNumber = -1) => ({ functionName, url, lineNumber });

/** Nodes 1 – 5; each sample's delta is the time since the one before. */
const profile: CpuProfile = {
  startTime: 0,
  endTime: 2_000,
  nodes: [
    { id: 1, callFrame: frame("(idle)") },
    { id: 2, callFrame: frame("(garbage collector)") },
    { id: 3, callFrame: frame("emitLive", "file:///srv/app/dist/src/gateway/payment-gateway.js", 217) },
    { id: 4, callFrame: frame("encode", "file:///srv/app/node_modules/socket.io-parser/build/cjs/index.js", 40) },
    // The same function reached by another path: a second node, one entry in the summary.
    { id: 5, callFrame: frame("emitLive", "file:///srv/app/dist/src/gateway/payment-gateway.js", 217) },
  ],
  samples: [1, 3, 3, 4, 2, 5, 1],
  timeDeltas: [1000, 250, 250, 250, 250, 250, 1000],
};

test("a profile's top counts self time per function across its nodes, idle left out of the busy time", () => {
  const summary = summarizeProfile(profile);
  // Five busy samples of 250 µs: 1.25 ms, of which emitLive three (two nodes).
  assert.equal(summary.busyMs, 1.3);
  assert.deepEqual(
    summary.top.map((item) => [item.name, item.where, item.selfMs, item.percentOfBusy]),
    [
      ["emitLive", "dist/src/gateway/payment-gateway.js:218", 0.8, 60],
      ["encode", "socket.io-parser/build/cjs/index.js:41", 0.3, 20],
      ["(garbage collector)", "", 0.3, 20],
    ],
  );
});

test("a profile's top is cut to the number asked for", () => {
  assert.equal(summarizeProfile(profile, 1).top.length, 1);
  assert.deepEqual(summarizeProfile({ startTime: 0, endTime: 0, nodes: [] }), { busyMs: 0, top: [] });
});
