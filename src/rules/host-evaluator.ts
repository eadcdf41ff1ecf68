/**
 * The daemon's side of the rule host (rule-host.ts): evaluations go to a child process that runs the
 * rule workers, so a rule can cost at most that process. Measured on Node 20 here: an allocation that
 * outruns a worker's heap limit can abort the whole process ("Reached heap limit"), isolated-vm
 * aborts it on a growing Map, and a worker stuck in a long native call ignores terminate(). A child
 * process can always be killed, and the kernel takes its memory back.
 *
 * The host is watched: no heartbeat for HOST_STALL_MS, or a resident size above HOST_RSS_CEILING
 * while evaluations are in flight, and it is killed (SIGKILL); the evaluations in flight fail (their
 * callers treat that as a fault: denied in KILL mode) and a fresh host is started with the same rule
 * files. The host starts with an empty environment and asks the kernel's OOM killer to pick it
 * first. Per batch the extra hop costs one IPC round trip.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Evaluator } from '../engine/judge';
import type { WorkerEvaluatorOptions } from './evaluator';
import type { FromRuleHost, ToRuleHost } from './host-protocol';
import { RuleLoadError, RuleSetLoadError } from './rule-load-error';
import { serializeJob, type EvaluationJob, type JobResult } from './sandbox';
import type { LoadedFileEntries } from './worker-protocol';

/** No heartbeat for this long while evaluations wait: the host is wedged. */
const HOST_STALL_MS = 3000;
/** Resident size at which the host is killed outright (the workers' own cut-off is at 1 GiB). */
export const HOST_RSS_CEILING_BYTES = 2 * 1024 * 1024 * 1024;
const WATCH_INTERVAL_MS = 250;
const START_TIMEOUT_MS = 30_000;

interface InFlight {
  readonly resolve: (results: JobResult[]) => void;
  readonly reject: (err: unknown) => void;
}

interface Host {
  readonly child: ChildProcess;
  lastSeen: number;
  /** Whether it loaded the rules (a host that dies before is not restarted in a loop). */
  started: boolean;
  readonly ready: Promise<readonly LoadedFileEntries[]>;
}

function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export class RuleHostEvaluator implements Evaluator {
  private host: Host | undefined;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private watch: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: WorkerEvaluatorOptions) {}

  /** Starts the host and loads the files; throws RuleSetLoadError naming every file that failed. */
  static async start(options: WorkerEvaluatorOptions): Promise<{ evaluator: RuleHostEvaluator; files: readonly LoadedFileEntries[] }> {
    const evaluator = new RuleHostEvaluator(options);
    const host = evaluator.spawn();
    evaluator.host = host;
    try {
      return { evaluator, files: await host.ready };
    } catch (err: unknown) {
      evaluator.close();
      throw err;
    }
  }

  async evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]> {
    if (jobs.length === 0) return [];
    this.host ??= this.spawn();
    const host = this.host;
    await host.ready;
    if (this.host !== host || host.child.exitCode !== null || host.child.signalCode !== null) throw new Error('the rule host stopped before the evaluation could be sent');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      this.startWatching();
      this.send(host, { type: 'evaluate', id, jobs: jobs.map(serializeJob) });
    });
  }

  /** The host's process id (tests, diagnostics). */
  get hostPid(): number | undefined {
    return this.host?.child.pid;
  }

  /** Ends the host once nothing is in flight (a later evaluate() starts a fresh one). */
  close(): void {
    this.closed = true;
    if (this.inFlight.size === 0) this.stopHost();
  }

  private send(host: Host, message: ToRuleHost): void {
    try {
      host.child.send(message);
    } catch (err: unknown) {
      this.kill(host, `cannot reach the rule host: ${(err as Error).message}`);
    }
  }

  private startWatching(): void {
    if (this.watch) return;
    this.watch = setInterval(() => this.check(), WATCH_INTERVAL_MS);
  }

  /** While evaluations wait: a silent or oversized host is killed. */
  private check(): void {
    const host = this.host;
    if (this.inFlight.size === 0 || !host) {
      clearInterval(this.watch);
      this.watch = undefined;
      return;
    }
    if (Date.now() - host.lastSeen > HOST_STALL_MS) return this.kill(host, `no sign of life for ${HOST_STALL_MS} ms`);
    const rss = residentBytes(host.child.pid);
    const ceiling = this.options.hostRssCeilingBytes ?? HOST_RSS_CEILING_BYTES;
    if (rss > ceiling) this.kill(host, `resident size ${Math.round(rss / 1048576)} MiB above ${Math.round(ceiling / 1048576)} MiB`);
  }

  private kill(host: Host, why: string): void {
    this.options.onRestart?.('stalled', `rule host killed: ${why}`);
    host.child.kill('SIGKILL');
    this.onExit(host, why);
  }

  /** The host is gone: what was in flight fails, and the next evaluation starts a fresh host. */
  private onExit(host: Host, why: string): void {
    if (this.host !== host) return;
    this.host = undefined;
    const failed = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const item of failed) item.reject(new Error(`the rule host stopped: ${why}`));
    if (!this.closed && host.started) this.host = this.spawn();
  }

  private stopHost(): void {
    clearInterval(this.watch);
    this.watch = undefined;
    const host = this.host;
    this.host = undefined;
    if (!host) return;
    if (host.child.connected) this.send(host, { type: 'close' });
    // It exits when its IPC channel closes; make sure.
    setTimeout(() => host.child.kill('SIGKILL'), 1000).unref();
  }

  private spawn(): Host {
    const child = fork(path.join(__dirname, 'rule-host.js'), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Nothing of the daemon's environment (TRIGGERS_ENV secrets, proxies) reaches rule code.
      env: {},
      execArgv: [],
    });
    try {
      // The kernel's OOM killer should take the host, never the daemon.
      writeFileSync(`/proc/${child.pid}/oom_score_adj`, '1000');
    } catch {
      // not Linux, or /proc not writable: the host's own limits still apply
    }
    let host: Host;
    const ready = new Promise<readonly LoadedFileEntries[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the rule host did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.on('message', (message: FromRuleHost) => {
        host.lastSeen = Date.now();
        switch (message.type) {
          case 'ready':
            clearTimeout(timer);
            host.started = true;
            resolve(message.files);
            return;
          case 'load-error':
            clearTimeout(timer);
            child.kill('SIGKILL');
            reject(new RuleSetLoadError(message.errors.map((e) => new RuleLoadError(e.location, e.detail))));
            return;
          case 'result':
          case 'failed': {
            const item = this.inFlight.get(message.id);
            if (!item || this.host !== host) return;
            this.inFlight.delete(message.id);
            if (message.type === 'result') item.resolve([...message.results]);
            else item.reject(new Error(message.message));
            if (this.inFlight.size === 0 && this.closed) this.stopHost();
            return;
          }
          case 'restart':
            this.options.onRestart?.(message.reason, message.detail);
            return;
          case 'console':
            this.options.onConsole?.(message.level, [...message.args]);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the rule host exited (${signal ?? `code ${code}`}) while loading the rules`));
        this.onExit(host, signal ? `killed by ${signal}` : `exit code ${code}`);
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    // A failed start is reported through `ready`; nobody else needs to see the rejection.
    ready.catch(() => undefined);
    host = { child, lastSeen: Date.now(), started: false, ready };
    this.send(host, {
      type: 'start',
      files: this.options.files,
      allowedModules: this.options.allowedModules,
      timeoutMs: this.options.timeoutMs,
      forwardConsole: this.options.onConsole !== undefined,
      ...(this.options.rssLimitBytes !== undefined ? { rssLimitBytes: this.options.rssLimitBytes } : {}),
    });
    // An idle host does not keep the daemon alive.
    child.unref();
    child.channel?.unref();
    return host;
  }
}
