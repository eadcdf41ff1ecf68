/**
 * The central AuthZ server over mutual TLS, part of bench:authz (`npm run bench:authz -- SECONDS CONNECTIONS tls`).
 * A CA, a server certificate (IP:127.0.0.1) and a client certificate (CN host-a) made with openssl;
 * four plugin processes on loopback, each in its own process as in production:
 *   - docker-enforcer as a server (DOCKER_SOCKET=none) on AUTHZ_TLS_PORT, requiring a client certificate from the CA;
 *   - the same docker-enforcer without TLS (HTTP_PORT), same rules, same DOCKER_SOCKET=none;
 *   - the no-op plugin behind the same mutual TLS (node:https, requestCert) and on plain node:http.
 * 1. The endpoint alone: closed-loop throughput at CONNECTIONS keep-alive connections of the captured
 *    create envelope, TLS vs plain for each plugin, passes alternated; the ratio TLS/plain is the figure.
 *    The client is the same lean keep-alive client on both (a TLS socket under it for TLS), and the
 *    handshake happens once per connection, before the clock starts.
 * 2. End to end through a throwaway dockerd: GET /containers/json and create+remove without a plugin,
 *    with each plugin registered by a .json spec (Addr https://…, TLSConfig CAFile/CertFile/KeyFile)
 *    or, for the same plugins without TLS, a .spec file; passes alternated. The figure is the latency
 *    docker-enforcer adds per call over the latency the no-op plugin behind the same TLS adds.
 * Figures are printed, never asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { startTestEngine, type TestEngine } from '../test/integration/engine';
import { freePort } from '../test/integration/ports';
import { makeCertificates, type CertificatePair } from '../test/integration/tls';
import { endToEnd } from './end-to-end';
import { closedLoop, Connection, ROOT, startDaemon, stopProcess, withCpu } from './load';

const CALLER = 'host-a';
const SPEC_DIR = '/etc/docker/plugins';
const LOOPBACK = '127.0.0.1';
/** End-to-end rounds, each pass once per round. */
const ROUNDS = 4;

const signed = (value: number, digits = 3): string => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function authzRequest(envelope: string, port: number): Buffer {
  const body = Buffer.from(envelope);
  const head = `POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: ${LOOPBACK}:${port}\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

/** POST /Plugin.Activate over mutual TLS answers 200: the listener is up and accepts the client certificate. */
function activatesOverTls(port: number, client: ConnectionOptions): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const req = https.request({ host: LOOPBACK, port, method: 'POST', path: '/Plugin.Activate', ca: client.ca, cert: client.cert, key: client.key, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.end();
    });
}

interface Target {
  readonly label: string;
  readonly pid: number;
  readonly open: () => Promise<Connection>;
  readonly request: Buffer;
}

/** One AuthZReq on a fresh connection: what the plugin decides (both transports must decide alike). */
async function probe(target: Target): Promise<string> {
  const connection = await target.open();
  try {
    await connection.send(target.request);
    if (connection.lastStatus !== 200) throw new Error(`${target.label} answered ${connection.lastStatus}: ${connection.lastBody}`);
    const answer = JSON.parse(connection.lastBody) as { Allow?: boolean; Msg?: string };
    return answer.Allow === true ? 'allow' : `deny (${answer.Msg ?? ''})`;
  } finally {
    connection.close();
  }
}

async function endpoint(targets: readonly Target[], connections: number, seconds: number): Promise<void> {
  for (const target of targets) console.log(`  ${target.label.padEnd(36)} decides the captured create: ${await probe(target)}`);
  // The first seconds of a fresh process are not its speed.
  for (const target of targets) await closedLoop(target.open, target.request, connections, 2);
  const rows: Array<{ label: string; rps: number; p50: number; p99: number; pluginUs: number; clientUs: number }> = [];
  for (let round = 0; round < 2; round++) {
    for (const target of targets) {
      const result = await withCpu(target.pid, () => closedLoop(target.open, target.request, connections, seconds));
      rows.push({ label: target.label, ...result });
      console.log(
        `  ${target.label.padEnd(36)} ${result.rps.toFixed(0).padStart(6)} req/s   p50 ${result.p50.toFixed(3)} ms   p99 ${result.p99.toFixed(3)} ms   CPU per request: plugin ${result.pluginUs.toFixed(0)} µs, client ${result.clientUs.toFixed(0)} µs`,
      );
    }
  }
  const mean = (label: string, key: 'rps' | 'pluginUs'): number => {
    const picked = rows.filter((r) => r.label === label);
    return picked.reduce((sum, r) => sum + r[key], 0) / picked.length;
  };
  for (const [tls, plain] of [['docker-enforcer, mutual TLS', 'docker-enforcer, plain HTTP'], ['no-op plugin, mutual TLS', 'no-op plugin, plain HTTP']] as const) {
    console.log(
      `  ${tls} / ${plain}: throughput ${(mean(tls, 'rps') / mean(plain, 'rps')).toFixed(2)}× (${mean(tls, 'rps').toFixed(0)} vs ${mean(plain, 'rps').toFixed(0)} req/s, mean of 2 passes), plugin CPU per request ${signed(mean(tls, 'pluginUs') - mean(plain, 'pluginUs'), 0)} µs`,
    );
  }
}

async function endToEndPasses(engine: TestEngine, passes: ReadonlyArray<{ label: string; plugins: string[] }>, rounds: number): Promise<void> {
  const results: Array<{ label: string; list: number; create: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const pass of passes) {
      await engine.writeDaemonConfig(pass.plugins.length > 0 ? { 'authorization-plugins': pass.plugins } : {});
      await endToEnd(engine, 20);
      results.push({ label: pass.label, ...(await endToEnd(engine, rounds)) });
    }
  }
  // dockerd drifts between rounds (create+remove most): the median of the rounds, not their mean.
  const mean = (label: string, key: 'list' | 'create'): number => median(results.filter((r) => r.label === label).map((r) => r[key]));
  const spread = (label: string, key: 'list' | 'create', digits: number): string => {
    const values = results.filter((r) => r.label === label).map((r) => r[key]);
    return `${mean(label, key).toFixed(digits)} ms [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;
  };
  console.log(`\nEnd to end through dockerd (p50 of ${rounds} GET /containers/json and ${rounds / 10} create+remove per pass, passes alternated, ${ROUNDS} rounds; median of the rounds' p50 [their range]):`);
  for (const { label } of passes) console.log(`  ${label.padEnd(28)} GET /containers/json ${spread(label, 'list', 3).padEnd(24)} create+remove ${spread(label, 'create', 2)}`);
  const added = (label: string, key: 'list' | 'create'): number => mean(label, key) - mean('without plugin', key);
  for (const [transport, enforcer, floor] of [
    ['mutual TLS (.json spec)', 'docker-enforcer, mutual TLS', 'no-op plugin, mutual TLS'],
    ['plain tcp (.spec file)', 'docker-enforcer, plain tcp', 'no-op plugin, plain tcp'],
  ] as const) {
    for (const [key, what] of [['list', 'GET /containers/json'], ['create', 'create+remove']] as const) {
      console.log(
        `  ${transport}, ${what}: added over no plugin: docker-enforcer ${signed(added(enforcer, key))} ms, no-op ${signed(added(floor, key))} ms; enforcer/no-op added ${(added(enforcer, key) / added(floor, key)).toFixed(2)}×, total ${(mean(enforcer, key) / mean(floor, key)).toFixed(3)}×`,
      );
    }
  }
  console.log(`  mutual TLS itself, no-op plugin: ${signed(mean('no-op plugin, mutual TLS', 'list') - mean('no-op plugin, plain tcp', 'list'))} ms per GET over plain tcp; docker-enforcer: ${signed(mean('docker-enforcer, mutual TLS', 'list') - mean('docker-enforcer, plain tcp', 'list'))} ms (each API call = AuthZReq + AuthZRes)`);
}

export async function tlsBench(envelope: string, containerRules: string, requestRules: string, seconds: number, connections: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-bench-tls-'));
  const name = `de-bench-${process.pid}`;
  const specs: string[] = [];
  const children: ChildProcess[] = [];
  let engine: TestEngine | undefined;
  try {
    const certificates = await makeCertificates(path.join(dir, 'certs'), [CALLER]);
    const caller = certificates.users[CALLER] as CertificatePair;
    const client: ConnectionOptions = { ca: await readFile(certificates.ca), cert: await readFile(caller.cert), key: await readFile(caller.key) };
    await writeFile(path.join(dir, 'rules.ts'), containerRules);
    await writeFile(path.join(dir, 'request_rules.ts'), requestRules);
    const [enforcerTlsPort, enforcerTlsHttpPort, enforcerPort, noopTlsPort, noopPort] = [await freePort(LOOPBACK), await freePort(LOOPBACK), await freePort(LOOPBACK), await freePort(LOOPBACK), await freePort(LOOPBACK)] as [number, number, number, number, number];
    const server = {
      DOCKER_SOCKET: 'none',
      HTTP_HOST: LOOPBACK,
      RUN_PERIODIC: 'False',
      MODE: 'KILL',
      RULES_PATH: path.join(dir, 'rules.ts'),
      REQUEST_RULES_PATH: path.join(dir, 'request_rules.ts'),
      LOG_LEVEL: 'error',
    };
    const start = async (env: Record<string, string>, port: number, script?: string, args?: string[], ready?: () => Promise<boolean>): Promise<ChildProcess> => {
      const child = await startDaemon(env, port, script, args, ready);
      children.push(child);
      return child;
    };
    const enforcerTls = await start(
      { ...server, HTTP_PORT: String(enforcerTlsHttpPort), AUTHZ_TLS_CERT: certificates.server.cert, AUTHZ_TLS_KEY: certificates.server.key, AUTHZ_TLS_CA: certificates.ca, AUTHZ_TLS_PORT: String(enforcerTlsPort) },
      enforcerTlsPort,
      undefined,
      undefined,
      activatesOverTls(enforcerTlsPort, client),
    );
    const enforcer = await start({ ...server, HTTP_PORT: String(enforcerPort) }, enforcerPort);
    const noopScript = path.join(ROOT, 'dist/bench/noop-plugin.js');
    const noopTls = await start({ NOOP_TLS_CERT: certificates.server.cert, NOOP_TLS_KEY: certificates.server.key, NOOP_TLS_CA: certificates.ca }, noopTlsPort, noopScript, [String(noopTlsPort)], activatesOverTls(noopTlsPort, client));
    const noop = await start({}, noopPort, noopScript, [String(noopPort)]);

    const overTls = (port: number) => () => Connection.openTls(port, client);
    const plain = (port: number) => () => Connection.open(port);
    console.log(`Central AuthZ server over mutual TLS (client certificate CN=${CALLER}), AuthZReq endpoint alone, closed loop at ${connections} keep-alive connections, ${seconds} s per figure, passes alternated:`);
    await endpoint(
      [
        { label: 'docker-enforcer, mutual TLS', pid: enforcerTls.pid!, open: overTls(enforcerTlsPort), request: authzRequest(envelope, enforcerTlsPort) },
        { label: 'docker-enforcer, plain HTTP', pid: enforcer.pid!, open: plain(enforcerPort), request: authzRequest(envelope, enforcerPort) },
        { label: 'no-op plugin, mutual TLS', pid: noopTls.pid!, open: overTls(noopTlsPort), request: authzRequest(envelope, noopTlsPort) },
        { label: 'no-op plugin, plain HTTP', pid: noop.pid!, open: plain(noopPort), request: authzRequest(envelope, noopPort) },
      ],
      connections,
      seconds,
    );

    engine = await startTestEngine();
    await mkdir(SPEC_DIR, { recursive: true });
    const tlsConfig = { InsecureSkipVerify: false, CAFile: certificates.ca, CertFile: caller.cert, KeyFile: caller.key };
    const register = async (plugin: string, file: string, content: string): Promise<string> => {
      const spec = path.join(SPEC_DIR, file);
      specs.push(spec);
      await writeFile(spec, content);
      return plugin;
    };
    const jsonSpec = (plugin: string, port: number): Promise<string> =>
      register(plugin, `${plugin}.json`, `${JSON.stringify({ Name: plugin, Addr: `https://${LOOPBACK}:${port}`, TLSConfig: tlsConfig }, null, 2)}\n`);
    const tcpSpec = (plugin: string, port: number): Promise<string> => register(plugin, `${plugin}.spec`, `tcp://${LOOPBACK}:${port}\n`);
    await endToEndPasses(
      engine,
      [
        { label: 'without plugin', plugins: [] },
        { label: 'no-op plugin, mutual TLS', plugins: [await jsonSpec(`${name}-noop-tls`, noopTlsPort)] },
        { label: 'docker-enforcer, mutual TLS', plugins: [await jsonSpec(`${name}-tls`, enforcerTlsPort)] },
        { label: 'no-op plugin, plain tcp', plugins: [await tcpSpec(`${name}-noop`, noopPort)] },
        { label: 'docker-enforcer, plain tcp', plugins: [await tcpSpec(name, enforcerPort)] },
      ],
      400,
    );
  } finally {
    // dockerd first drops the plugins (its own cleanup calls pass through them), then everything goes.
    await engine?.writeDaemonConfig({}).catch(() => undefined);
    for (const spec of specs) await rm(spec, { force: true });
    await engine?.stop().catch((err: unknown) => console.error(err));
    for (const child of children) await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  }
}
