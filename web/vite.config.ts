import { defineConfig } from "vitest/config";
import preact from "@preact/preset-vite";

// The daemon serves this output: index.html at / and the hashed files under /assets/.
export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: "../pulse_core/web/static/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // Keep every script external so the page works under `default-src 'self'`.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:7655",
      "/ws": { target: "ws://127.0.0.1:7655", ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
