import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { envShape } from "../../src/config.js";
import { CONFIGURATION_DOC, configurationMarkdown } from "../../scripts/generate-config-docs.js";

test("docs/configuration.md is what the settings schema generates (run `npm run docs:config` after changing src/config.ts)", () => {
  assert.equal(readFileSync(CONFIGURATION_DOC, "utf8"), configurationMarkdown());
});

test("every setting has a description, and the generated page lists each one with its default", () => {
  const page = configurationMarkdown();
  for (const [name, schema] of Object.entries(envShape.shape)) {
    assert.ok(schema.description !== undefined && schema.description.length > 10, `${name} is described`);
    assert.match(page, new RegExp(`^\\| \`${name}\` \\|`, "m"));
  }
  assert.match(page, /^\| `PORT` \| `8080` \| whole number, 0 – 65535 \|/m);
  assert.match(page, /^\| `REDIS_URL` \| \*\(none\)\* \| URL \|/m);
  assert.match(page, /^\| `SOLANA_COMMITMENT` \| `confirmed` \| `confirmed`, `finalized` \|/m);
});
