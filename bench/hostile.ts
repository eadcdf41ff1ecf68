/**
 * Hostile input, measured (figures printed, never asserted):
 *  1. N mixed envelopes (default 100,000) at 16 keep-alive connections — compliant and violating
 *     creates, look-alike keys, trailing data, 200 KB label floods, chunked bodies the plugin never
 *     saw, unknown routes, malformed envelopes, debug routes, exec as root, updates — every answer
 *     checked against the decision it must get, then /metrics checked against what was sent.
 *  2. RSS of the daemon (all threads) sampled while it decides 4 x N envelopes: bounded or not.
 *  3. Slow paths shared by everyone: compliant creates alone, then with 3 attacker connections whose
 *     label makes a rule's regular expression backtrack; the throughput the others keep.
 * The daemon runs in its own process against a throwaway dockerd; this process only generates load.
 * Usage: npm run bench:hostile [-- ENVELOPES]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestEngine } from '../test/integration/engine';
import { Connection, percentile, rssMb, startDaemon } from './load';

const RULES = `export const rules = [
  { name: 'no privileged', rule: (c) => c.params.HostConfig?.Privileged === true },
  { name: 'no host /etc', rule: (c) => (c.params.HostConfig?.Binds ?? []).some((b) => b.startsWith('/etc')) },
  // Backtracks exponentially on a long run of 'a' that does not end the way the pattern wants.
  { name: 'label format', rule: (c) => /^(a+)+$/.test(c.params.Config?.Labels?.['fmt'] ?? 'a') === false },
];`;
const REQUEST_RULES = `export const requestRules = [
  { name: 'no exec as root', rule: (r) => r.action === 'execCreate' && (r.body ?? {}).User === 'root' },
  { name: 'no debug endpoints', rule: (r) => r.namespace === 'debug' },
];`;

type Expected = 'allow' | 'deny' | 'default_allow';

interface Kind {
  readonly name: string;
  readonly request: Buffer;
  readonly expected: Expected;
}

function post(port: number, path: string, body: string): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`), bytes]);
}

function envelope(method: string, uri: string, body?: string, headers?: Record<string, string>): string {
  const text = body === undefined ? undefined : Buffer.from(body).toString('base64');
  return JSON.stringify({ User: '', RequestMethod: method, RequestUri: uri, RequestHeaders: headers ?? (body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }), ...(text ? { RequestBody: text } : {}) });
}

function kinds(port: number): Kind[] {
  const create = (hostConfig: Record<string, unknown>, labels: Record<string, string> = { fmt: 'aaa' }): string => JSON.stringify({ Image: 'enforcer-test:busybox', Cmd: ['sleep', '1'], Labels: labels, HostConfig: { NetworkMode: 'none', ...hostConfig } });
  const flood: Record<string, string> = { fmt: 'a' };
  for (let i = 0; i < 200; i++) flood[`l${i}`] = 'v'.repeat(1000);
  const authz = (body: string): Buffer => post(port, '/AuthZPlugin.AuthZReq', body);
  return [
    { name: 'compliant create', request: authz(envelope('POST', '/v1.41/containers/create?name=ok', create({ Memory: 67108864 }))), expected: 'allow' },
    { name: 'privileged create', request: authz(envelope('POST', '/v1.41/containers/create?name=p', create({ Privileged: true }))), expected: 'deny' },
    { name: 'look-alike keys', request: authz(envelope('POST', '/v1.41/containers/create?name=l', '{"image":"x","hostconfig":{"Privileged":true,"Prıvileged":false}}')), expected: 'deny' },
    { name: 'top-level HostConfig', request: authz(envelope('POST', '/v1.41.0/containers/create', '{"Image":"x","Privileged":true}')), expected: 'deny' },
    { name: 'trailing data', request: authz(envelope('POST', '/v1.41/containers/create', `${create({ Binds: ['/etc:/h'] })} junk`)), expected: 'deny' },
    { name: '200 KB label flood', request: authz(envelope('POST', `/v1.41/containers/create?name=${'f'.repeat(500)}`, create({ Privileged: true }, flood))), expected: 'deny' },
    { name: 'chunked, body never seen', request: authz(envelope('POST', '/v1.41/containers/create', undefined, { 'Content-Type': 'application/json' })), expected: 'deny' },
    { name: 'exec as root', request: authz(envelope('POST', '/v1.41/containers/x/exec', '{"user":"root","cmd":["id"]}')), expected: 'deny' },
    { name: 'debug route', request: authz(envelope('GET', '/debug/pprof/heap')), expected: 'deny' },
    { name: 'unknown route', request: authz(envelope('POST', '/v1.99/brand/new')), expected: 'deny' },
    { name: 'list', request: authz(envelope('GET', '/v1.41/containers/json?all=1')), expected: 'allow' },
    { name: 'update of a missing container', request: authz(envelope('POST', '/v1.41/containers/missing/update', '{"CpuShares":512}')), expected: 'allow' },
    { name: 'malformed envelope', request: authz('{"RequestMethod":'), expected: 'default_allow' },
    { name: 'bad base64', request: authz(JSON.stringify({ RequestMethod: 'POST', RequestUri: '/containers/create', RequestBody: '@@@@' })), expected: 'default_allow' },
  ];
}

interface Run {
  readonly sent: Map<Expected, number>;
  readonly failures: string[];
  readonly seconds: number;
  readonly latencies: number[];
}

/**
 * Sends `total` requests (or as many as fit in `seconds`) round-robin over `pool` kinds on
 * `connections` connections, checking every answer.
 */
async function send(port: number, pool: readonly Kind[], total: number, connections: number, onProgress?: (done: number) => void, seconds = Infinity): Promise<Run> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => Connection.open(port)));
  const sent = new Map<Expected, number>();
  const failures: string[] = [];
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    sockets.map(async (socket) => {
      while (next < total && performance.now() < deadline) {
        const kind = pool[next % pool.length]!;
        next++;
        latencies.push(await socket.send(kind.request));
        sent.set(kind.expected, (sent.get(kind.expected) ?? 0) + 1);
        const allow = socket.lastStatus === 200 ? (JSON.parse(socket.lastBody) as { Allow: boolean }).Allow : undefined;
        if (allow !== (kind.expected !== 'deny') && failures.length < 20) failures.push(`${kind.name}: HTTP ${socket.lastStatus} ${socket.lastBody.slice(0, 200)}`);
        if (next % 10_000 === 0) onProgress?.(next);
      }
    }),
  );
  sockets.forEach((socket) => socket.close());
  return { sent, failures, seconds: (performance.now() - started) / 1000, latencies };
}

async function decisionCounts(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = new Map<string, number>();
  // Summed over the `host` label: every caller here is local, but the label is there.
  for (const match of text.matchAll(/^docker_enforcer_authz_requests_total\{[^}]*decision="(\w+)"[^}]*\} (\d+)$/gm)) counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + Number(match[2]));
  return counts;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 100_000);
  const engine = await startTestEngine();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-hostile-'));
  const port = 41_000 + (process.pid % 10_000);
  let daemon: ChildProcess | undefined;
  try {
    await writeFile(path.join(dir, 'rules.ts'), RULES);
    await writeFile(path.join(dir, 'request_rules.ts'), REQUEST_RULES);
    daemon = await startDaemon(
      {
        DOCKER_SOCKET: `unix://${engine.socketPath}`,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        RUN_PERIODIC: 'False',
        MODE: 'KILL',
        RULES_PATH: path.join(dir, 'rules.ts'),
        REQUEST_RULES_PATH: path.join(dir, 'request_rules.ts'),
        LOG_LEVEL: 'fatal',
      },
      port,
    );
    const pid = daemon.pid!;
    const pool = kinds(port);

    console.log(`1. ${total.toLocaleString('en')} mixed envelopes (${pool.length} kinds, round robin), 16 connections`);
    const before = await decisionCounts(port);
    const run = await send(port, pool, total, 16);
    const after = await decisionCounts(port);
    const delta = (label: string): number => (after.get(label) ?? 0) - (before.get(label) ?? 0);
    const counted = { allow: delta('allow') + delta('warn'), deny: delta('deny'), default_allow: delta('default_allow') };
    console.log(`   ${run.seconds.toFixed(1)} s, ${(total / run.seconds).toFixed(0)} req/s, failures: ${run.failures.length}${run.failures.length > 0 ? `\n     ${run.failures.join('\n     ')}` : ''}`);
    for (const label of ['allow', 'deny', 'default_allow'] as const) {
      console.log(`   ${label.padEnd(14)} sent ${String(run.sent.get(label) ?? 0).padStart(7)}   counted in /metrics ${String(counted[label]).padStart(7)}   ${(run.sent.get(label) ?? 0) === counted[label] ? 'equal' : 'DIFFERENT'}`);
    }

    console.log(`2. RSS while deciding ${(4 * total).toLocaleString('en')} more envelopes (MB, the daemon and its rule host)`);
    const samples: string[] = [`start ${rssMb(pid).toFixed(0)}`];
    let reported = 0;
    await send(port, pool, 4 * total, 16, (done) => {
      if (done % (total / 2) !== 0 || done === reported) return;
      reported = done;
      samples.push(`${done / 1000}k ${rssMb(pid).toFixed(0)}`);
    });
    samples.push(`end ${rssMb(pid).toFixed(0)}`);
    console.log(`   ${samples.join(', ')}`);

    console.log('3. Slow paths shared by everyone: 13 connections of compliant creates, 10 s, alone and beside 3 attacker connections');
    const compliant = pool.filter((kind) => kind.name === 'compliant create');
    const attack: Kind[] = [{ name: 'backtracking label', request: post(port, '/AuthZPlugin.AuthZReq', envelope('POST', '/v1.41/containers/create', JSON.stringify({ Image: 'x', Labels: { fmt: `${'a'.repeat(32)}!` } }))), expected: 'deny' }];
    const report = (label: string, result: Run): void => {
      const sorted = [...result.latencies].sort((a, b) => a - b);
      const count = [...result.sent.values()].reduce((sum, n) => sum + n, 0);
      console.log(`   ${label.padEnd(34)} ${(count / result.seconds).toFixed(0).padStart(6)} decisions/s   p50 ${percentile(sorted, 50).toFixed(2)} ms   p99 ${percentile(sorted, 99).toFixed(2)} ms   max ${percentile(sorted, 100).toFixed(1)} ms   failures ${result.failures.length}`);
    };
    const alone = await send(port, compliant, Number.MAX_SAFE_INTEGER, 13, undefined, 10);
    report('others, alone', alone);
    const [others, attackers] = await Promise.all([send(port, compliant, Number.MAX_SAFE_INTEGER, 13, undefined, 10), send(port, attack, Number.MAX_SAFE_INTEGER, 3, undefined, 10)]);
    report('others, beside 3 attackers', others);
    report('attackers (each cut off at the bound)', attackers);
    const rate = (run: Run): number => [...run.sent.values()].reduce((sum, n) => sum + n, 0) / run.seconds;
    console.log(`   the others keep ${((100 * rate(others)) / rate(alone)).toFixed(1)} % of their throughput`);
  } finally {
    daemon?.kill('SIGTERM');
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
