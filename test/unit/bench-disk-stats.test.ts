import assert from "node:assert/strict";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { diskActivity, diskDeviceOf, sampleDisk } from "../../bench/disk-stats.js";

test("disk activity is the share of the window busy and the average wait per write", () => {
  const from = { writes: 100, writeMs: 50, busyMs: 1_000, atMs: 0 };
  const to = { writes: 300, writeMs: 450, busyMs: 1_250, atMs: 1_000 };
  assert.deepEqual(diskActivity(from, to), { busyPercent: 25, writeAwaitMs: 2 });
  assert.deepEqual(diskActivity(from, { ...from, atMs: 1_000 }), { busyPercent: 0, writeAwaitMs: 0 }, "no writes: no wait");
});

test("synced writes under a directory are counted on the device that holds it", (t) => {
  assert.equal(sampleDisk("4095:1048575"), undefined, "a device /proc/diskstats does not list");
  const dir = mkdtempSync(join(tmpdir(), "disk-stats-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const device = diskDeviceOf(dir);
  if (device === undefined) {
    t.skip("the temporary directory is not on a block device /proc/diskstats lists (tmpfs or overlay)");
    return;
  }
  const before = sampleDisk(device);
  assert.ok(before !== undefined);
  const fd = openSync(join(dir, "probe"), "w");
  for (let i = 0; i < 20; i++) {
    writeSync(fd, Buffer.alloc(4096, i), 0, 4096, i * 4096);
    fdatasyncSync(fd);
  }
  closeSync(fd);
  const after = sampleDisk(device);
  assert.ok(after !== undefined);
  assert.ok(after.writes >= before.writes + 20, `20 synced writes reach the device (${before.writes} → ${after.writes})`);
});
