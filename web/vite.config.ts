// Builds the dashboard into web/dist, which the API server serves (src/web/web.routes.ts).
// `npm run dev:web` runs Vite's dev server with the API proxied to a server on :8000.
import { fileURLToPath } from 'node:url';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.SWITCHBOARD_API ?? 'http://127.0.0.1:8000';
const proxied = ['/api', '/auth', '/.well-known', '/openapi.json', '/docs', '/health', '/ready'];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The page's CSP allows no inline script: keep everything in files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: api, changeOrigin: false }])),
  },
});
