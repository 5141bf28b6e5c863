import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { currentBoot, sameBoot, systemBootClock, type BootClock } from "../../src/store/boot-identity.js";

const dir = mkdtempSync(join(tmpdir(), "tributary-boot-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A machine without Linux's boot id: its clock reads `nowMs`, and it booted `uptimeSeconds` before. */
const withoutBootId = (nowMs: number, uptimeSeconds: number): BootClock => ({
  bootIdFile: join(dir, "no-such-file"),
  nowMs: () => nowMs,
  uptimeSeconds: () => uptimeSeconds,
});

test("boot identity: Linux's boot id where the file exists", () => {
  const file = join(dir, "boot_id");
  writeFileSync(file, "9c0f8a0e-6f0e-4a55-9d59-5d8c2f5e3b7a\n");
  const boot = currentBoot({ ...systemBootClock, bootIdFile: file });
  assert.equal(boot, "9c0f8a0e-6f0e-4a55-9d59-5d8c2f5e3b7a");
  assert.equal(sameBoot(boot, boot), true);
  assert.equal(sameBoot(boot, "0b7e1c55-1111-4a55-9d59-5d8c2f5e3b7a"), false);
  if (existsSync(systemBootClock.bootIdFile)) {
    assert.equal(currentBoot(), readFileSync(systemBootClock.bootIdFile, "utf8").trim());
  }
});

test("boot identity: without a boot id, readings of one boot agree and a restart is another boot", () => {
  // Booted at 1,000,000 s; read an hour later and again a day later, the uptime's rounding apart.
  const boot = currentBoot(withoutBootId(1_003_600_400, 3_600));
  assert.equal(boot, "booted-at:1000000");
  assert.equal(sameBoot(boot, currentBoot(withoutBootId(1_086_400_900, 86_399.2))), true);
  // Crashed after 20 s of uptime and back 30 s later: the new boot started 50 s after the first.
  assert.equal(sameBoot(boot, currentBoot(withoutBootId(1_000_060_000, 10))), false);
  // A file from a machine with a boot id, or from before boots were recorded, is never this boot's.
  assert.equal(sameBoot("9c0f8a0e-6f0e-4a55-9d59-5d8c2f5e3b7a", boot), false);
  assert.equal(sameBoot("", boot), false);
});
