/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The server's CSP allows only same-origin scripts and styles, so nothing may be inlined:
// no modulepreload polyfill, no data-URI assets.
export default defineConfig({
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    // The Overview's own chunk carries cytoscape and chart.js (~610 kB, loaded only there);
    // every other chunk stays far below this.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev` against a local `warden server`: same-origin URLs keep working.
    proxy: {
      "/api": { target: process.env.WARDEN_URL ?? "https://127.0.0.1:8443", secure: false },
      "/oauth2": { target: process.env.WARDEN_URL ?? "https://127.0.0.1:8443", secure: false },
      "/.well-known": { target: process.env.WARDEN_URL ?? "https://127.0.0.1:8443", secure: false },
    },
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.{ts,tsx}"],
  },
});
