import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Keeps one server layer from importing others, so the pipeline runs one way:
 * sources → ingest → store, and stored payments → gateway → sockets. The wiring
 * (src/app.ts) is the only place that joins them, and no layer imports it.
 */
function layerRule(files, layers, message) {
  const group = ["app", ...layers].flatMap((layer) => [`../${layer}/**`, `../../${layer}/**`, `../${layer}.js`, `../../${layer}.js`]);
  return { files: [files], rules: { "no-restricted-imports": ["error", { patterns: [{ group, message }] }] } };
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "data/", "bench/results/", "web/dist/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // The client library runs in browsers as well and ships apart from the server.
    files: ["src/client/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: ["events", "buffer", "crypto", "fs", "http", "https", "net", "os", "path", "stream", "url", "util"],
          patterns: [
            { group: ["node:*"], message: "src/client must run in browsers: no Node built-ins." },
            {
              group: ["../*", "!../protocol", "../protocol/*", "!../protocol/wire.js"],
              message: "src/client must not pull server modules into the client bundle; the wire types are in src/protocol/wire.ts.",
            },
          ],
        },
      ],
    },
  },
  {
    // Wire formatting: the server's own types in, the spec's envelopes out; nothing of the pipeline around it.
    files: ["src/protocol/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../*", "!../errors.js", "!../payment.js", "!../policy-event.js"],
              message: "src/protocol formats the wire from the domain types (errors, payment, policy-event) alone.",
            },
          ],
        },
      ],
    },
  },
  {
    // Shared with the client bundle: it must stay types only and depend on nothing.
    files: ["src/protocol/wire.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["*"], message: "src/protocol/wire.ts holds the wire types alone." }] }],
      "no-restricted-syntax": [
        "error",
        { selector: "VariableDeclaration, FunctionDeclaration, ClassDeclaration, TSEnumDeclaration", message: "src/protocol/wire.ts holds types only." },
      ],
    },
  },
  {
    // The program's bytes and addresses: a leaf that both sources (and the decode command) build on.
    files: ["src/tributary/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../*", "!../payment.js"], message: "src/tributary decodes Tributary's events and accounts; it knows nothing of the service around it." }] },
      ],
    },
  },
  layerRule("src/ingest/**", ["sources", "tributary", "gateway", "cluster", "http", "health", "workers", "webhooks", "cli"], "src/ingest stores what sources hand it and passes it on through callbacks; sources implement its sink interface, not the reverse."),
  layerRule("src/sources/**", ["store", "gateway", "cluster", "http", "health", "workers", "webhooks", "cli"], "A source hands payments to ingest's sinks; it reaches nothing downstream of them."),
  layerRule("src/store/**", ["ingest", "sources", "tributary", "gateway", "cluster", "protocol", "http", "health", "workers", "webhooks", "cli"], "src/store keeps payments; it is used by the layers above it and uses none of them."),
  layerRule("src/gateway/**", ["ingest", "sources", "tributary", "cluster", "http", "health", "workers", "webhooks", "cli"], "src/gateway serves sockets; it is handed payments and reads history through narrow interfaces, and knows nothing of HTTP, sources or cluster drivers."),
  layerRule("src/cluster/**", ["ingest", "sources", "tributary", "store", "gateway", "http", "health", "workers", "webhooks", "cli"], "A cluster link carries payments between nodes; the gateway is attached to it in the wiring."),
  layerRule("src/http/**", ["sources", "tributary", "gateway", "cluster", "workers", "cli"], "src/http answers REST requests; the gateway, cluster and sources are wired to it in src/app.ts."),
  layerRule("src/health/**", ["ingest", "store", "gateway", "http", "workers", "webhooks", "cli"], "src/health describes a node's health; the routes and the workers use it."),
  layerRule("src/workers/**", ["ingest", "sources", "tributary", "store", "gateway", "cluster", "protocol", "http", "webhooks", "cli"], "The primary process routes connections and gathers health; the service runs in the workers through src/app.ts."),
  layerRule("src/webhooks/**", ["ingest", "sources", "tributary", "gateway", "cluster", "http", "health", "workers", "cli"], "src/webhooks delivers what the store's log holds; it is woken by the wiring and reaches no other delivery layer."),
  layerRule("src/limits/**", ["ingest", "sources", "tributary", "store", "gateway", "cluster", "protocol", "http", "health", "workers", "webhooks", "cli"], "src/limits holds the limiters the gateway and HTTP use; it uses none of them."),
  {
    // The page is a browser bundle: from the rest of the repository it may use the client library and the wire types only.
    files: ["web/src/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../../*", "!../../src", "../../src/*", "!../../src/client", "!../../src/protocol"],
              message: "Outside web/, the page may import only the client library (src/client) and the wire types (src/protocol): no server code in the bundle.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["test/**", "bench/**", "examples/**", "scripts/**", "src/cli/**"],
    rules: { "no-console": "off" },
  },
  {
    // Tests read untyped JSON and client payloads as they arrive; the examples keep the spec's own `any`.
    files: ["test/**", "examples/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The spec's React example, kept to its text: it imports Socket as a value and keeps an unread state.
    files: ["examples/react/**"],
    rules: { "@typescript-eslint/consistent-type-imports": "off", "@typescript-eslint/no-unused-vars": "off" },
  },
);
