import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
    // Shared with the client bundle: it must stay types only and depend on nothing.
    files: ["src/protocol/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["*"], message: "src/protocol holds the wire types alone." }] }],
      "no-restricted-syntax": [
        "error",
        { selector: "VariableDeclaration, FunctionDeclaration, ClassDeclaration, TSEnumDeclaration", message: "src/protocol holds types only." },
      ],
    },
  },
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
