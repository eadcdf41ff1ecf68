/**
 * A throwaway image registry for image-trust tests: Debian's `docker-registry` (distribution 2.8)
 * on a loopback address, with its own storage folder and config file. dockerd pushes to and pulls
 * from any 127.0.0.0/8 registry over plain HTTP without an insecure-registries setting, so no TLS
 * is needed. Ends only the registry process it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { tail } from './engine';
import { freePort } from './ports';

export const REGISTRY_BINARY = 'docker-registry';

export interface TestRegistry {
  /** The loopback address it listens on, e.g. '127.0.0.2'. */
  readonly address: string;
  readonly port: number;
  /** 'ADDR:PORT': the registry part of an image name. */
  readonly host: string;
  /** 'http://ADDR:PORT': the base of the registry's HTTP API. */
  readonly url: string;
  /** The temp folder: config, log and storage root. */
  readonly root: string;
  readonly logFile: string;
  /** Ends the process but keeps the storage and the port, for "registry unreachable" tests. */
  kill(): Promise<void>;
  /** Starts it again after kill(), on the same port and storage; waits until it answers. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections are accepted by the kernel and never answered. */
  pause(): void;
  /** Lets a paused registry run again (SIGCONT). */
  resume(): void;
  /** Ends the process and removes the temp folder. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * JSON is valid YAML, so the config needs no YAML writer. Upload purging is off: it is a
 * background sweep over the storage that a short-lived registry has no use for. The secret is
 * fixed per registry so a restart keeps accepting upload state it handed out before.
 */
function registryConfig(address: string, port: number, storage: string, secret: string): string {
  return `${JSON.stringify(
    {
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storage },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: `${address}:${port}`, secret },
    },
    null,
    2,
  )}\n`;
}

class LoopbackRegistry implements TestRegistry {
  readonly host: string;
  readonly url: string;
  readonly logFile: string;
  private readonly configFile: string;
  private child: ChildProcess | undefined;
  private removed = false;
  private readonly killOnExit = (): void => {
    if (this.child?.pid && this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid, 'SIGKILL');
  };

  constructor(
    readonly address: string,
    readonly port: number,
    readonly root: string,
  ) {
    this.host = `${address}:${port}`;
    this.url = `http://${this.host}`;
    this.logFile = path.join(root, 'registry.log');
    this.configFile = path.join(root, 'config.yml');
  }

  pause(): void {
    if (this.child?.pid) process.kill(this.child.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.child?.pid) process.kill(this.child.pid, 'SIGCONT');
  }

  async writeConfig(): Promise<void> {
    await writeFile(this.configFile, registryConfig(this.address, this.port, path.join(this.root, 'storage'), randomBytes(16).toString('hex')));
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error(`registry ${this.host} was stopped for good`);
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    const log = openSync(this.logFile, 'a');
    const child = spawn(REGISTRY_BINARY, ['serve', this.configFile], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    process.once('exit', this.killOnExit);
    const spawnError = new Promise<never>((_resolve, reject) =>
      child.once('error', (err) => {
        process.off('exit', this.killOnExit);
        reject(new Error(`cannot run ${REGISTRY_BINARY} (apt-get install -y docker-registry): ${err.message}`));
      }),
    );
    spawnError.catch(() => undefined);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        process.off('exit', this.killOnExit);
        throw new Error(`docker-registry on ${this.host} exited (${child.exitCode ?? child.signalCode}):\n${await tail(this.logFile)}`);
      }
      const status = await Promise.race([
        fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(1_000) }).then((res) => res.status, () => 0),
        spawnError,
      ]);
      if (status === 200) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`docker-registry on ${this.host} did not answer GET /v2/ within ${READY_TIMEOUT_MS} ms:\n${await tail(this.logFile)}`);
      }
      await sleep(50);
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // A paused registry would hold SIGTERM until it runs again.
    this.resume();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    process.off('exit', this.killOnExit);
  }

  async stop(): Promise<void> {
    await this.kill();
    this.removed = true;
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * A registry on `address` (any 127.x.y.z; tests use 127.0.0.1 and 127.0.0.2 to have two distinct
 * registry hosts) and a port the kernel reported free, so parallel test processes do not collide.
 */
export async function startRegistry(address: string): Promise<TestRegistry> {
  if (!net.isIPv4(address) || !address.startsWith('127.')) throw new Error(`${address} is not an IPv4 loopback address`);
  for (let attempt = 1; ; attempt++) {
    const root = await mkdtemp(path.join(os.tmpdir(), 'de-registry-'));
    const registry = new LoopbackRegistry(address, await freePort(address), root);
    try {
      await registry.writeConfig();
      await registry.start();
      return registry;
    } catch (err: unknown) {
      await registry.stop().catch(() => undefined);
      // Another process took the port between freePort() and the registry's bind.
      if (attempt < START_ATTEMPTS && (err as Error).message.includes('address already in use')) continue;
      throw err;
    }
  }
}
