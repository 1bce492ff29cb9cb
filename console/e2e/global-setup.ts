// Starts the service for the browser tests: a fresh SQLite file, migrated, with an admin, a
// viewer and a gateway credential made by the CLI; stopped again when the run ends.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const ADMIN_PASSWORD = 'e2e-admin-password';
export const VIEWER_PASSWORD = 'e2e-viewer-password';

function cli(python: string, env: NodeJS.ProcessEnv, args: string[], input?: string): string {
  const result = spawnSync(python, ['-m', 'app', ...args], { cwd: ROOT, env, input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python -m app ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function waitForHealth(url: string, log: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`the server exited:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error('the server did not answer /healthz within 30 s');
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const python = process.env.PYTHON ?? join(ROOT, '.venv', 'bin', 'python');
  const port = process.env.E2E_PORT ?? '18000';
  const dir = mkdtempSync(join(tmpdir(), 'gi-console-e2e-'));
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite+aiosqlite:///${join(dir, 'e2e.db')}`,
    ENVIRONMENT: 'development',
    CONSOLE_DIST: join(ROOT, 'console', 'dist'),
  };
  cli(python, env, ['migrate']);
  cli(python, env, ['create-admin', 'admin', '--role', 'admin', '--password-stdin'], `${ADMIN_PASSWORD}\n`);
  cli(python, env, ['create-admin', 'viewer', '--role', 'viewer', '--password-stdin'], `${VIEWER_PASSWORD}\n`);
  const gateway = JSON.parse(cli(python, env, ['create-introspection-client', 'e2e-gateway'])) as {
    client_id: string;
    client_secret: string;
  };
  process.env.E2E_CLIENT_ID = gateway.client_id;
  process.env.E2E_CLIENT_SECRET = gateway.client_secret;

  const log = join(dir, 'server.log');
  const server = spawn(python, ['-m', 'app', 'serve', '--port', port], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', openSync(log, 'w')],
  });
  let exited = false;
  server.on('exit', () => (exited = true));
  await waitForHealth(`http://127.0.0.1:${port}`, log, () => exited);

  return async () => {
    if (!exited) {
      server.kill('SIGTERM');
      await new Promise((done) => server.once('exit', done));
    }
    const output = readFileSync(log, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    // The service never logs a secret; a test below also checks the browser never stores one.
    if (/ssg_[0-9A-Za-z]{30,}/.test(output)) throw new Error('a token secret appeared in the server log');
  };
}
