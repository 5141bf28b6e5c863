/**
 * Writes docs/configuration.md from the settings schema in src/config.ts, the
 * one source of every setting's default and meaning. `npm run docs:config`;
 * a unit test fails when the committed file differs from what this generates.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { envShape } from "../src/config.js";

export const CONFIGURATION_DOC = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));

interface Wrapped {
  _zod: { def: { type: string; innerType?: z.ZodType; defaultValue?: unknown } };
}

/** The schema under `.default()` / `.optional()`, with the default and whether the setting may be absent. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue?: unknown; optional: boolean } {
  let inner = schema;
  let defaultValue: unknown;
  let optional = false;
  for (;;) {
    const { def } = (inner as unknown as Wrapped)._zod;
    if (def.type === "default") defaultValue = def.defaultValue;
    else if (def.type === "optional") optional = true;
    else return { inner, defaultValue, optional };
    inner = def.innerType as z.ZodType;
  }
}

function accepted(inner: z.ZodType): string {
  const output = z.toJSONSchema(inner, { io: "output", unrepresentable: "any" });
  const input = z.toJSONSchema(inner, { io: "input", unrepresentable: "any" });
  if (Array.isArray(output.enum)) return output.enum.map((value) => `\`${String(value)}\``).join(", ");
  if (output.type === "integer") return `whole number, ${String(output.minimum)} – ${String(output.maximum)}`;
  if (input.format === "uri") return "URL";
  if (output.type === undefined && input.type === "string") return "comma-separated list";
  return "text";
}

function defaultText(defaultValue: unknown, optional: boolean): string {
  if (optional) return "*(none)*";
  if (Array.isArray(defaultValue)) return defaultValue.length === 0 ? "*(none)*" : `\`${defaultValue.join(",")}\``;
  return `\`${String(defaultValue)}\``;
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function configurationMarkdown(): string {
  const rows = Object.entries(envShape.shape).map(([name, schema]) => {
    const description = schema.description;
    if (description === undefined) throw new Error(`${name} has no description in src/config.ts: add .describe("…")`);
    const { inner, defaultValue, optional } = unwrap(schema as z.ZodType);
    return `| \`${name}\` | ${defaultText(defaultValue, optional)} | ${cell(accepted(inner))} | ${cell(description)} |`;
  });
  return `# Configuration

<!-- Generated from src/config.ts by \`npm run docs:config\`; edit the descriptions there, not here. -->

Everything comes from environment variables, read and validated once at start-up;
an empty variable counts as unset. A bad value stops the process (exit code 2)
with a message that names the variable. \`tributary-ws serve\` also takes the
common ones as flags, which win over the environment (\`--port\` for \`PORT\`,
… see \`serve --help\`).

| Variable | Default | Accepts | Meaning |
|---|---|---|---|
${rows.join("\n")}

Rules across settings, checked at start-up too:

- \`SUBSCRIBE_AUTH=jwt\` needs exactly one of \`SUBSCRIBE_JWT_SECRET\` or \`SUBSCRIBE_JWKS_URL\`, and \`SUBSCRIBE_JWT_AUDIENCE\`.
- \`INGEST_REDIS_STREAM\` needs \`REDIS_URL\` (the stream is read from that Redis).
- \`WORKERS\` above 1 needs a store the workers share: not \`sqlite::memory:\`.
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIGURATION_DOC, configurationMarkdown());
  console.log(`wrote ${CONFIGURATION_DOC}`);
}
