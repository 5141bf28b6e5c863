import type { OpenApiDocument, OpenApiOperation } from "./openapi-document.js";

/** The /docs page: the OpenAPI document rendered once on the server as plain HTML, so it needs no script and no CDN. */

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

const schemaBlock = (schema: unknown): string => `<pre>${escape(JSON.stringify(schema, null, 2))}</pre>`;

function operationSection(path: string, method: string, operation: OpenApiOperation): string {
  const parameters = operation.parameters ?? [];
  const body = operation.requestBody?.content?.["application/json"]?.schema;
  const auth =
    operation.security === undefined
      ? ""
      : `<p class="auth">${operation.security.length > 1 ? "Optional" : "Required"}: <code>Authorization: Bearer …</code></p>`;
  const rows = parameters
    .map(
      (parameter) =>
        `<tr><td><code>${escape(parameter.name)}</code>${parameter.required ? " (required)" : ""}</td><td>${escape(parameter.in)}</td>` +
        `<td><code>${escape(JSON.stringify(parameter.schema))}</code></td><td>${escape(parameter.description ?? "")}</td></tr>`,
    )
    .join("");
  const responses = Object.entries(operation.responses)
    .map(([status, response]) => {
      const content = Object.entries(response.content ?? {})
        .map(([type, media]) => `<p><code>${escape(type)}</code></p>${media.schema === undefined ? "" : schemaBlock(media.schema)}`)
        .join("");
      return `<details><summary><b>${escape(status)}</b> ${escape(response.description)}</summary>${content}</details>`;
    })
    .join("");
  return (
    `<section id="${escape(operation.operationId)}"><h2><span class="method">${escape(method.toUpperCase())}</span> ${escape(path)}</h2>` +
    `<p><b>${escape(operation.summary)}</b></p>${operation.description === undefined ? "" : `<p>${escape(operation.description)}</p>`}${auth}` +
    (rows === "" ? "" : `<h3>Parameters</h3><table><tr><th>Name</th><th>In</th><th>Schema</th><th>Meaning</th></tr>${rows}</table>`) +
    (body === undefined ? "" : `<h3>Body</h3>${schemaBlock(body)}`) +
    `<h3>Responses</h3>${responses}</section>`
  );
}

export function referencePage(document: OpenApiDocument): string {
  const sections: string[] = [];
  const contents: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      sections.push(operationSection(path, method, operation));
      contents.push(`<li><a href="#${escape(operation.operationId)}">${escape(method.toUpperCase())} ${escape(path)}</a>: ${escape(operation.summary)}</li>`);
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(document.info.title)} REST API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1d2330}
pre{background:#f4f5f7;padding:.75rem;overflow:auto;font-size:.85rem}
code{font-size:.9em}table{border-collapse:collapse}td,th{border:1px solid #d8dbe0;padding:.3rem .5rem;text-align:left;vertical-align:top}
.method{font-family:monospace;background:#1d2330;color:#fff;padding:.1rem .4rem;border-radius:.2rem}
section{border-top:1px solid #d8dbe0;margin-top:2rem}details{margin:.4rem 0}.auth{color:#7a4b00}
</style></head><body>
<h1>${escape(document.info.title)} ${escape(document.info.version)}: REST API</h1>
<p>${escape(document.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escape(document.openapi)}).</p>
<ul>${contents.join("")}</ul>
${sections.join("\n")}
</body></html>
`;
}
