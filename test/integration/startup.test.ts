import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { testEngine } from './setup';

const MAIN = path.resolve(__dirname, '../../src/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the daemon as an admin would; kills it (by PID) after `killAfterMs` if it is still up. */
function runDaemon(env: Record<string, string>, cwd: string, killAfterMs = 15_000, onOutput?: (text: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const kill = (): void => {
      child.kill('SIGTERM');
    };
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onOutput?.(stdout, kill);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('start-up', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-start-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails on bad env vars, naming every culprit, before touching Docker', async () => {
    const run = await runDaemon({ MODE: 'EXPLODE', CHECK_INTERVAL_S: 'soon', WHITE_LIST: 'ok,[broken', DOCKER_SOCKET: 'unix:///nonexistent.sock' }, dir);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('MODE="EXPLODE"');
    expect(run.stderr).to.include('CHECK_INTERVAL_S="soon"');
    expect(run.stderr).to.include('WHITE_LIST: entry "[broken"');
  });

  it('fails on a broken rule file, naming file, line and column', async () => {
    await writeFile(path.join(dir, 'rules.ts'), "export const rules = [\n  { name: 'x', rule: (c) => c.params. },\n];\n");
    const run = await runDaemon({ RULES_PATH: 'rules.ts', HTTP_PORT: '0', DOCKER_SOCKET: `unix://${testEngine().socketPath}` }, dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(new RegExp(`${path.join(dir, 'rules.ts').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:\\d+: syntax error`));
  });

  it('fails when the rules file is missing instead of silently allowing everything', async () => {
    const run = await runDaemon({ RULES_PATH: 'nope/rules.ts', HTTP_PORT: '0' }, dir);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`${path.join(dir, 'nope/rules.ts')}: file not found`);
  });

  it('comes up without Docker, says why on /health, and exits 0 on SIGTERM', async () => {
    await writeFile(path.join(dir, 'rules.ts'), "export const rules = [{ name: 'always false', rule: () => false }];\n");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    let health: { status: number; body: Record<string, unknown> } | undefined;
    const run = await runDaemon(
      { RULES_PATH: 'rules.ts', HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), DOCKER_SOCKET: `unix://${dir}/missing.sock`, IMMEDIATE_PERIODICAL_START: 'True' },
      dir,
      20_000,
      (stdout, kill) => {
        if (health || !stdout.includes('http api listening')) return;
        health = { status: 0, body: {} };
        void (async () => {
          // The first ping fails at once; give it a moment to be recorded.
          await new Promise((resolve) => setTimeout(resolve, 500));
          const response = await fetch(`http://127.0.0.1:${port}/health`);
          health = { status: response.status, body: (await response.json()) as Record<string, unknown> };
          kill();
        })();
      },
    );
    expect(health?.status).to.equal(503);
    expect(JSON.stringify(health?.body)).to.include('docker unreachable');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include('stopped');
  });
});
