import assert from "node:assert/strict";
import { test } from "node:test";
import { VacatedRooms } from "../../src/gateway/engine/vacated-rooms.js";

test("a vacated room is remembered for the recovery window, and only for it", () => {
  let now = 1_000;
  const rooms = new VacatedRooms(120_000, () => now);
  assert.equal(rooms.recentlyVacated("t:a"), false, "never occupied");
  rooms.vacate("t:a");
  now += 119_999;
  assert.equal(rooms.recentlyVacated("t:a"), true);
  now += 1;
  assert.equal(rooms.recentlyVacated("t:a"), false);
});

test("vacating again restarts the window, and expired rooms are forgotten as new ones arrive", () => {
  let now = 0;
  const rooms = new VacatedRooms(100, () => now);
  rooms.vacate("t:a");
  now = 50;
  rooms.vacate("t:b");
  rooms.vacate("t:a");
  now = 120;
  // a's second window ends at 150, b's at 150; neither expired.
  assert.equal(rooms.recentlyVacated("t:a"), true);
  assert.equal(rooms.recentlyVacated("t:b"), true);
  now = 200;
  rooms.vacate("t:c");
  assert.equal(rooms.size, 1, "a and b expired and were dropped");
  assert.equal(rooms.recentlyVacated("t:c"), true);
});

test("without connection-state recovery nothing is remembered", () => {
  const rooms = new VacatedRooms(0);
  rooms.vacate("t:a");
  assert.equal(rooms.recentlyVacated("t:a"), false);
  assert.equal(rooms.size, 0);
});
