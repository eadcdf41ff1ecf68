import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import { createEnvelope, startEnforcer, type RunningEnforcer } from './enforcer';
import { testEngine } from './setup';

const ROOT = path.resolve(__dirname, '../../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

const RULES = `export const rules: ContainerRule[] = [
  { name: 'reads a missing field', rule: (c) => (c.params as any).Missing.Field === 1, mode: 'WARN' },
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
  { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
];`;

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text exposition format (0.0.4): enough of it to read every sample back. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)) labels[label[1]!] = JSON.parse(`"${label[2]}"`) as string;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}


const havePromtool = spawnSync('promtool', ['--version']).status === 0;

describe('observability: metrics worth scraping, pages worth reading', function () {
  this.timeout(120_000);
  let enforcer: RunningEnforcer;

  before(async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'stopped-one' });
    await engine.runContainer({ name: 'stopped-two' });
    await engine.runContainer({ name: 'fine', memory: 64 * 1024 * 1024 });
    // A policy pair that lets everything through: it adds a /policies page without changing a decision.
    const policies = "- description: Open <host>\n  hosts: ['+.*']\n  default: Allow\n  policies:\n    - members: [everyone]\n      rules:\n        any:\n          Allow:\n";
    enforcer = await startEnforcer(engine, { MODE: 'KILL', STOP_ON_FIRST_VIOLATION: 'False' }, { rules: RULES, policies, groups: "everyone: ['*']\n" });
    await enforcer.daemon.scanNow();
    await engine.waitFor(async () => !(await engine.isRunning('stopped-one')) && !(await engine.isRunning('stopped-two')), 15_000, 'both violators to stop');
    for (const [name, privileged] of [['denied-one', true], ['allowed-one', false]] as const) {
      await fetch(`${enforcer.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: createEnvelope(name, { Privileged: privileged, Memory: 1 << 26 }) });
    }
  });

  after(async () => {
    await enforcer.stop();
    await testEngine().removeAllContainers();
  });

  it('/metrics parses and holds the expected values after a known scenario', async () => {
    const text = await (await fetch(`${enforcer.url}/metrics`)).text();
    const samples = parsePrometheus(text);
    expect(value(samples, 'containers_stopped_total')).to.equal(2);
    expect(value(samples, 'docker_enforcer_violations_total', { rule: 'must have memory limit', source: 'periodic', mode: 'KILL' })).to.equal(2);
    // The failing rule breaks for all three containers (fail-closed), and for the two AuthZ creates.
    expect(value(samples, 'docker_enforcer_rule_errors_total', { rule: 'reads a missing field', kind: 'container' })).to.equal(5);
    expect(value(samples, 'docker_enforcer_authz_requests_total', { decision: 'deny' })).to.equal(1);
    expect(value(samples, 'docker_enforcer_authz_requests_total', { decision: 'warn' })).to.equal(1);
    expect(value(samples, 'docker_enforcer_authz_request_duration_seconds_count')).to.equal(2);
    expect(value(samples, 'docker_enforcer_scans_total', { result: 'completed' })).to.equal(1);
    expect(value(samples, 'docker_enforcer_containers_checked_total', { source: 'periodic' })).to.equal(3);
    expect(value(samples, 'docker_enforcer_rules_loaded', { kind: 'container' })).to.equal(3);
    expect(value(samples, 'docker_enforcer_build_info', { version: 'test' })).to.equal(1);
    expect(value(samples, 'docker_enforcer_docker_request_duration_seconds_count', { operation: 'inspect' })).to.be.at.least(3);
    expect(value(samples, 'process_cpu_user_seconds_total')).to.be.greaterThan(0);
    // Labels come from bounded sets: no container ids or names anywhere.
    expect(samples.flatMap((s) => Object.values(s.labels)).filter((v) => /stopped-one|[0-9a-f]{64}/.test(v))).to.deep.equal([]);
  });

  it('passes promtool: the metrics, the shipped alerts, and the dashboard queries name real series', async function () {
    if (!havePromtool) this.skip();
    const text = await (await fetch(`${enforcer.url}/metrics`)).text();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.status, `${lint.stdout}${lint.stderr}`).to.equal(0);
    const rules = spawnSync('promtool', ['check', 'rules', path.join(ROOT, 'examples/prometheus/alerts.yml')], { encoding: 'utf8' });
    expect(rules.status, `${rules.stdout}${rules.stderr}`).to.equal(0);
    // Declared families (a labelled counter has no sample until it first counts something).
    const names = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const dashboard = JSON.parse(await readFile(path.join(ROOT, 'examples/grafana/docker-enforcer-dashboard.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const used = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) => [...t.expr.matchAll(/\b((?:docker_enforcer|containers)_[a-z_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))),
    );
    expect(used.filter((name) => !names.has(name))).to.deep.equal([]);
  });

  describe('pages in a real headless browser', () => {
    let browser: Browser;
    before(async function () {
      const launched = await launchChromium();
      if (!launched) this.skip();
      browser = launched;
      await mkdir(ARTIFACTS, { recursive: true });
    });
    after(async () => {
      await browser?.close();
    });

    it('shows detections as a sortable table', async () => {
      const page = await browser.newPage();
      await page.goto(`${enforcer.url}/`);
      const rows = await page.locator('#detections tbody tr').allInnerTexts();
      expect(rows.join('\n')).to.include('stopped-one').and.include('stopped-two').and.include('denied-one');
      const firstColumn = async (): Promise<string[]> => page.locator('#detections tbody tr td:first-child').allInnerTexts();
      await page.locator('#detections th', { hasText: 'Container' }).click();
      const ascending = await firstColumn();
      expect(ascending).to.deep.equal([...ascending].sort((a, b) => a.localeCompare(b)));
      await page.locator('#detections th', { hasText: 'Container' }).click();
      expect(await firstColumn()).to.deep.equal([...ascending].reverse());
      const headers = await page.locator('#detections th').allInnerTexts();
      expect(headers.map((h) => h.trim())).to.deep.equal(['Container', 'Image', 'Rules', 'Mode', 'Action', 'Source', 'Owner', 'Count', 'Last seen']);
      await page.screenshot({ path: path.join(ARTIFACTS, 'detections.png'), fullPage: true });
    });

    it('renders rules, request rules, triggers, config and recent pages', async () => {
      const page = await browser.newPage();
      await page.goto(`${enforcer.url}/rules`);
      expect(await page.locator('#rules tbody').innerText()).to.include('must have memory limit');
      expect(await page.locator('pre code .str').first().innerText()).to.match(/^'/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'rules.png'), fullPage: true });
      for (const [url, text] of [
        ['/request_rules', 'not present'],
        ['/triggers', 'Triggers'],
        ['/config', 'white_list'],
        ['/policies', 'Rule set 1: Open <host>'],
        ['/recent', 'stopped-one'],
      ] as const) {
        await page.goto(`${enforcer.url}${url}`);
        expect(await page.locator('body').innerText(), url).to.include(text);
      }
    });
  });
});
