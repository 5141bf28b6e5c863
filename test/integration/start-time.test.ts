import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { measureStart } from "../../scripts/measure-start.js";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };

test("npm start runs the build that npm ci made (prepare), without rebuilding", () => {
  assert.equal(manifest.scripts.start, "node dist/src/main.js");
  assert.equal(manifest.scripts.prestart, undefined, "no build before every start");
  assert.equal(manifest.scripts.prepare, "npm run build", "npm ci builds once");
});

test("the built service answers its first health check soon after spawn (the figure is printed)", async () => {
  const milliseconds = await measureStart(1);
  console.log(`spawn to first 200 on /v1/health, one process: ${Math.round(milliseconds)} ms`);
  // Generous: the target is 2 s on an idle machine; this only catches a start that waits on something.
  assert.ok(milliseconds < 20_000, `healthy after ${Math.round(milliseconds)} ms`);
});
