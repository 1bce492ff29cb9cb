import { defineConfig } from '@playwright/test';
import { spawnSync } from 'node:child_process';

// The end-to-end tests drive Debian's Chromium (never a downloaded browser) against a real
// `python -m app serve` on a fresh SQLite database, started by e2e/global-setup.ts.
// A free port, chosen once by the main process; the workers inherit it through the environment.
function freePort(): string {
  const script = 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])';
  const result = spawnSync(process.env.PYTHON ?? 'python3', ['-c', script], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : String(18000 + (process.pid % 2000));
}
const port = (process.env.E2E_PORT ??= freePort());

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    permissions: ['clipboard-read', 'clipboard-write'],
    viewport: { width: 1280, height: 860 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
