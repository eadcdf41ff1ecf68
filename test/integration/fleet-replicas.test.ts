/**
 * One policy server for many hosts: two enforcer replicas in the server profile (DOCKER_SOCKET=none,
 * mutual TLS on AUTHZ_TLS_PORT) behind HAProxy in TCP mode, with TLS passed through so each replica
 * still sees the calling host's client certificate. The suite's dockerd uses the pair as a remote
 * AuthZ plugin (a `.json` spec with CAFile, CertFile, KeyFile) and keeps working while one replica is
 * killed mid-run: HAProxy's health check drops it within one interval, and dockerd retries a failed
 * plugin call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { RULE_IMPORT } from './enforcer';
import { freePort } from './ports';
import { rawDocker } from './raw-docker';
import { testEngine } from './setup';
import { makeCertificates, type TlsCertificates } from './tls';

const MAIN = path.resolve(__dirname, '../../src/main.js');
const LOOPBACK = '127.0.0.1';
const CALLS = 500;
const KILL_AFTER = 100;

const RULES = 'export const rules: ContainerRule[] = [];\n';
// Only host-a's rule set exists: a caller named anything else matches none and is denied, which is
// how the test proves the replica took the host from the certificate.
const POLICIES = [
  '- description: Fleet host a',
  "  hosts: ['+^host-a$']",
  '  default: Allow',
  '  policies:',
  '    - members: [everyone]',
  '      rules:',
  '        any:',
  '          Allow:',
  '',
].join('\n');
const GROUPS = "everyone: ['*']\n";
const BROKEN_POLICIES = "- description: Broken\n  hosts: ['+(']\n  default: Allow\n";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Replica {
  readonly name: string;
  readonly child: ChildProcess;
  readonly tlsPort: number;
  readonly httpPort: number;
  output: string;
  exited?: number | null;
}

interface TlsAnswer {
  readonly status: number;
  readonly body: string;
}

/** One HTTPS call to a replica presenting `user`'s client certificate; a fresh connection each time. */
async function tlsCall(certificates: TlsCertificates, user: string, port: number, method: string, uri: string, body?: string): Promise<TlsAnswer> {
  const pair = certificates.users[user];
  if (!pair) throw new Error(`no certificate for ${user}`);
  const [ca, cert, key] = await Promise.all([readFile(certificates.ca), readFile(pair.cert), readFile(pair.key)]);
  return new Promise((resolve, reject) => {
    const req = https.request({ host: LOOPBACK, port, method, path: uri, ca, cert, key, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${uri}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A command on HAProxy's admin socket (`show stat`, ...). */
function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let text = '';
    conn.on('data', (chunk: Buffer) => (text += chunk.toString()));
    conn.on('end', () => resolve(text));
    conn.on('error', reject);
    conn.end(`${command}\n`);
  });
}

/** The state (UP, DOWN, ...) of each server of the `authz` proxy. */
async function serverStates(socket: string): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const line of (await haproxyCommand(socket, 'show stat')).split('\n')) {
    const fields = line.split(',');
    if (fields[0] === 'authz' && fields[1] !== 'FRONTEND' && fields[1] !== 'BACKEND' && fields[1]) states[fields[1]] = fields[17] ?? '';
  }
  return states;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

describe('fleet: two AuthZ replicas behind HAProxy (TLS passthrough)', function () {
  this.timeout(180_000);
  let dir = '';
  let certificates: TlsCertificates;
  const replicas: Replica[] = [];
  let haproxy: ChildProcess | undefined;
  let haproxyLog = '';
  let haproxyPort = 0;
  let statsSocket = '';
  const pluginName = `de-fleet-${process.pid}`;
  const spec = `/etc/docker/plugins/${pluginName}.json`;
  let registered = false;

  function baseEnv(files: { policies: string }): Record<string, string> {
    return {
      PATH: process.env['PATH'] ?? '',
      DOCKER_SOCKET: 'none',
      MODE: 'KILL',
      RUN_PERIODIC: 'False',
      RELOAD_ON_CHANGE: 'False',
      LOG_LEVEL: 'info',
      HTTP_HOST: LOOPBACK,
      RULES_PATH: path.join(dir, 'rules.ts'),
      WHITELIST_RULES_PATH: path.join(dir, 'whitelist_rules.ts'),
      REQUEST_RULES_PATH: path.join(dir, 'request_rules.ts'),
      TRIGGERS_PATH: path.join(dir, 'triggers.ts'),
      POLICIES_PATH: files.policies,
      GROUPS_PATH: path.join(dir, 'groups.yml'),
      PACKS_PATH: path.join(dir, 'packs.yml'),
      AUTHZ_TLS_CERT: certificates.server.cert,
      AUTHZ_TLS_KEY: certificates.server.key,
      AUTHZ_TLS_CA: certificates.ca,
    };
  }

  function spawnReplica(name: string, env: Record<string, string>, tlsPort: number, httpPort: number): Replica {
    const child = spawn(process.execPath, [MAIN], {
      cwd: dir,
      env: { ...env, AUTHZ_TLS_PORT: String(tlsPort), HTTP_PORT: String(httpPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const replica: Replica = { name, child, tlsPort, httpPort, output: '' };
    child.stdout?.on('data', (chunk: Buffer) => (replica.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (replica.output += chunk.toString()));
    child.on('exit', (code) => (replica.exited = code));
    return replica;
  }

  async function waitHealthy(replica: Replica): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (replica.exited !== undefined) throw new Error(`replica ${replica.name} exited with ${replica.exited}:\n${replica.output}`);
      const answer = await tlsCall(certificates, 'haproxy', replica.tlsPort, 'GET', '/health').catch(() => undefined);
      if (answer?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`replica ${replica.name} never became healthy:\n${replica.output}`);
      await sleep(100);
    }
  }

  /** The AuthZ decisions a replica counted (its /metrics on HTTP_PORT). */
  async function decisions(replica: Replica): Promise<number> {
    const text = await (await fetch(`http://${LOOPBACK}:${replica.httpPort}/metrics`)).text();
    let total = 0;
    for (const match of text.matchAll(/^docker_enforcer_authz_requests_total(?:\{[^}]*\})? (\S+)$/gm)) total += Number(match[1]);
    return total;
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-fleet-'));
    certificates = await makeCertificates(path.join(dir, 'tls'), ['host-a', 'host-b', 'haproxy']);
    await writeFile(path.join(dir, 'rules.ts'), RULE_IMPORT + RULES);
    await writeFile(path.join(dir, 'policies.yml'), POLICIES);
    await writeFile(path.join(dir, 'broken-policies.yml'), BROKEN_POLICIES);
    await writeFile(path.join(dir, 'groups.yml'), GROUPS);
    // HAProxy wants the health check's client certificate and key in one file.
    const checkPair = certificates.users['haproxy']!;
    const checkPem = path.join(dir, 'tls', 'haproxy-check.pem');
    await writeFile(checkPem, (await readFile(checkPair.cert, 'utf8')) + (await readFile(checkPair.key, 'utf8')), { mode: 0o600 });

    const env = baseEnv({ policies: path.join(dir, 'policies.yml') });
    for (const name of ['r1', 'r2']) {
      replicas.push(spawnReplica(name, env, await freePort(LOOPBACK), await freePort(LOOPBACK)));
    }
    await Promise.all(replicas.map(waitHealthy));

    haproxyPort = await freePort(LOOPBACK);
    statsSocket = path.join(dir, 'haproxy.sock');
    const server = (r: Replica): string =>
      `  server ${r.name} ${LOOPBACK}:${r.tlsPort} check check-ssl verify required ca-file ${certificates.ca} crt ${checkPem} inter 500ms fall 1 rise 2`;
    const config = [
      'global',
      `  stats socket ${statsSocket} mode 600 level admin`,
      'defaults',
      '  mode tcp',
      '  timeout connect 1s',
      '  timeout client 60s',
      '  timeout server 60s',
      '  timeout check 1s',
      'listen authz',
      `  bind ${LOOPBACK}:${haproxyPort}`,
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  retries 3',
      '  option redispatch 1',
      ...replicas.map(server),
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'haproxy.cfg'), config);
    haproxy = spawn('haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    haproxy.stderr?.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    await testEngine().waitFor(
      async () => Object.values(await serverStates(statsSocket)).filter((s) => s === 'UP').length === 2,
      15_000,
      `HAProxy to see both replicas UP (log: ${haproxyLog})`,
    );

    await mkdir('/etc/docker/plugins', { recursive: true });
    const host = certificates.users['host-a']!;
    await writeFile(
      spec,
      JSON.stringify({
        Name: pluginName,
        Addr: `https://${LOOPBACK}:${haproxyPort}`,
        TLSConfig: { CAFile: certificates.ca, CertFile: host.cert, KeyFile: host.key, InsecureSkipVerify: false },
      }),
    );
    await testEngine().writeDaemonConfig({ 'authorization-plugins': [pluginName] });
    registered = true;
    await testEngine().waitFor(
      async () => (await rawDocker('GET', '/_ping', undefined, { socketPath: testEngine().socketPath })).status === 200,
      20_000,
      'dockerd to answer through the plugin',
    );
  });

  after(async () => {
    if (registered) await testEngine().writeDaemonConfig({});
    await rm(spec, { force: true });
    if (haproxy?.pid && haproxy.exitCode === null) process.kill(haproxy.pid, 'SIGKILL');
    for (const replica of replicas) {
      if (replica.child.pid && replica.exited === undefined) process.kill(replica.child.pid, 'SIGKILL');
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers /health with 200 over TLS to a client with a certificate from the CA', async () => {
    const answer = await tlsCall(certificates, 'host-a', replicas[0]!.tlsPort, 'GET', '/health');
    expect(answer.status, answer.body).to.equal(200);
  });

  it('exports the server certificate expiry for the fleet alert', async () => {
    const text = await (await fetch(`http://${LOOPBACK}:${replicas[0]!.httpPort}/metrics`)).text();
    const match = /^docker_enforcer_tls_certificate_expiry_seconds\{listener="authz"\} (\S+)$/m.exec(text);
    expect(match, 'docker_enforcer_tls_certificate_expiry_seconds{listener="authz"}').to.not.equal(null);
    // makeCertificates issues for two days.
    const left = Number(match![1]) - Date.now() / 1000;
    expect(left).to.be.within(86_400, 2 * 86_400 + 60);
  });

  it('names the calling host after its certificate CN: host-b matches no rule set and is denied', async () => {
    const envelope = JSON.stringify({ RequestMethod: 'GET', RequestUri: '/v1.41/containers/json', RequestHeaders: {} });
    const asA = await tlsCall(certificates, 'host-a', replicas[0]!.tlsPort, 'POST', '/AuthZPlugin.AuthZReq', envelope);
    const asB = await tlsCall(certificates, 'host-b', replicas[0]!.tlsPort, 'POST', '/AuthZPlugin.AuthZReq', envelope);
    expect((JSON.parse(asA.body) as { Allow: boolean }).Allow, asA.body).to.equal(true);
    expect((JSON.parse(asB.body) as { Allow: boolean }).Allow, asB.body).to.equal(false);
  });

  it('refuses to start on a broken policy file, so it never answers with the wrong policy', async () => {
    const env = baseEnv({ policies: path.join(dir, 'broken-policies.yml') });
    const broken = spawnReplica('broken', env, await freePort(LOOPBACK), await freePort(LOOPBACK));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        if (broken.child.pid) process.kill(broken.child.pid, 'SIGKILL');
        resolve(null);
      }, 20_000);
      broken.child.on('exit', (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
    expect(code, broken.output).to.be.a('number').and.not.equal(0);
    expect(broken.output).to.include('broken-policies.yml');
    const answer = await tlsCall(certificates, 'host-a', broken.tlsPort, 'GET', '/health').catch((err: Error) => err);
    expect(answer).to.be.instanceOf(Error);
  });

  it(`keeps every one of ${CALLS} Docker calls working while a replica is killed after ${KILL_AFTER}`, async () => {
    const socketPath = testEngine().socketPath;
    const durations: number[] = [];
    let victim: Replica | undefined;
    let killedAt = -1;
    for (let i = 0; i < CALLS; i++) {
      if (i === KILL_AFTER) {
        // Kill the replica that has been answering (dockerd keeps one connection open, so HAProxy
        // pins it to one replica): that is the failover that matters.
        const counts = await Promise.all(replicas.map(decisions));
        victim = counts[0]! >= counts[1]! ? replicas[0]! : replicas[1]!;
        killedAt = i;
        // Mid-call rather than between calls: the in-flight plugin request is cut too.
        setTimeout(() => {
          if (victim?.child.pid) process.kill(victim.child.pid, 'SIGKILL');
        }, 1);
      }
      const started = performance.now();
      const response = await rawDocker('GET', '/containers/json', undefined, { socketPath });
      durations.push(performance.now() - started);
      expect(response.status, `call ${i}: ${response.text.slice(0, 300)}`).to.equal(200);
    }
    const survivor = replicas.find((r) => r !== victim)!;
    const states = await serverStates(statsSocket);
    const normal = median(durations);
    const failover = durations.slice(killedAt, killedAt + 20);
    const worst = Math.max(...failover);
    console.log(
      `      fleet failover: median ${normal.toFixed(2)} ms per call, worst during failover ${worst.toFixed(1)} ms ` +
        `(+${(worst - normal).toFixed(1)} ms), overall max ${Math.max(...durations).toFixed(1)} ms; ` +
        `killed ${victim?.name}, HAProxy now: ${JSON.stringify(states)}`,
    );
    expect(states[victim!.name]).to.match(/^DOWN/);
    expect(states[survivor.name]).to.equal('UP');
    expect(await decisions(survivor)).to.be.greaterThan(0);
  });
});
