/**
 * A central AuthZ server for a fleet: the enforcer runs with DOCKER_SOCKET=none and AUTHZ_TLS_*,
 * and two throwaway dockerds ("host-a", "host-b") call it over mutual TLS through a `.json` plugin
 * spec, each presenting its own client certificate. The leash rule set is chosen by the CN of that
 * certificate: host-a may create containers, host-b may not. A certificate from another CA and a
 * plain-HTTP caller never get an HTTP answer.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { detections, startEnforcer, type RunningEnforcer } from './enforcer';
import { startTestEngine, TEST_IMAGE, type TestEngine } from './engine';
import { freePort } from './ports';
import { rawDocker } from './raw-docker';
import { makeCertificates, runCommand, type TlsCertificates } from './tls';

const POLICIES = `---
- description: fleet host-a
  hosts:
    - +^host-a$
  default: Deny
  policies:
    - members: ["*", Anonymous]
      rules:
        any:
          Allow:
- description: fleet host-b
  hosts:
    - +^host-b$
  default: Deny
  policies:
    - members: ["*", Anonymous]
      rules:
        any:
          ReadOnly:
`;

const HOSTS = ['host-a', 'host-b'] as const;
type Host = (typeof HOSTS)[number];

interface Outcome {
  readonly status?: number;
  readonly error?: string;
}

/** One request on its own connection; `error` when the connection failed before any HTTP answer. */
function call(request: typeof http.request | typeof https.request, options: https.RequestOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ ...options, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(options.method === 'POST' ? '{}' : undefined);
  });
}

describe('fleet: one enforcer (DOCKER_SOCKET=none) judging two dockerds over mutual TLS', function () {
  this.timeout(240_000);
  let dir: string;
  let certs: TlsCertificates;
  let otherCa: TlsCertificates;
  let tlsPort: number;
  let enforcer: RunningEnforcer;
  const engines = new Map<Host, TestEngine>();
  const specs: string[] = [];
  const pluginName = (host: Host): string => `de-fleet-${process.pid}-${host}`;

  /** The docker CLI on one host's unix socket (anonymous: the host is what the policy tells apart). */
  const cli = (host: Host, args: readonly string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(dir, 'cli-config') };
    for (const name of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) delete env[name];
    return runCommand('/usr/bin/docker', ['-H', `unix://${engines.get(host)!.socketPath}`, ...args], { env, timeoutMs: 60_000 });
  };

  const tlsOptions = async (pair: { cert: string; key: string }, ca = certs.ca): Promise<https.RequestOptions> => ({
    host: '127.0.0.1',
    port: tlsPort,
    ca: await readFile(ca),
    cert: await readFile(pair.cert),
    key: await readFile(pair.key),
  });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-fleet-'));
    certs = await makeCertificates(path.join(dir, 'ca'), [...HOSTS]);
    // Another CA issuing a certificate with an allowed host's name: the name alone must not be enough.
    otherCa = await makeCertificates(path.join(dir, 'other-ca'), ['host-a']);
    tlsPort = await freePort('127.0.0.1');
    enforcer = await startEnforcer(
      // startEnforcer points DOCKER_SOCKET at the suite's engine: the server profile has none.
      { socketPath: '/nonexistent' } as TestEngine,
      {
        DOCKER_SOCKET: 'none',
        MODE: 'KILL',
        HOST_NAME: 'central',
        RELOAD_ON_CHANGE: 'False',
        AUTHZ_TLS_CERT: certs.server.cert,
        AUTHZ_TLS_KEY: certs.server.key,
        AUTHZ_TLS_CA: certs.ca,
        AUTHZ_TLS_PORT: String(tlsPort),
      },
      { rules: 'export const rules: ContainerRule[] = [];', policies: POLICIES },
    );
    await mkdir('/etc/docker/plugins', { recursive: true });
    for (const host of HOSTS) {
      const engine = await startTestEngine();
      engines.set(host, engine);
      const pair = certs.users[host]!;
      const spec = `/etc/docker/plugins/${pluginName(host)}.json`;
      specs.push(spec);
      await writeFile(spec, JSON.stringify({ Name: pluginName(host), Addr: `https://127.0.0.1:${tlsPort}`, TLSConfig: { CAFile: certs.ca, CertFile: pair.cert, KeyFile: pair.key, InsecureSkipVerify: false } }));
      await engine.writeDaemonConfig({ 'authorization-plugins': [pluginName(host)] });
      await engine.waitFor(async () => (await rawDocker('GET', '/_ping', undefined, { socketPath: engine.socketPath })).status === 200, 30_000, `${host}'s dockerd to answer through the plugin`);
    }
  });

  after(async () => {
    for (const engine of engines.values()) await engine.stop().catch(() => undefined);
    await enforcer?.stop();
    for (const spec of specs) await rm(spec, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('lets host-a create and run a container', async () => {
    const result = await cli('host-a', ['run', '--rm', '--network', 'none', '--name', 'fleet-a', TEST_IMAGE, 'true']);
    expect(result.code, result.stderr).to.equal(0);
  });

  it("denies host-b's create, naming its rule set; nothing is created there", async () => {
    const result = await cli('host-b', ['create', '--network', 'none', '--name', 'fleet-b', TEST_IMAGE, 'true']);
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.include('fleet host-b');
    expect(result.stderr).to.include('authorization denied by plugin');
    expect((await engines.get('host-b')!.docker.listContainers({ all: true })).map((c) => c.Names[0])).to.deep.equal([]);
    // Reading is still allowed there.
    expect((await cli('host-b', ['ps'])).code).to.equal(0);
  });

  it('records the denial with the host it came from', async () => {
    const found = (await detections(enforcer, '?show_all_violated_rules=1')) as Array<{ name: string; host?: string }>;
    expect(found.some((d) => d.name === 'fleet-b' && d.host === 'host-b'), JSON.stringify(found)).to.equal(true);
  });

  it('counts AuthZ requests by calling host on /metrics', async () => {
    const text = await (await fetch(`${enforcer.url}/metrics`)).text();
    const lines = text.split('\n').filter((line) => line.startsWith('docker_enforcer_authz_requests_total{'));
    expect(lines.some((line) => line.includes('host="host-a"')), lines.join('\n')).to.equal(true);
    expect(lines.some((line) => line.includes('host="host-b"') && line.includes('decision="deny"')), lines.join('\n')).to.equal(true);
  });

  it('serves /health on the TLS port to a client with a certificate, without Docker', async () => {
    const options = await tlsOptions(certs.users['host-a']!);
    const health = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      https
        .get({ ...options, path: '/health', agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        })
        .on('error', reject);
    });
    expect(health.status).to.equal(200);
    expect(health.body['status']).to.equal('ok');
    expect((await call(https.request, { ...options, method: 'GET', path: '/rules' })).status).to.equal(404);
  });

  it('refuses a certificate from another CA at the TLS layer (no HTTP answer)', async () => {
    const outcome = await call(https.request, { ...(await tlsOptions(otherCa.users['host-a']!)), method: 'POST', path: '/AuthZPlugin.AuthZReq' });
    expect(outcome.status).to.equal(undefined);
    expect(outcome.error).to.be.a('string');
  });

  it('refuses a caller without a client certificate at the TLS layer', async () => {
    const options = await tlsOptions(certs.users['host-a']!);
    const outcome = await call(https.request, { host: options.host, port: options.port, ca: options.ca, method: 'POST', path: '/AuthZPlugin.AuthZReq' });
    expect(outcome.status).to.equal(undefined);
    expect(outcome.error).to.be.a('string');
  });

  it('refuses (403) a certificate from the CA that names no host (no subject CN)', async () => {
    const base = path.join(certs.dir, 'nocn');
    await runCommand('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/O=no host', '-keyout', `${base}-key.pem`, '-out', `${base}.csr`]);
    await writeFile(`${base}.ext`, 'extendedKeyUsage = clientAuth\n');
    const signed = await runCommand('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', certs.ca, '-CAkey', path.join(certs.dir, 'ca-key.pem'), '-set_serial', '0x1234', '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
    expect(signed.code, signed.stderr).to.equal(0);
    const outcome = await call(https.request, { ...(await tlsOptions({ cert: `${base}.pem`, key: `${base}-key.pem` })), method: 'POST', path: '/AuthZPlugin.AuthZReq' });
    expect(outcome.status).to.equal(403);
  });

  it('refuses plain HTTP on the TLS port', async () => {
    const outcome = await call(http.request, { host: '127.0.0.1', port: tlsPort, method: 'POST', path: '/AuthZPlugin.AuthZReq' });
    expect(outcome.status).to.equal(undefined);
    expect(outcome.error).to.be.a('string');
  });
});
