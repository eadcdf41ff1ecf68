/**
 * A throwaway Docker engine for the integration suite: its own dockerd (socket, data root, exec
 * root, pidfile, config file) and a busybox image imported from the host's /bin/busybox, since no
 * registry is reachable. Never touches the host's default socket; ends only the dockerd it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';

export const TEST_IMAGE = 'enforcer-test:busybox';
const APPLETS = ['sh', 'sleep', 'cat', 'dd', 'head', 'ls', 'echo', 'true', 'false', 'mkdir', 'rm', 'wc', 'yes', 'env', 'id', 'ps', 'top', 'tail', 'grep'];

export interface RunOptions {
  name: string;
  cmd?: string[];
  memory?: number;
  labels?: Record<string, string>;
  shmSize?: number;
  cpuShares?: number;
  privileged?: boolean;
  restartPolicy?: string;
}

export interface TestEngine {
  readonly socketPath: string;
  readonly docker: Docker;
  readonly image: string;
  readonly root: string;
  readonly logFile: string;
  readonly configFile: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Freezes dockerd (SIGSTOP) for `ms`, then lets it run again (SIGCONT). */
  freeze(ms: number): Promise<void>;
  writeDaemonConfig(config: Record<string, unknown>): Promise<void>;
  runContainer(options: RunOptions): Promise<string>;
  isRunning(nameOrId: string): Promise<boolean>;
  waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void>;
  removeAllContainers(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** dockerd leaves its network namespace mounted under the exec root; rm cannot remove a mount point. */
async function unmountBelow(root: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${root}/`))
    .sort()
    .reverse();
  for (const point of mounts) {
    await new Promise<void>((resolve) => spawn('umount', [point], { stdio: 'ignore' }).on('exit', () => resolve()).on('error', () => resolve()));
  }
}

/** The last lines of a log file ('' when it cannot be read), for error messages. */
export async function tail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

class ThrowawayEngine implements TestEngine {
  readonly socketPath: string;
  readonly docker: Docker;
  readonly image = TEST_IMAGE;
  readonly logFile: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;
  private stopped = false;
  private readonly killOnExit = (): void => {
    if (this.child?.pid && this.child.exitCode === null) process.kill(this.child.pid, 'SIGKILL');
  };

  constructor(
    readonly root: string,
    private readonly extraArgs: readonly string[] = [],
  ) {
    this.socketPath = path.join(root, 'docker.sock');
    this.logFile = path.join(root, 'dockerd.log');
    this.configFile = path.join(root, 'daemon.json');
    this.docker = new Docker({ socketPath: this.socketPath });
  }

  async start(): Promise<void> {
    const log = openSync(this.logFile, 'a');
    this.child = spawn(
      'dockerd',
      [
        '--data-root', path.join(this.root, 'data'),
        '--exec-root', path.join(this.root, 'e'),
        '--pidfile', path.join(this.root, 'dockerd.pid'),
        '--host', `unix://${this.socketPath}`,
        '--config-file', this.configFile,
        '--bridge=none', '--iptables=false', '--ip-masq=false',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    process.once('exit', this.killOnExit);
    const child = this.child;
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}`);
        await this.docker.ping();
        return true;
      }, 30_000, 'dockerd to answer');
    } catch (err: unknown) {
      throw new Error(`throwaway dockerd did not start: ${(err as Error).message}\n${await tail(this.logFile)}`);
    }
  }

  async importImage(): Promise<void> {
    const images = await this.docker.listImages({ filters: JSON.stringify({ reference: [TEST_IMAGE] }) });
    if (images.length > 0) return;
    const rootfs = path.join(this.root, 'rootfs');
    await mkdir(path.join(rootfs, 'bin'), { recursive: true });
    await mkdir(path.join(rootfs, 'tmp'), { recursive: true });
    await copyFile('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    for (const applet of APPLETS) await symlink('busybox', path.join(rootfs, 'bin', applet));
    const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, tag] = TEST_IMAGE.split(':') as [string, string];
    const stream = await (this.docker.importImage(tar.stdout as never, { repo, tag } as never) as unknown as Promise<NodeJS.ReadableStream>);
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  async stopDaemon(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    process.off('exit', this.killOnExit);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.removeAllContainers().catch(() => undefined);
    await this.stopDaemon();
    await unmountBelow(this.root);
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
  }

  async restart(): Promise<void> {
    await this.stopDaemon();
    await this.start();
  }

  async freeze(ms: number): Promise<void> {
    const pid = this.child?.pid;
    if (!pid) throw new Error('dockerd is not running');
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(ms);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }

  async writeDaemonConfig(config: Record<string, unknown>): Promise<void> {
    await writeFile(this.configFile, JSON.stringify(config, null, 2));
    if (this.child?.pid) process.kill(this.child.pid, 'SIGHUP');
    // dockerd reloads asynchronously; give it a moment.
    await sleep(500);
  }

  async runContainer(options: RunOptions): Promise<string> {
    const container = await this.docker.createContainer({
      name: options.name,
      Image: TEST_IMAGE,
      Cmd: options.cmd ?? ['sleep', '3600'],
      Labels: options.labels ?? {},
      HostConfig: {
        NetworkMode: 'none',
        Memory: options.memory ?? 0,
        ShmSize: options.shmSize,
        CpuShares: options.cpuShares ?? 0,
        Privileged: options.privileged ?? false,
        RestartPolicy: options.restartPolicy ? { Name: options.restartPolicy } : undefined,
      },
    });
    await container.start();
    return container.id;
  }

  async isRunning(nameOrId: string): Promise<boolean> {
    try {
      const info = await this.docker.getContainer(nameOrId).inspect();
      return info.State.Running;
    } catch (err: unknown) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }
  }

  waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    return waitFor(predicate, timeoutMs, what);
  }

  async removeAllContainers(): Promise<void> {
    const all = await this.docker.listContainers({ all: true });
    await Promise.all(all.map((c) => this.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }
}

export interface TestEngineOptions {
  /** More dockerd flags (e.g. another --host with TLS); kept across restart(). */
  readonly extraArgs?: readonly string[];
}

export async function startTestEngine(options: TestEngineOptions = {}): Promise<TestEngine> {
  if (!existsSync('/bin/busybox')) throw new Error('/bin/busybox is missing: apt-get install -y busybox-static');
  const root = await mkdtemp(path.join(os.tmpdir(), 'de-'));
  const engine = new ThrowawayEngine(root, options.extraArgs);
  await writeFile(engine.configFile, '{}');
  try {
    await engine.start();
    await engine.importImage();
  } catch (err: unknown) {
    await engine.stop().catch(() => undefined);
    throw err;
  }
  return engine;
}
