import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import type { CisReportJson } from '../../src/policies/cis/report';
import { parseXml, type XmlElement } from '../unit/policies/cis/xml';
import { getJson, startEnforcer, type RunningEnforcer } from './enforcer';
import { TEST_IMAGE } from './engine';
import { testEngine } from './setup';

const ROOT = path.resolve(__dirname, '../../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const MAIN = path.join(ROOT, 'dist/src/main.js');

const RULES = 'export const rules: ContainerRule[] = [];\n';
// The spared container checks that exclusions reach the report as EXCL and the filter hides them.
const PACKS = 'cis-docker:\n  mode: WARN\n  exclude:\n    names: ["cis-spared"]\n';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE',
  'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN',
  'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE',
  'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

/**
 * An OCI runtime for a runner that lacks some capability (a sandboxed CI host): runc cannot grant a
 * privileged container a capability its own process does not hold, and fails the start. The wrapper
 * drops those from the bundle's spec and runs runc; the container still inspects as Privileged,
 * which is all 5.5 reads. Returns the runtime's name after registering it with the test engine.
 */
async function boundedRuntime(dir: string): Promise<string> {
  const fixer = path.join(dir, 'drop-missing-caps.js');
  await writeFile(
    fixer,
    `const fs = require('fs');
const names = ${JSON.stringify(CAPABILITIES)};
const bounding = BigInt('0x' + /CapBnd:\\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
const held = new Set(names.filter((_name, bit) => (bounding >> BigInt(bit)) & 1n).map((name) => 'CAP_' + name));
const file = process.argv[2];
const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
const caps = (spec.process && spec.process.capabilities) || {};
for (const set of Object.keys(caps)) caps[set] = caps[set].filter((cap) => held.has(cap));
fs.writeFileSync(file, JSON.stringify(spec));
`,
  );
  const runc = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim() || 'runc';
  const wrapper = path.join(dir, 'bounded-runc');
  await writeFile(
    wrapper,
    `#!/bin/sh
bundle=""
prev=""
for arg in "$@"; do
  if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then bundle="$arg"; fi
  prev="$arg"
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then "${process.execPath}" "${fixer}" "$bundle/config.json" || exit 1; fi
exec "${runc}" "$@"
`,
  );
  await chmod(wrapper, 0o755);
  await testEngine().writeDaemonConfig({ runtimes: { 'bounded-runc': { path: wrapper } } });
  return 'bounded-runc';
}

/** A running privileged container, through the bounded runtime when this host cannot start one. */
async function runPrivileged(name: string, runtimeDir: string): Promise<void> {
  const docker = testEngine().docker;
  const create = (runtime?: string) =>
    docker.createContainer({ name, Image: TEST_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none', Privileged: true, ...(runtime ? { Runtime: runtime } : {}) } });
  const first = await create();
  try {
    await first.start();
    return;
  } catch (err: unknown) {
    if (!/unable to apply caps|operation not permitted/.test(String(err))) throw err;
    await first.remove({ force: true });
  }
  await (await create(await boundedRuntime(runtimeDir))).start();
}

/** A container that passes every check of the pack: the one the "failures only" filter hides. */
async function runHardened(name: string): Promise<void> {
  const docker = testEngine().docker;
  const image = (await docker.getImage(TEST_IMAGE).inspect()).Id;
  const container = await docker.createContainer({
    name,
    // By its image id, which is content-addressed: 5.28 passes as for a digest.
    Image: image,
    Cmd: ['sleep', '3600'],
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1_000_000_000, Timeout: 1_000_000_000, Retries: 1 },
    HostConfig: {
      NetworkMode: 'none',
      Memory: 64 * 1024 * 1024,
      CpuShares: 512,
      PidsLimit: 64,
      ReadonlyRootfs: true,
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 1024 }],
      SecurityOpt: ['no-new-privileges', 'label=level:s0'],
    },
  });
  await container.start();
}

async function report(enforcer: RunningEnforcer): Promise<CisReportJson> {
  return (await getJson(`${enforcer.url}/report`)).body as unknown as CisReportJson;
}

function resultOf(data: CisReportJson, container: string, check: string): string | undefined {
  return data.results.find((r) => r.container === container && r.check === check)?.result;
}

describe('compliance report: GET /report, its page, and scan --report', function () {
  this.timeout(180_000);
  let enforcer: RunningEnforcer;
  let browser: Browser | undefined;
  let cliEnv: Record<string, string>;
  let runtimeDir = '';
  let daemonConfig = '{}';

  before(async () => {
    const engine = testEngine();
    runtimeDir = await mkdtemp(path.join(os.tmpdir(), 'de-runtime-'));
    daemonConfig = await readFile(engine.configFile, 'utf8');
    await runPrivileged('cis-privileged', runtimeDir);
    await engine.runContainer({ name: 'cis-limited', memory: 64 * 1024 * 1024, cpuShares: 512 });
    await engine.runContainer({ name: 'cis-spared' });
    await runHardened('cis-hardened');
    enforcer = await startEnforcer(engine, { MODE: 'WARN', RUN_PERIODIC: 'True', IMMEDIATE_PERIODICAL_START: 'True' }, { rules: RULES, packs: PACKS });
    await engine.waitFor(async () => (await report(enforcer)).containers.length === 4, 30_000, 'the first scan to report four containers');
    cliEnv = { DOCKER_SOCKET: `unix://${engine.socketPath}`, RULES_PATH: path.join(enforcer.dir, 'rules.ts'), PACKS_PATH: path.join(enforcer.dir, 'packs.yml'), MODE: 'WARN' };
    browser = await launchChromium();
    if (browser) await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await enforcer?.stop();
    await testEngine().removeAllContainers();
    await testEngine().writeDaemonConfig(JSON.parse(daemonConfig) as Record<string, unknown>);
    await rm(runtimeDir, { recursive: true, force: true });
  });

  it('GET /report has every container from the last scan: 5.5 fails for the privileged one only', async () => {
    const data = await report(enforcer);
    expect(data.pack).to.deep.equal({ mode: 'WARN' });
    expect(data.last_scan).to.be.a('string');
    expect(data.containers.map((c) => c.name).sort()).to.deep.equal(['cis-hardened', 'cis-limited', 'cis-privileged', 'cis-spared']);
    expect(resultOf(data, 'cis-privileged', 'privileged-container')).to.equal('fail');
    expect(data.results.find((r) => r.container === 'cis-privileged' && r.check === 'privileged-container')).to.include({ cis: '5.5', mode: 'WARN', detail: 'Privileged: true' });
    expect(resultOf(data, 'cis-limited', 'privileged-container')).to.equal('pass');
    expect(resultOf(data, 'cis-limited', 'memory-unlimited')).to.equal('pass');
    expect(resultOf(data, 'cis-privileged', 'memory-unlimited')).to.equal('fail');
    expect(data.results.filter((r) => r.container === 'cis-spared').map((r) => r.result)).to.satisfy((all: string[]) => all.length > 0 && all.every((r) => r === 'excluded'));
    const byName = new Map(data.containers.map((c) => [c.name, c] as const));
    expect(byName.get('cis-hardened')!.failed, 'the hardened container fails nothing').to.deep.equal([]);
    expect(byName.get('cis-hardened')!.score).to.equal(1);
    expect(byName.get('cis-spared')!.score).to.equal(null);
    expect(byName.get('cis-limited')!.failed.length).to.be.within(1, byName.get('cis-privileged')!.failed.length - 1);
    const five5 = data.checks.find((c) => c.cis === '5.5')!;
    expect(five5).to.include({ id: 'privileged-container', passed: 2, failed: 1, excluded: 1, pass_rate: 0.6667 });
    // WARN records CIS failures as detections, and stops nothing.
    expect(await testEngine().isRunning('cis-privileged')).to.equal(true);
  });

  it('renders the matrix in headless Chromium; "failures only" hides the rows without a FAIL', async function () {
    if (!browser) this.skip();
    const page = await browser.newPage();
    await page.goto(`${enforcer.url}/report`);
    const rows = page.locator('#cis-matrix tbody tr');
    expect(await rows.count()).to.equal(4);
    const names = await page.locator('#cis-matrix tbody tr td:first-child').allInnerTexts();
    expect(names.map((n) => n.split('\n')[0])).to.have.members(['cis-hardened', 'cis-limited', 'cis-privileged', 'cis-spared']);
    const header = page.locator('#cis-matrix thead th', { hasText: /^5\.5$/ });
    expect(await header.getAttribute('title')).to.include('Privileged containers are not used');
    // The cell under 5.5 in the privileged container's row.
    const column = Number(await header.evaluate((th) => (th as unknown as { cellIndex: number }).cellIndex));
    const privilegedRow = page.locator('#cis-matrix tbody tr', { hasText: 'cis-privileged' });
    expect(await privilegedRow.locator('td').nth(column).innerText()).to.equal('FAIL');
    expect(await page.locator('#cis-matrix tbody tr', { hasText: 'cis-limited' }).locator('td').nth(column).innerText()).to.equal('PASS');
    expect(await page.locator('#cis-matrix tbody tr', { hasText: 'cis-spared' }).locator('td').nth(column).innerText()).to.equal('EXCL');
    expect(await page.locator('#pass-rates td').nth(column).innerText()).to.equal('67%');
    await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });

    // The rows a reader sees (display:none rows have no offsetParent), with their FAIL cells counted.
    const visible = async (): Promise<Array<{ name: string; fails: number }>> =>
      (await page.evaluate(`Array.from(document.querySelectorAll('#cis-matrix tbody tr'))
        .filter((tr) => tr.offsetParent !== null)
        .map((tr) => ({ name: tr.cells[0].innerText.split('\\n')[0], fails: Array.from(tr.cells).filter((td) => td.innerText === 'FAIL').length }))`)) as Array<{ name: string; fails: number }>;
    await page.locator('#failures-only').check();
    const filtered = await visible();
    expect(filtered.map((r) => r.name)).to.have.members(['cis-limited', 'cis-privileged']);
    expect(filtered.every((r) => r.fails > 0)).to.equal(true);
    const fails = new Map(filtered.map((r) => [r.name, r.fails] as const));
    expect(fails.get('cis-limited')).to.be.lessThan(fails.get('cis-privileged')!);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-failures-only.png'), fullPage: true });

    // Sorting keeps the filter; unchecking brings every row back.
    await page.locator('#cis-matrix th', { hasText: 'Score' }).click();
    expect((await visible()).map((r) => r.name)).to.deep.equal(['cis-privileged', 'cis-limited']);
    await page.locator('#failures-only').uncheck();
    expect(await visible()).to.have.length(4);
  });

  it('scan --report junit is well-formed JUnit with a failure for 5.5 on the privileged container', async () => {
    const run = await cli(['scan', '--report', 'junit'], cliEnv);
    expect(run.code, run.stderr).to.equal(0);
    const root = parseXml(run.stdout);
    expect(root.name).to.equal('testsuites');
    const suite = root.children.find((s) => s.name === 'testsuite' && s.attrs['id'] === 'privileged-container')!;
    expect(suite.attrs['name']).to.equal('5.5 Privileged containers are not used');
    const cases = new Map(suite.children.filter((c) => c.name === 'testcase').map((c) => [c.attrs['name'], c] as const));
    expect([...cases.keys()].sort()).to.deep.equal(['cis-hardened', 'cis-limited', 'cis-privileged', 'cis-spared']);
    const kinds = (c: XmlElement | undefined): string[] => (c?.children ?? []).map((child) => child.name);
    expect(kinds(cases.get('cis-privileged'))).to.deep.equal(['failure']);
    expect(cases.get('cis-privileged')!.children[0]!.attrs['message']).to.include('CIS 5.5').and.include('Privileged: true');
    expect(kinds(cases.get('cis-limited'))).to.deep.equal([]);
    expect(kinds(cases.get('cis-spared'))).to.deep.equal(['skipped']);
    if (browser) {
      // A second, independent parser: Chromium's.
      const page = await browser.newPage();
      const errors = await page.evaluate(`new DOMParser().parseFromString(${JSON.stringify(run.stdout)}, 'application/xml').getElementsByTagName('parsererror').length`);
      expect(errors).to.equal(0);
    }
  });

  it('scan --report json has the /report shape; exit 0 in WARN, 1 when 5.5 is KILL, 2 on a broken packs file', async () => {
    const warn = await cli(['scan', '--report', 'json'], cliEnv);
    expect(warn.code, warn.stderr).to.equal(0);
    const data = JSON.parse(warn.stdout) as CisReportJson;
    const served = await report(enforcer);
    expect(Object.keys(data)).to.deep.equal(Object.keys(served));
    expect(data.summary).to.deep.equal(served.summary);
    expect(resultOf(data, 'cis-privileged', 'privileged-container')).to.equal('fail');

    const killPacks = path.join(enforcer.dir, 'packs-kill.yml');
    await writeFile(killPacks, 'cis-docker:\n  mode: WARN\n  checks:\n    "5.5": KILL\n  exclude:\n    names: ["cis-spared"]\n');
    const kill = await cli(['scan', '--report', 'table'], { ...cliEnv, PACKS_PATH: killPacks });
    expect(kill.code, kill.stderr).to.equal(1);
    expect(kill.stdout.split('\n').find((l) => l.startsWith('cis-privileged'))).to.include('5.5 privileged-container [KILL]');
    expect(kill.stdout.split('\n').find((l) => l.startsWith('cis-hardened'))).to.match(/100%\s+—$/);
    // A dry run acts on nothing, KILL or not.
    expect(await testEngine().isRunning('cis-privileged')).to.equal(true);

    const broken = path.join(enforcer.dir, 'packs-broken.yml');
    await writeFile(broken, 'cis-docker:\n  mode: STOP\n');
    const refused = await cli(['scan', '--report', 'json'], { ...cliEnv, PACKS_PATH: broken });
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.include(`${broken}:2:`).and.include('"STOP"');
    expect(refused.stdout).to.equal('');

    const bad = await cli(['scan', '--report', 'yaml'], cliEnv);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--report takes one of table, json, junit');
  });
});
