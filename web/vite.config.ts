import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
  server: {
    // `npm run dev:web` serves the page with hot reload against a service on :8080.
    proxy: {
      "/v1": "http://127.0.0.1:8080",
      "/ws/v1": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
