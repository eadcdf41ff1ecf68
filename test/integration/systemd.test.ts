import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { testEngine } from './setup';

const ROOT = path.resolve(__dirname, '../../..');
const run = promisify(execFile);

/** The settings of a unit file's [Service] section that decide how the daemon is started. */
function serviceSettings(unit: string): { workingDirectory: string; environment: Record<string, string>; environmentFile: string; execStart: string[] } {
  const values = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  const environment: Record<string, string> = {};
  for (const assignment of values('Environment')) {
    const at = assignment.indexOf('=');
    environment[assignment.slice(0, at)] = assignment.slice(at + 1);
  }
  return {
    workingDirectory: values('WorkingDirectory')[0] ?? '/',
    environment,
    environmentFile: (values('EnvironmentFile')[0] ?? '').replace(/^-/, ''),
    execStart: (values('ExecStart')[0] ?? '').split(/\s+/),
  };
}

/** systemd EnvironmentFile syntax: OPTION=value lines, # comments. */
function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

describe('systemd units and the install script', function () {
  this.timeout(180_000);
  let root = '';
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'de-install-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await testEngine().removeAllContainers();
  });

  it('ships units that systemd-analyze verify accepts', async function () {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) this.skip();
    const result = spawnSync('systemd-analyze', ['verify', path.join(ROOT, 'systemd/docker_enforcer.service')], { encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stderr).not.to.match(/docker_enforcer\.service/);
    const unit = await readFile(path.join(ROOT, 'systemd/docker_enforcer.service'), 'utf8');
    expect(unit).to.match(/^Before=docker\.service$/m);
    expect(unit).to.match(/^Restart=always$/m);
    expect(unit).to.match(/^EnvironmentFile=-\/etc\/docker-enforcer\/environment\.conf$/m);
    const dropIn = await readFile(path.join(ROOT, 'systemd/docker.service.d/docker-enforcer.conf'), 'utf8');
    expect(dropIn).to.match(/^Wants=docker_enforcer\.service$/m);
  });

  it('installs under a prefix, and the exact ExecStart of the installed unit serves and enforces', async () => {
    const prefix = path.join(root, 'opt');
    const conf = path.join(root, 'etc');
    const units = path.join(root, 'units');
    await run('bash', [path.join(ROOT, 'scripts/install.sh')], { env: { ...process.env, PREFIX: prefix, CONF_DIR: conf, UNIT_DIR: units }, cwd: ROOT });
    const unitText = await readFile(path.join(units, 'docker_enforcer.service'), 'utf8');
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const verify = spawnSync('systemd-analyze', ['verify', path.join(units, 'docker_enforcer.service')], { encoding: 'utf8' });
      expect(verify.status, verify.stderr).to.equal(0);
    }
    const settings = serviceSettings(unitText);
    expect(settings.execStart.slice(1)).to.deep.equal([path.join(prefix, 'dist/src/main.js'), 'run']);
    expect(settings.environmentFile).to.equal(path.join(conf, 'environment.conf'));
    // Every option is documented in the installed environment.conf; the admin sets a few.
    const shipped = await readFile(settings.environmentFile, 'utf8');
    for (const option of ['MODE', 'RUN_PERIODIC', 'CHECK_INTERVAL_S', 'DOCKER_SOCKET', 'WHITE_LIST', 'HTTP_PORT', 'AUTHZ_SOCKET', 'TRIGGERS_PATH']) {
      expect(shipped, option).to.match(new RegExp(`^#${option}=`, 'm'));
    }
    const port = 20_000 + (process.pid % 10_000);
    await writeFile(
      settings.environmentFile,
      `${shipped}\nMODE=KILL\nIMMEDIATE_PERIODICAL_START=True\nSTOP_TIMEOUT_S=0\nHTTP_HOST=127.0.0.1\nHTTP_PORT=${port}\nDOCKER_SOCKET=unix://${testEngine().socketPath}\n`,
    );
    await writeFile(path.join(conf, 'rules/rules.ts'), "export const rules = [{ name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory }];\n");
    await testEngine().runContainer({ name: 'installed-victim' });

    const env = { PATH: process.env['PATH'] ?? '', ...settings.environment, ...parseEnvironmentFile(await readFile(settings.environmentFile, 'utf8')) };
    const child = spawn(settings.execStart[0]!, settings.execStart.slice(1), { cwd: settings.workingDirectory, env, stdio: 'ignore' });
    try {
      await testEngine().waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 20_000, 'the installed daemon to be healthy');
      await testEngine().waitFor(async () => !(await testEngine().isRunning('installed-victim')), 20_000, 'the installed daemon to stop the violator');
      const rules = (await (await fetch(`http://127.0.0.1:${port}/rules`)).json()) as { files: Array<{ path: string }> };
      expect(rules.files[0]?.path).to.equal(path.join(conf, 'rules/rules.ts'));
      // The shipped packs file is installed and in force: the CIS pack in WARN.
      const report = (await (await fetch(`http://127.0.0.1:${port}/report`)).json()) as { pack: { mode: string } | null };
      expect(report.pack?.mode).to.equal('WARN');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
    }
  });
});
