/**
 * AuthZ plugin performance.
 *  0. First, before any daemon or dockerd competes for the CPU: the image-trust gate (image-trust.ts),
 *     a cached verification in a create decision and uncached verifications against a loopback registry;
 *     then the CIS pack's cost on a create decision (cis.ts).
 *  1. The endpoint alone: AuthZReq with a container-create envelope captured from a real dockerd,
 *     10 container rules + 5 request rules loaded, over keep-alive connections on loopback:
 *     closed-loop throughput, then latency at a fixed 1,000 req/s, with the CPU each request costs
 *     the plugin process and this client. The same for the daemon with no rules (decoding only) and
 *     for a no-op plugin (the floor for any Node plugin here).
 *  2. End to end through a throwaway dockerd: GET /containers/json and create+remove, without a
 *     plugin, with the no-op plugin and with docker-enforcer, over tcp (spec file) and over a unix
 *     socket (AUTHZ_SOCKET), passes alternated in the same run.
 * The daemon runs in its own process (as in production); this process only generates load.
 * Usage: npm run bench:authz [-- SECONDS CONNECTIONS [endpoint|trust|cis|tls]]  (`endpoint`: skip the end-to-end part;
 * `trust`: the image-trust part only, `cis`: the CIS pack part only; neither needs dockerd;
 * `tls`: only the central server over mutual TLS vs a no-op plugin behind the same TLS and vs itself without TLS (tls.ts))
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestEngine } from '../test/integration/engine';
import { endToEnd } from './end-to-end';
import { imageTrustBench } from './image-trust';
import { cisBench } from './cis';
import { tlsBench } from './tls';
import { closedLoop as closedLoopOn, Connection, percentile, ROOT, startDaemon, withCpu } from './load';
import { BENCH_GROUPS, BENCH_POLICIES } from './policy-pair';

const PLUGIN_SOCKET_DIR = '/run/docker/plugins';
// The captured create, sent by a TLS user (policies judge who asks; rules ignore it).
const ENVELOPE = JSON.stringify({ ...(JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/authz/create-envelope.json'), 'utf8')) as object), User: 'alice', UserAuthNMethod: 'TLS' });

const CONTAINER_RULES = `export const rules = [
  { name: 'no privileged', rule: (c) => c.params.HostConfig?.Privileged === true },
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
  { name: 'no host network', rule: (c) => c.params.HostConfig?.NetworkMode === 'host' },
  { name: 'no host pid', rule: (c) => c.params.HostConfig?.PidMode === 'host' },
  { name: 'no docker socket', rule: (c) => (c.params.HostConfig?.Binds ?? []).some((b) => b.startsWith('/var/run/docker.sock')) },
  { name: 'team label', rule: (c) => !c.params.Config?.Labels?.['team'] },
  { name: 'not root', rule: (c) => (c.params.Config?.User ?? '') === '' || c.params.Config?.User === 'root' },
  { name: 'no SYS_ADMIN', rule: (c) => (c.params.HostConfig?.CapAdd ?? []).includes('SYS_ADMIN') },
  { name: 'cpu shares at most 1024', rule: (c) => (c.params.HostConfig?.CpuShares ?? 0) > 1024 },
  { name: 'restart policy set', rule: (c) => !c.params.HostConfig?.RestartPolicy?.Name },
];`;
const REQUEST_RULES = `export const requestRules = [
  { name: 'no docker cp into test', rule: (r) => r.action === 'containersArchive' && r.method === 'PUT' && r.path.includes('/test') },
  { name: 'no exec as root', rule: (r) => r.action === 'execCreate' && ((r.body ?? {}).User ?? '') === 'root' },
  { name: 'no image push', rule: (r) => r.action === 'imagesPush' },
  { name: 'no swarm init', rule: (r) => r.action === 'swarmInit' },
  { name: 'no plugin install', rule: (r) => r.action === 'pluginsInstall' },
];`;

function authzRequest(port: number): Buffer {
  const body = Buffer.from(ENVELOPE);
  const head = `POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

function closedLoop(port: number, connections: number, seconds: number): Promise<{ rps: number; p50: number; p99: number; requests: number }> {
  return closedLoopOn(() => Connection.open(port), authzRequest(port), connections, seconds);
}

async function fixedRate(port: number, rate: number, seconds: number): Promise<{ sent: number; p50: number; p99: number; max: number; blocked: number }> {
  const pool = await Promise.all(Array.from({ length: 16 }, () => Connection.open(port)));
  const request = authzRequest(port);
  const latencies: number[] = [];
  const total = rate * seconds;
  const inFlight: Array<Promise<void>> = [];
  let blocked = 0;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    // Sleep until due (timer resolution ~1 ms): a busy-wait here would take a core from the daemon.
    if (performance.now() < due) await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const connection = pool.find((c) => !c.busy);
    if (!connection) {
      // All 16 connections still waiting: this request could not go out on time (counted as infinitely late).
      latencies.push(Infinity);
      blocked++;
      continue;
    }
    inFlight.push(connection.send(request).then((ms) => void latencies.push(ms)));
  }
  await Promise.all(inFlight);
  pool.forEach((c) => c.close());
  latencies.sort((a, b) => a - b);
  const answered = latencies.filter(Number.isFinite);
  return { sent: total, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: answered[answered.length - 1] ?? NaN, blocked };
}

/** Closed loop on 1 and `connections` connections, then a fixed 1,000 req/s, after a JIT warm-up. */
async function measureEndpoint(label: string, pid: number, port: number, connections: number, seconds: number): Promise<{ pluginUs: number }> {
  // The first seconds of a fresh process are not its speed.
  await closedLoop(port, connections, 2);
  console.log(`  ${label}`);
  let last = { pluginUs: NaN };
  for (const c of [1, connections]) {
    const result = await withCpu(pid, () => closedLoop(port, c, seconds));
    last = result;
    console.log(`    closed loop, ${String(c).padStart(2)} keep-alive connections: ${result.rps.toFixed(0).padStart(6)} req/s   p50 ${result.p50.toFixed(3)} ms   p99 ${result.p99.toFixed(3)} ms   CPU per request: plugin ${result.pluginUs.toFixed(0)} µs, client ${result.clientUs.toFixed(0)} µs`);
  }
  const fixed = await fixedRate(port, 1000, seconds);
  console.log(`    fixed 1,000 req/s (${fixed.sent} requests): p50 ${fixed.p50.toFixed(3)} ms   p99 ${fixed.p99.toFixed(3)} ms   max ${fixed.max.toFixed(3)} ms${fixed.blocked > 0 ? `   (${fixed.blocked} not sent on time: all 16 connections busy)` : ''}`);
  return last;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const connections = Number(process.argv[3] ?? 16);
  if (process.argv[4] === 'tls') return tlsBench(ENVELOPE, CONTAINER_RULES, REQUEST_RULES, seconds, connections);
  if (process.argv[4] !== 'cis') await imageTrustBench(ENVELOPE, CONTAINER_RULES, REQUEST_RULES);
  if (process.argv[4] !== 'trust') await cisBench(ENVELOPE, CONTAINER_RULES, REQUEST_RULES);
  if (process.argv[4] === 'trust' || process.argv[4] === 'cis') return;
  const engine = await startTestEngine();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-bench-'));
  const plugin = `de-bench-${process.pid}`;
  const spec = `/etc/docker/plugins/${plugin}.spec`;
  const port = 40_000 + (process.pid % 10_000);
  const noopPort = port + 1;
  const noRulesPort = port + 2;
  const policiesPort = port + 3;
  const noopPlugin = `${plugin}-noop`;
  const noopSpec = `/etc/docker/plugins/${noopPlugin}.spec`;
  // The same two plugins reached over unix sockets (AUTHZ_SOCKET), where dockerd finds them by name.
  const socketPlugin = `${plugin}-sock`;
  const noopSocketPlugin = `${plugin}-noop-sock`;
  let daemon: ChildProcess | undefined;
  let noop: ChildProcess | undefined;
  let noRules: ChildProcess | undefined;
  let withPolicies: ChildProcess | undefined;
  try {
    await mkdir(PLUGIN_SOCKET_DIR, { recursive: true });
    await writeFile(path.join(dir, 'rules.ts'), CONTAINER_RULES);
    await writeFile(path.join(dir, 'request_rules.ts'), REQUEST_RULES);
    const daemonEnv = {
      DOCKER_SOCKET: `unix://${engine.socketPath}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      RUN_PERIODIC: 'False',
      MODE: 'KILL',
      RULES_PATH: path.join(dir, 'rules.ts'),
      REQUEST_RULES_PATH: path.join(dir, 'request_rules.ts'),
      AUTHZ_SOCKET: `${PLUGIN_SOCKET_DIR}/${socketPlugin}.sock`,
      LOG_LEVEL: 'error',
    };
    daemon = await startDaemon(daemonEnv, port);
    noop = await startDaemon({}, noopPort, path.join(ROOT, 'dist/bench/noop-plugin.js'), [String(noopPort), `${PLUGIN_SOCKET_DIR}/${noopSocketPlugin}.sock`]);
    // The decision pipeline without rule evaluation: the same daemon with empty rule files (envelope
    // and body decoding, Request and Container built, nothing sent to the rule worker).
    await writeFile(path.join(dir, 'no-rules.ts'), 'export const rules = [];\n');
    await writeFile(path.join(dir, 'no-request-rules.ts'), 'export const requestRules = [];\n');
    noRules = await startDaemon({ ...daemonEnv, HTTP_PORT: String(noRulesPort), AUTHZ_SOCKET: '', RULES_PATH: path.join(dir, 'no-rules.ts'), REQUEST_RULES_PATH: path.join(dir, 'no-request-rules.ts') }, noRulesPort);
    // The same rules plus a realistic docker-leash pair (3 rule sets, 5 groups, 20 checks).
    await writeFile(path.join(dir, 'policies.yml'), BENCH_POLICIES);
    await writeFile(path.join(dir, 'groups.yml'), BENCH_GROUPS);
    withPolicies = await startDaemon(
      { ...daemonEnv, HTTP_PORT: String(policiesPort), AUTHZ_SOCKET: '', POLICIES_PATH: path.join(dir, 'policies.yml'), GROUPS_PATH: path.join(dir, 'groups.yml'), HOST_NAME: 'wks01' },
      policiesPort,
    );
    console.log(`AuthZReq endpoint (create envelope captured from dockerd), each plugin in its own process, ${seconds} s per figure:`);
    const withRules = await measureEndpoint('docker-enforcer, 10 container + 5 request rules', daemon.pid!, port, connections, seconds);
    const withBoth = await measureEndpoint('docker-enforcer, the same rules + docker-leash policies (3 rule sets, 5 groups, 20 checks)', withPolicies.pid!, policiesPort, connections, seconds);
    console.log(`    policies add ${(withBoth.pluginUs - withRules.pluginUs).toFixed(1)} µs of plugin CPU per decision at ${connections} connections (same run; run-to-run noise here is ±30 µs)`);
    await measureEndpoint('docker-enforcer, no rules (decoding only)', noRules.pid!, noRulesPort, connections, seconds);
    await measureEndpoint('floor: no-op plugin on plain node:http', noop.pid!, noopPort, connections, seconds);

    if (process.argv[4] === 'endpoint') return;
    await mkdir('/etc/docker/plugins', { recursive: true });
    await writeFile(spec, `tcp://127.0.0.1:${port}\n`);
    await writeFile(noopSpec, `tcp://127.0.0.1:${noopPort}\n`);
    const rounds = 400;
    const passes: Array<{ label: string; plugins: string[] }> = [
      { label: 'without plugin', plugins: [] },
      { label: 'no-op plugin', plugins: [noopPlugin] },
      { label: 'docker-enforcer', plugins: [plugin] },
      { label: 'no-op, socket', plugins: [noopSocketPlugin] },
      { label: 'enforcer, socket', plugins: [socketPlugin] },
    ];
    const results: Array<{ label: string; list: number; create: number }> = [];
    for (let round = 0; round < 2; round++) {
      for (const pass of passes) {
        await engine.writeDaemonConfig(pass.plugins.length > 0 ? { 'authorization-plugins': pass.plugins } : {});
        await endToEnd(engine, 20);
        results.push({ label: pass.label, ...(await endToEnd(engine, rounds)) });
      }
    }
    console.log(`\nEnd to end through dockerd (p50 of ${rounds} GET /containers/json and ${rounds / 10} create+remove per pass, passes alternated):`);
    for (const r of results) console.log(`  ${r.label.padEnd(16)} GET /containers/json ${r.list.toFixed(3)} ms   create+remove ${r.create.toFixed(2)} ms`);
    const mean = (label: string, key: 'list' | 'create'): number => {
      const rows = results.filter((r) => r.label === label);
      return rows.reduce((sum, r) => sum + r[key], 0) / rows.length;
    };
    const added = (label: string, key: 'list' | 'create'): string => (mean(label, key) - mean('without plugin', key)).toFixed(3);
    for (const [transport, enforcer, floor] of [['tcp (spec file)', 'docker-enforcer', 'no-op plugin'], ['unix socket (AUTHZ_SOCKET)', 'enforcer, socket', 'no-op, socket']] as const) {
      console.log(`  ${transport}: added p50 per GET: docker-enforcer ${added(enforcer, 'list')} ms, no-op plugin ${added(floor, 'list')} ms (each API call = AuthZReq + AuthZRes); per create+remove: ${added(enforcer, 'create')} ms, no-op ${added(floor, 'create')} ms`);
    }
  } finally {
    await engine.writeDaemonConfig({}).catch(() => undefined);
    await rm(spec, { force: true });
    await rm(noopSpec, { force: true });
    await rm(`${PLUGIN_SOCKET_DIR}/${noopSocketPlugin}.sock`, { force: true });
    daemon?.kill('SIGTERM');
    noop?.kill('SIGTERM');
    noRules?.kill('SIGTERM');
    withPolicies?.kill('SIGTERM');
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
