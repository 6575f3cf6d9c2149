import { defineConfig } from 'vitest/config';

// During development `npm run dev` serves the UI and forwards API calls to a running
// Tracewell (TRACEWELL_URL, default http://127.0.0.1:16686).
const target = process.env.TRACEWELL_URL ?? 'http://127.0.0.1:16686';

export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: {
    proxy: { '/api': { target, changeOrigin: true } },
  },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
