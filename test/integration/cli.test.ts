import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { testEngine } from './setup';

const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const RULES = `import type { ContainerRule } from 'docker-enforcer';
export const rules: ContainerRule[] = [
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
  { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
];
`;

describe('the docker-enforcer command line', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-cli-'));
    await writeFile(path.join(dir, 'rules.ts'), RULES);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('check reports a typo with file:line:col and exits 1', async () => {
    await writeFile(path.join(dir, 'rules.ts'), RULES.replace('HostConfig?.Memory', 'HostConfig?.Memroy'));
    const run = await cli(['check'], dir, { RULES_PATH: 'rules.ts' });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`${path.join(dir, 'rules.ts')}:3:`);
    expect(run.stderr).to.include("Property 'Memroy' does not exist on type 'HostConfig'. Did you mean 'Memory'?");
  });

  it('check loads every file and exits 0 with a summary', async () => {
    await writeFile(path.join(dir, 'triggers.ts'), "import type { Trigger } from 'docker-enforcer';\nexport const triggers: Trigger[] = [{ name: 'log', trigger: (v) => console.log(v.reasons) }];\n");
    const run = await cli(['check'], dir, { RULES_PATH: 'rules.ts', TRIGGERS_PATH: 'triggers.ts' });
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/^rules\s+2 loaded\s+\S+rules\.ts$/m);
    expect(run.stdout).to.match(/^triggers\s+1 loaded/m);
    expect(run.stdout).to.include('docker-enforcer check: ok');
  });

  it('check validates the packs file: the shipped one loads, every problem of a broken one has its file:line:col', async () => {
    const shipped = await cli(['check'], dir, { RULES_PATH: 'rules.ts', PACKS_PATH: path.join(ROOT, 'rules/packs.yml') });
    expect(shipped.stderr).to.equal('');
    expect(shipped.code).to.equal(0);
    expect(shipped.stdout).to.match(/^packs\s+1 loaded\s+\S+packs\.yml$/m);
    await writeFile(path.join(dir, 'packs.yml'), 'cis-docker:\n  mode: STRICT\n  checks:\n    "5.99": KILL\n  exclude:\n    labels: [trusted]\n');
    const broken = await cli(['check'], dir, { RULES_PATH: 'rules.ts', PACKS_PATH: 'packs.yml' });
    expect(broken.code).to.equal(1);
    expect(broken.stderr).to.match(/packs\.yml:2:\d+: .*STRICT/).and.match(/packs\.yml:4:\d+: .*5\.99/).and.match(/packs\.yml:6:\d+: .*label/);
  });

  it('check exits 2 on configuration errors', async () => {
    const run = await cli(['check'], dir, { MODE: 'NOPE' });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('MODE="NOPE"');
  });

  it('eval judges a real docker inspect offline', async () => {
    const engine = testEngine();
    const id = await engine.runContainer({ name: 'eval-me' });
    const inspect = path.join(dir, 'inspect.json');
    await writeFile(inspect, JSON.stringify([await engine.docker.getContainer(id).inspect()]));
    await engine.removeAllContainers();
    const run = await cli(['eval', '--container', inspect], dir, { RULES_PATH: 'rules.ts', MODE: 'KILL' });
    expect(run.code).to.equal(1);
    expect(run.stdout.trim()).to.equal('eval-me: violates must have memory limit [KILL] -> would stop');
    const json = await cli(['eval', '--container', inspect, '--json'], dir, { RULES_PATH: 'rules.ts', WHITE_LIST: 'eval-.*' });
    expect(json.code).to.equal(0);
    expect(JSON.parse(json.stdout)).to.include({ subject: 'eval-me', violated: false, wouldDo: 'nothing', whitelisted: 'name' });
  });

  it('eval decides an AuthZ envelope captured from dockerd, as the plugin would', async () => {
    const captured = JSON.parse(await readFile(path.join(ROOT, 'test/fixtures/authz/create-envelope.json'), 'utf8')) as { RequestBody: string };
    const allowed = await cli(['eval', '--request', path.join(ROOT, 'test/fixtures/authz/create-envelope.json')], dir, { RULES_PATH: 'rules.ts', MODE: 'KILL' });
    expect(allowed.code).to.equal(0);
    expect(allowed.stdout.trim()).to.equal('POST /v1.41/containers/create?name=web-1: allowed');
    const body = JSON.parse(Buffer.from(captured.RequestBody, 'base64').toString()) as { HostConfig: Record<string, unknown> };
    body.HostConfig['Privileged'] = true;
    const privileged = path.join(dir, 'privileged.json');
    await writeFile(privileged, JSON.stringify({ ...captured, RequestBody: Buffer.from(JSON.stringify(body)).toString('base64') }));
    const denied = await cli(['eval', '--request', privileged], dir, { RULES_PATH: 'rules.ts', MODE: 'KILL' });
    expect(denied.code).to.equal(1);
    expect(denied.stdout.trim()).to.equal('POST /v1.41/containers/create?name=web-1: denied: no privileged containers');
  });

  it('eval --request names the policy rule set, policy and check that decided; check finds policy errors', async () => {
    await writeFile(path.join(dir, 'groups.yml'), 'users: [alice]\n');
    await writeFile(
      path.join(dir, 'policies.yml'),
      "- description: Users own their containers\n  hosts: ['+.*']\n  default: Deny\n  policies:\n    - members: [users]\n      rules:\n        containersCreate:\n          ContainerName: ['^$USER-']\n",
    );
    const captured = JSON.parse(await readFile(path.join(ROOT, 'test/fixtures/authz/create-envelope.json'), 'utf8')) as Record<string, unknown>;
    const asAlice = path.join(dir, 'alice.json');
    await writeFile(asAlice, JSON.stringify({ ...captured, User: 'alice', UserAuthNMethod: 'TLS' }));
    const env = { RULES_PATH: 'rules.ts', MODE: 'KILL', POLICIES_PATH: 'policies.yml', GROUPS_PATH: 'groups.yml' };
    const denied = await cli(['eval', '--request', asAlice], dir, env);
    expect(denied.code).to.equal(1);
    expect(denied.stdout).to.include('denied: rule set "Users own their containers", policy 1 (users): ContainerName');
    expect(denied.stdout).to.match(/policies: deny \(decided by policy; rule set 1 \(Users own their containers\), policy 1\)/);
    const json = JSON.parse((await cli(['eval', '--request', asAlice, '--json'], dir, env)).stdout) as { policies: { ruleSet: string; reasons: string[] } };
    expect(json.policies.ruleSet).to.equal('1 (Users own their containers)');
    await writeFile(path.join(dir, 'policies.yml'), "- hosts: ['+.*']\n  default: Allow\n  policies:\n    - members: [nobody-defined]\n      rules:\n        containersCreat:\n          Allow:\n");
    const check = await cli(['check'], dir, env);
    expect(check.code).to.equal(1);
    expect(check.stderr).to.match(/policies\.yml:4:\d+: .*nobody-defined/).and.match(/policies\.yml:6:\d+: .*containersCreat/);
  });

  it('scan --dry-run reports what would happen, acts on nothing, and exits 1 on violations', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'dry-violator' });
    await engine.runContainer({ name: 'dry-compliant', memory: 64 * 1024 * 1024 });
    const env = { RULES_PATH: 'rules.ts', MODE: 'KILL', DOCKER_SOCKET: `unix://${engine.socketPath}` };
    try {
      const table = await cli(['scan', '--dry-run'], dir, env);
      expect(table.code, table.stderr).to.equal(1);
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).to.match(/^CONTAINER\s+IMAGE\s+VIOLATED RULES\s+WOULD$/);
      expect(lines.find((l) => l.startsWith('dry-violator'))).to.match(/enforcer-test:busybox\s+must have memory limit\s+stop \(KILL\)$/);
      expect(lines.find((l) => l.startsWith('dry-compliant'))).to.match(/—\s+—$/);
      expect(await engine.isRunning('dry-violator')).to.equal(true);
      const json = await cli(['scan', '--dry-run', '--json'], dir, { ...env, MODE: 'WARN' });
      const rows = JSON.parse(json.stdout) as Array<{ name: string; wouldDo: string }>;
      expect(rows.map((r) => [r.name, r.wouldDo]).sort()).to.deep.equal([
        ['dry-compliant', 'nothing'],
        ['dry-violator', 'warn'],
      ]);
      await engine.docker.getContainer('dry-violator').remove({ force: true });
      const clean = await cli(['scan', '--dry-run'], dir, env);
      expect(clean.code).to.equal(0);
    } finally {
      await engine.removeAllContainers();
    }
  });

  it('has --help for every command and --version', async () => {
    for (const command of ['run', 'check', 'scan', 'eval']) {
      const run = await cli([command, '--help'], dir);
      expect(run.code, command).to.equal(0);
      expect(run.stdout, command).to.match(new RegExp(`^Usage: docker-enforcer ${command}`));
    }
    const top = await cli(['--help'], dir);
    expect(top.stdout).to.include('Commands:');
    const version = await cli(['--version'], dir);
    expect(version.stdout.trim()).to.equal((JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const unknown = await cli(['explode'], dir);
    expect(unknown.code).to.equal(2);
  });
});
