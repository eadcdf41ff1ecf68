/**
 * TLS users for integration tests: a CA, a server certificate and one client certificate per user
 * (made with openssl), and a throwaway dockerd that also listens with --tlsverify on a loopback TCP
 * port. dockerd names a TLS caller after the CN of its client certificate, so a call made with
 * alice's certificate reaches an AuthZ plugin as `User: "alice", UserAuthNMethod: "TLS"`; a call on
 * the unix socket stays anonymous.
 *
 * The engine is separate from the suite's shared one (its own data root, socket and port): adding
 * TLS to the shared engine would mean restarting it under every other test file.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';
import Docker from 'dockerode';
import { startTestEngine, type RunOptions, type TestEngine } from './engine';
import { rawRequest, type RawOptions, type RawResponse } from './raw-docker';

export interface CertificatePair {
  /** PEM certificate file. */
  readonly cert: string;
  /** PEM private key file (EC P-256, unencrypted). */
  readonly key: string;
}

export interface TlsCertificates {
  /** The folder holding every file below. */
  readonly dir: string;
  /** The CA certificate: dockerd trusts client certificates it signed, clients trust the server through it. */
  readonly ca: string;
  readonly server: CertificatePair;
  readonly users: Readonly<Record<string, CertificatePair>>;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TlsTestEngine extends TestEngine {
  /** The loopback TCP port where dockerd requires a client certificate (127.0.0.1). */
  readonly tlsPort: number;
  readonly certificates: TlsCertificates;
  /** A dockerode client over TLS presenting `user`'s certificate. */
  dockerAs(user: string): Docker;
  /** /usr/bin/docker over TLS as `user`; never rejects on a non-zero exit. `env` is added to a cleaned environment. */
  cliAs(user: string, args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  /** A raw HTTPS call as `user`; the body is sent as rawDocker sends it (a string or Buffer byte for byte). */
  rawAs(user: string, method: string, uri: string, body?: unknown, options?: Pick<RawOptions, 'chunked' | 'headers'>): Promise<RawResponse>;
}

const DOCKER_CLI = '/usr/bin/docker';
const LOOPBACK = '127.0.0.1';
// Becomes a CN and part of file names: nothing that needs escaping in either.
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CLI_TIMEOUT_MS = 60_000;

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  const result = await run('openssl', args, { cwd: dir });
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
}

/**
 * The openssl config of one certificate. Written out instead of -subj/-addext so the result does
 * not depend on the system's openssl.cnf (whose default extensions -addext would collide with).
 */
function opensslConfig(commonName: string, extensions: readonly string[]): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    `CN = ${commonName}`,
    '[ext]',
    ...extensions,
    '',
  ].join('\n');
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A certificate for `commonName` signed by the CA in `dir` (files `<base>.pem`, `<base>-key.pem`). */
async function issue(dir: string, base: string, commonName: string, extensions: readonly string[]): Promise<CertificatePair> {
  const config = `${base}.cnf`;
  const pair = { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}-key.pem`) };
  await writeFile(path.join(dir, config), opensslConfig(commonName, ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'authorityKeyIdentifier = keyid', ...extensions]));
  await openssl(dir, ['req', '-new', '-config', config, ...EC_KEY, '-keyout', pair.key, '-out', `${base}.csr`]);
  // A random serial: no serial file to share between the parallel signings.
  await openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', '2', '-sha256', '-extfile', config, '-extensions', 'ext', '-out', pair.cert]);
  await rm(path.join(dir, `${base}.csr`), { force: true });
  return pair;
}

/**
 * Writes into `dir` a CA, a server certificate for localhost (subjectAltName IP:127.0.0.1 and
 * DNS:localhost) and one client certificate per user (CN = the user name, extendedKeyUsage
 * clientAuth), all EC P-256.
 */
export async function makeCertificates(dir: string, users: readonly string[]): Promise<TlsCertificates> {
  for (const user of users) {
    if (!USER_NAME.test(user)) throw new Error(`user name ${JSON.stringify(user)} must match ${USER_NAME.source}`);
  }
  if (new Set(users).size !== users.length) throw new Error(`duplicate user names in ${users.join(', ')}`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'ca.cnf'),
    opensslConfig('docker-enforcer test CA', ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash']),
  );
  await openssl(dir, ['req', '-x509', '-config', 'ca.cnf', '-extensions', 'ext', ...EC_KEY, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-sha256']);
  const [server, ...pairs] = await Promise.all([
    issue(dir, 'server', 'localhost', ['extendedKeyUsage = serverAuth', 'subjectAltName = IP:127.0.0.1, DNS:localhost']),
    ...users.map((user) => issue(dir, `user-${user}`, user, ['extendedKeyUsage = clientAuth'])),
  ]);
  const userPairs: Record<string, CertificatePair> = {};
  users.forEach((user, i) => {
    userPairs[user] = pairs[i] as CertificatePair;
  });
  return { dir, ca: path.join(dir, 'ca.pem'), server: server as CertificatePair, users: userPairs };
}

interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
}

class TlsEngine implements TlsTestEngine {
  readonly socketPath: string;
  readonly docker: Docker;
  readonly image: string;
  readonly root: string;
  readonly logFile: string;
  readonly configFile: string;

  constructor(
    private readonly base: TestEngine,
    readonly tlsPort: number,
    readonly certificates: TlsCertificates,
    private readonly ca: Buffer,
    private readonly pems: ReadonlyMap<string, Pem>,
  ) {
    this.socketPath = base.socketPath;
    this.docker = base.docker;
    this.image = base.image;
    this.root = base.root;
    this.logFile = base.logFile;
    this.configFile = base.configFile;
  }

  private pem(user: string): Pem {
    const pem = this.pems.get(user);
    if (!pem) throw new Error(`no client certificate for ${JSON.stringify(user)} (users: ${[...this.pems.keys()].join(', ')})`);
    return pem;
  }

  private pair(user: string): CertificatePair {
    this.pem(user);
    return this.certificates.users[user] as CertificatePair;
  }

  dockerAs(user: string): Docker {
    const { cert, key } = this.pem(user);
    return new Docker({ host: LOOPBACK, port: this.tlsPort, protocol: 'https', ca: this.ca, cert, key });
  }

  // async: an unknown user rejects like every other failure instead of throwing at the call.
  async cliAs(user: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
    const { cert, key } = this.pair(user);
    const inherited: NodeJS.ProcessEnv = { ...process.env };
    // The flags below must decide where and as whom the CLI connects, and the host's CLI config
    // (contexts, credential helpers) must not take part.
    for (const name of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) delete inherited[name];
    return run(
      DOCKER_CLI,
      ['--tlsverify', '--tlscacert', this.certificates.ca, '--tlscert', cert, '--tlskey', key, '-H', `tcp://${LOOPBACK}:${this.tlsPort}`, ...args],
      { env: { ...inherited, DOCKER_CONFIG: path.join(this.certificates.dir, 'cli-config'), ...env }, timeoutMs: CLI_TIMEOUT_MS },
    );
  }

  async rawAs(user: string, method: string, uri: string, body?: unknown, options: Pick<RawOptions, 'chunked' | 'headers'> = {}): Promise<RawResponse> {
    const { cert, key } = this.pem(user);
    // agent: false, so every raw call is its own connection and no pooled socket outlives the test.
    return rawRequest(https.request, { host: LOOPBACK, port: this.tlsPort, ca: this.ca, cert, key, agent: false }, method, uri, body, options);
  }

  async stop(): Promise<void> {
    await this.base.stop();
    await rm(this.certificates.dir, { recursive: true, force: true });
  }

  restart(): Promise<void> {
    return this.base.restart();
  }

  freeze(ms: number): Promise<void> {
    return this.base.freeze(ms);
  }

  writeDaemonConfig(config: Record<string, unknown>): Promise<void> {
    return this.base.writeDaemonConfig(config);
  }

  runContainer(options: RunOptions): Promise<string> {
    return this.base.runContainer(options);
  }

  isRunning(nameOrId: string): Promise<boolean> {
    return this.base.isRunning(nameOrId);
  }

  waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    return this.base.waitFor(predicate, timeoutMs, what);
  }

  removeAllContainers(): Promise<void> {
    return this.base.removeAllContainers();
  }
}

const START_ATTEMPTS = 3;

/**
 * A throwaway dockerd (as startTestEngine) that also listens on tcp://127.0.0.1:PORT with
 * --tlsverify, trusting only client certificates from its own CA. stop() ends it and removes its
 * folders and the certificates.
 */
export async function startTlsTestEngine(users: readonly string[]): Promise<TlsTestEngine> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-tls-'));
  try {
    const certificates = await makeCertificates(dir, users);
    const ca = await readFile(certificates.ca);
    const pems = new Map<string, Pem>();
    for (const user of users) {
      const pair = certificates.users[user] as CertificatePair;
      pems.set(user, { cert: await readFile(pair.cert), key: await readFile(pair.key) });
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort(LOOPBACK);
      let base: TestEngine;
      try {
        base = await startTestEngine({
          extraArgs: [
            '--host', `tcp://${LOOPBACK}:${port}`,
            '--tlsverify',
            '--tlscacert', certificates.ca,
            '--tlscert', certificates.server.cert,
            '--tlskey', certificates.server.key,
          ],
        });
      } catch (err: unknown) {
        // Another process took the port between freePort(LOOPBACK) and dockerd's bind.
        if (attempt < START_ATTEMPTS && (err as Error).message.includes('address already in use')) continue;
        throw err;
      }
      const engine = new TlsEngine(base, port, certificates, ca, pems);
      const [first] = users;
      if (first !== undefined) {
        try {
          // dockerd opens every listener before it serves the unix socket; this proves TLS works end to end.
          await engine.waitFor(async () => (await engine.rawAs(first, 'GET', '/_ping')).status === 200, 10_000, `dockerd to answer ${first} over TLS`);
        } catch (err: unknown) {
          await base.stop().catch(() => undefined);
          throw err;
        }
      }
      return engine;
    }
  } catch (err: unknown) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs a program with a time bound and collects its output (the docker CLI, openssl). */
export { run as runCommand };
