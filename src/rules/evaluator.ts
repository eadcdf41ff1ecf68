/**
 * Rule evaluation in worker threads, bounded from inside and outside. (In the daemon this runs inside
 * the rule host process, host-evaluator.ts, so nothing a rule does can take the daemon down.)
 *
 * Rule code runs in worker threads (rule-worker.ts) inside vm2; data crosses as JSON. Two lanes:
 *  - the fast lane: every check goes here first, in batches (what is asked for while the lane is busy
 *    travels together). Each call gets FAST_BUDGET_MS; a call that uses it all is set aside with the
 *    rest of its job instead of holding the batch — one slow request costs everyone else at most
 *    that, not RULE_TIMEOUT_MS;
 *  - the slow lane: the jobs set aside finish there, each call bounded by RULE_TIMEOUT_MS (a call
 *    starved of CPU on a busy host gets the bound once more: a spurious fail-closed timeout could
 *    stop a compliant container); past it, a RuleTimeoutError (fail-closed).
 * Both bounds are V8's own watchdog, set in the worker per run (sandbox.ts, evaluateBounded): a
 * spinning rule — an endless loop, a regular expression backtracking — costs its request the bound
 * and the worker nothing.
 *
 * The backstop, from here: each worker writes which call is running to shared memory, sampled every
 * RULE_TIMEOUT_MS/8 (100 ms at most). A call still running well past twice its bound is stuck where V8 cannot
 * interrupt it (a long native operation), and a call running while the process grows past
 * RSS_LIMIT_BYTES allocates outside the V8 heap limit (ArrayBuffers are not counted in it): the
 * worker is terminated, the call marked (RuleTimeoutError, RuleMemoryError), and the batch runs again
 * in the warm spare worker (rules already loaded). A worker that dies inside a call gets the same
 * (RuleWorkerCrash). A worker that stops making progress between calls (a rule's leftover microtask
 * spinning) is replaced and its batch fails (a fault).
 *
 * Why not node's `runInContext({ timeout })` on the deciding thread: a watchdog thread per call
 * (~75 µs), and rule work competing with HTTP and Docker I/O for the one event loop. Why not
 * isolated-vm or QuickJS in-thread: measured here, isolated-vm aborts the whole process when a rule
 * grows a Map or an object past its memory limit, and QuickJS checks its interrupt only between
 * bytecodes (`new Array(2**32-1).includes(1)` never returned) and its memory limit counts no bytes.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Evaluator } from '../engine/judge';
import type { RuleSource } from './loader';
import { RuleLoadError, RuleSetLoadError } from './rule-load-error';
import { CALLS_PER_JOB, MAX_JOBS_PER_BATCH, PROGRESS, TIMEOUT_ERROR_CLASS, parseResults, serializeJob, type EvaluationJob, type JobResult, type KnownCall, type MarkedCall } from './sandbox';
import type { FromRuleWorker, LoadedFileEntries, RuleWorkerData } from './worker-protocol';

export const CRASH_ERROR_CLASS = 'RuleWorkerCrash';
export const MEMORY_ERROR_CLASS = 'RuleMemoryError';
/** Heap of each rule worker: a rule that allocates without bound kills its worker, not the process. */
const WORKER_HEAP_MB = 256;
/**
 * Resident memory of the process at which the running call is cut off. A worker's heap limit does
 * not cover ArrayBuffers (`new Uint8Array(2**31).fill(1)` is 2 GiB outside it); this does.
 */
export const RSS_LIMIT_BYTES = 1024 * 1024 * 1024;
/**
 * What one call may take in the fast lane before its job moves to the slow lane. Rules take
 * microseconds (bench:sandbox); this only has to be far above that and far below RULE_TIMEOUT_MS.
 */
export const FAST_BUDGET_MS = 10;
const START_TIMEOUT_MS = 30_000;
/**
 * How often a batch in flight is sampled (at most): a rule can fill gigabytes of ArrayBuffers in a
 * second, so the memory guard cannot wait for RULE_TIMEOUT_MS/8. Batches take microseconds: the
 * timer rarely fires.
 */
const MEMORY_SAMPLE_MS = 100;
/** How far past twice its bound a call may be seen running before its worker is ended. */
const BACKSTOP_SLACK_MS = 250;

type Role = 'fast' | 'slow';

export interface WorkerEvaluatorOptions {
  /** Rule files, transpiled. */
  readonly files: readonly RuleSource[];
  readonly allowedModules: readonly string[];
  /** RULE_TIMEOUT_MS. */
  readonly timeoutMs: number;
  readonly onConsole?: (level: string, args: unknown[]) => void;
  /** Told when a worker is replaced (a call timed out, crashed it or used too much memory). */
  readonly onRestart?: (reason: 'timeout' | 'crash' | 'memory' | 'stalled', detail: string) => void;
  /** RSS at which a running call is cut off (tests lower it). */
  readonly rssLimitBytes?: number;
  /** Resident size at which the rule host process is killed outright (host-evaluator.ts; tests lower it). */
  readonly hostRssCeilingBytes?: number;
}

/** One evaluate() call: its jobs' results arrive from the fast lane, some later from the slow one. */
interface Pending {
  /** Each job as the runner reads it (serializeJob). */
  readonly jobs: readonly string[];
  readonly resolve: (results: JobResult[]) => void;
  readonly reject: (err: unknown) => void;
  readonly results: Array<JobResult | undefined>;
  waiting: number;
  failed?: boolean;
}

/** A job of a Pending, with what is known of it already (outcomes of calls run before it was set aside). */
interface Task {
  readonly pending: Pending;
  readonly index: number;
  readonly known: readonly MarkedCall[];
  readonly knownValues: ReadonlyArray<{ readonly fn: number; readonly v: boolean }>;
  readonly read: readonly string[];
}

interface Batch {
  readonly id: number;
  readonly role: Role;
  readonly tasks: readonly Task[];
  readonly jobs: string;
  /** Calls already decided: by the fast lane before a job was set aside, or by an earlier attempt of this batch (cut off, crashed). */
  readonly marks: KnownCall[];
}

interface RunningWorker {
  readonly worker: Worker;
  readonly slots: Int32Array;
  batch?: Batch;
  sentAt?: number;
  /** The call seen running at the last sample, and since when. */
  watched?: { readonly call: number; since: number };
  /** Whether any call of the current batch was seen running. */
  progressed?: boolean;
  timer?: NodeJS.Timeout;
}

export class WorkerEvaluator implements Evaluator {
  private readonly lanes: Record<Role, RunningWorker | undefined> = { fast: undefined, slow: undefined };
  private readonly queues: Record<Role, Task[]> = { fast: [], slow: [] };
  private spare: RunningWorker | undefined;
  private spawning: Promise<RunningWorker> | undefined;
  private nextBatchId = 1;
  private flushScheduled = false;
  private closed = false;

  private constructor(private readonly options: WorkerEvaluatorOptions) {}

  /** Starts a worker and loads the files; throws RuleSetLoadError naming every file that failed. */
  static async start(options: WorkerEvaluatorOptions): Promise<{ evaluator: WorkerEvaluator; files: readonly LoadedFileEntries[] }> {
    const evaluator = new WorkerEvaluator(options);
    const { running, files } = await evaluator.spawn();
    evaluator.lanes.fast = running;
    evaluator.refillSpare();
    return { evaluator, files };
  }

  evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]> {
    return this.evaluateSerialized(jobs.map(serializeJob));
  }

  /** `evaluate` for jobs already serialized (serializeJob): what crosses from the daemon to the rule host. */
  evaluateSerialized(jobs: readonly string[]): Promise<JobResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const pending: Pending = { jobs, resolve, reject, results: new Array<JobResult | undefined>(jobs.length), waiting: jobs.length };
      jobs.forEach((_job, index) => this.queues.fast.push({ pending, index, known: [], knownValues: [], read: [] }));
      this.scheduleFlush();
    });
  }

  /** Ends the workers once nothing is pending (a later evaluate() starts a fresh one). */
  close(): void {
    this.closed = true;
    if (this.idle()) this.stopAll();
  }

  private idle(): boolean {
    return this.queues.fast.length === 0 && this.queues.slow.length === 0 && !this.lanes.fast?.batch && !this.lanes.slow?.batch;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One turn later: every evaluation asked for in this turn (and its microtasks) joins the batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    for (const role of ['fast', 'slow'] as const) {
      if (this.queues[role].length === 0) continue;
      const lane = this.laneFor(role);
      if (!lane || lane.batch) continue;
      this.dispatch(lane, this.takeBatch(role));
    }
  }

  /** The role's worker; the warm spare takes an empty role (and a new spare is started). */
  private laneFor(role: Role): RunningWorker | undefined {
    const lane = this.lanes[role];
    if (lane) return lane;
    if (this.spare) {
      this.lanes[role] = this.spare;
      this.spare = undefined;
      this.refillSpare();
      return this.lanes[role];
    }
    // The spare flushes the queues once it is up (or fails every waiting evaluation).
    void this.ensureSpare().catch(() => undefined);
    return undefined;
  }

  private takeBatch(role: Role): Batch {
    const queue = this.queues[role];
    const tasks = queue.splice(0, Math.min(queue.length, MAX_JOBS_PER_BATCH));
    const marks: KnownCall[] = [];
    tasks.forEach((task, job) => {
      for (const mark of task.known) marks.push({ ...mark, job });
      for (const value of task.knownValues) marks.push({ job, fn: value.fn, v: value.v });
    });
    const batch: Batch = { id: this.nextBatchId, role, tasks, jobs: `[${tasks.map((task) => task.pending.jobs[task.index]!).join(',')}]`, marks };
    this.nextBatchId = (this.nextBatchId % 0x7fffffff) + 1;
    return batch;
  }

  private dispatch(lane: RunningWorker, batch: Batch): void {
    lane.batch = batch;
    lane.sentAt = Date.now();
    lane.watched = undefined;
    lane.progressed = false;
    const budgetMs = batch.role === 'fast' ? Math.min(FAST_BUDGET_MS, this.options.timeoutMs) : this.options.timeoutMs;
    lane.worker.postMessage({ type: 'evaluate', batch: batch.id, jobs: batch.jobs, marks: JSON.stringify(batch.marks), budgetMs, defer: batch.role === 'fast' });
    this.arm(lane);
  }

  private arm(lane: RunningWorker): void {
    clearTimeout(lane.timer);
    lane.timer = setTimeout(() => this.check(lane), Math.max(1, Math.min(this.options.timeoutMs / 8, MEMORY_SAMPLE_MS)));
  }

  private roleOf(lane: RunningWorker): Role | undefined {
    if (this.lanes.fast === lane) return 'fast';
    if (this.lanes.slow === lane) return 'slow';
    return undefined;
  }

  /** The timer: which call of the lane's batch is running, and since when? */
  private check(lane: RunningWorker): void {
    const batch = lane.batch;
    if (!batch || this.roleOf(lane) === undefined) return;
    const { timeoutMs } = this.options;
    const now = Date.now();
    const call = this.runningCall(lane, batch);
    if (call === undefined) {
      // Between calls, or the result is on its way. A worker that shows no call for long is stuck
      // outside any (a microtask a rule left behind): nothing to blame, the batch fails.
      if (!lane.progressed && now - lane.sentAt! > Math.max(2000, 4 * timeoutMs)) return this.failLane(lane, new Error('the rule worker stopped responding'));
      lane.watched = undefined;
      return this.arm(lane);
    }
    lane.progressed = true;
    const rssLimit = this.options.rssLimitBytes ?? RSS_LIMIT_BYTES;
    if (process.memoryUsage.rss() > rssLimit) {
      return this.cut(lane, { ...unpack(call), errorClass: MEMORY_ERROR_CLASS, message: `used more than ${Math.round(rssLimit / 1048576)} MiB` }, 'memory');
    }
    if (lane.watched?.call !== call) {
      lane.watched = { call, since: now };
      return this.arm(lane);
    }
    if (now - lane.watched.since < 2 * timeoutMs + Math.max(BACKSTOP_SLACK_MS, timeoutMs)) return this.arm(lane);
    this.cut(lane, { ...unpack(call), errorClass: TIMEOUT_ERROR_CLASS, message: `did not return within RULE_TIMEOUT_MS=${timeoutMs} ms` }, 'timeout');
  }

  /** Decides `mark` in the lane's batch, ends the lane's worker and runs the batch again (on the spare). */
  private cut(lane: RunningWorker, mark: MarkedCall, reason: 'timeout' | 'crash' | 'memory'): void {
    const batch = lane.batch!;
    batch.marks.push(mark);
    this.retire(lane);
    this.options.onRestart?.(reason, mark.message);
    this.rerun(batch);
  }

  private rerun(batch: Batch): void {
    const lane = this.laneFor(batch.role);
    if (lane && !lane.batch) return this.dispatch(lane, batch);
    this.ensureSpare().then(
      () => this.rerun(batch),
      (err: unknown) => this.fail(batch, err),
    );
  }

  private failLane(lane: RunningWorker, err: Error): void {
    const batch = lane.batch;
    this.retire(lane);
    this.options.onRestart?.('stalled', err.message);
    if (batch) this.fail(batch, err);
    this.flush();
  }

  /** Takes a worker out of its role and ends it. */
  private retire(lane: RunningWorker): void {
    clearTimeout(lane.timer);
    const role = this.roleOf(lane);
    if (role) this.lanes[role] = undefined;
    lane.batch = undefined;
    void lane.worker.terminate();
  }

  /** The packed index of the running call of `batch` in `lane`, if any. */
  private runningCall(lane: RunningWorker, batch: Batch): number | undefined {
    if (Atomics.load(lane.slots, PROGRESS.batch) !== batch.id) return undefined;
    const call = Atomics.load(lane.slots, PROGRESS.call);
    return call < 0 ? undefined : call;
  }

  private onResult(lane: RunningWorker, id: number, json: string, deferred: readonly number[]): void {
    const batch = lane.batch;
    if (!batch || batch.id !== id || this.roleOf(lane) === undefined) return;
    clearTimeout(lane.timer);
    lane.batch = undefined;
    let results: JobResult[];
    try {
      results = parseResults(json);
      if (results.length !== batch.tasks.length) throw new Error(`rule evaluation returned ${results.length} results for ${batch.tasks.length} checks`);
    } catch (err: unknown) {
      this.fail(batch, err);
      return this.afterBatch();
    }
    const setAside = new Set(deferred);
    batch.tasks.forEach((task, job) => {
      const result = results[job]!;
      if (!setAside.has(job)) return this.complete(task, { outcomes: result.outcomes, read: [...new Set([...task.read, ...result.read])] });
      // Set aside: what its earlier calls returned goes with it to the slow lane.
      const known: MarkedCall[] = [];
      const knownValues: Array<{ fn: number; v: boolean }> = [];
      result.outcomes.forEach((outcome, fn) => {
        if (outcome?.kind === 'value') knownValues.push({ fn, v: outcome.value });
        else if (outcome?.kind === 'error') known.push({ job: 0, fn, errorClass: outcome.errorClass, message: outcome.message });
      });
      this.queues.slow.push({ pending: task.pending, index: task.index, known, knownValues, read: [...task.read, ...result.read] });
    });
    this.afterBatch();
  }

  private onFailed(lane: RunningWorker, id: number, message: string): void {
    const batch = lane.batch;
    if (!batch || batch.id !== id || this.roleOf(lane) === undefined) return;
    clearTimeout(lane.timer);
    lane.batch = undefined;
    this.fail(batch, new Error(`rule evaluation failed: ${message}`));
    this.afterBatch();
  }

  private complete(task: Task, result: JobResult): void {
    const pending = task.pending;
    if (pending.failed) return;
    pending.results[task.index] = result;
    if (--pending.waiting === 0) pending.resolve(pending.results as JobResult[]);
  }

  private fail(batch: Batch, err: unknown): void {
    for (const task of batch.tasks) {
      if (task.pending.failed) continue;
      task.pending.failed = true;
      task.pending.reject(err);
    }
  }

  private afterBatch(): void {
    this.flush();
    // An idle slow lane becomes the spare (or ends, when there is one): two warm workers, not three.
    const slow = this.lanes.slow;
    if (slow && !slow.batch && this.queues.slow.length === 0) {
      this.lanes.slow = undefined;
      clearTimeout(slow.timer);
      if (this.spare) void slow.worker.terminate();
      else this.spare = slow;
    }
    if (this.closed && this.idle()) this.stopAll();
  }

  private onWorkerDeath(running: RunningWorker, reason: string): void {
    if (this.spare === running) {
      this.spare = undefined;
      return;
    }
    if (this.roleOf(running) === undefined) return; // retired on purpose
    const batch = running.batch;
    if (!batch) {
      this.retire(running);
      return;
    }
    const call = this.runningCall(running, batch);
    if (call === undefined) return this.failLane(running, new Error(`the rule worker died: ${reason}`));
    this.cut(running, { ...unpack(call), errorClass: CRASH_ERROR_CLASS, message: `the rule worker died during this call: ${reason}` }, 'crash');
  }

  /** Keeps one warm worker ready (rules loaded), so a cut-off costs no start-up. */
  private refillSpare(): void {
    if (this.closed) return;
    void this.ensureSpare().catch(() => undefined);
  }

  private ensureSpare(): Promise<RunningWorker> {
    if (this.spare) return Promise.resolve(this.spare);
    this.spawning ??= this.spawn().then(
      ({ running }) => {
        this.spawning = undefined;
        if (this.closed && this.idle()) {
          void running.worker.terminate();
          return running;
        }
        this.spare = running;
        this.flush();
        return running;
      },
      (err: unknown) => {
        this.spawning = undefined;
        // Nothing can run: every waiting evaluation fails (its caller treats that as a fault).
        for (const role of ['fast', 'slow'] as const) {
          for (const task of this.queues[role].splice(0)) {
            if (task.pending.failed) continue;
            task.pending.failed = true;
            task.pending.reject(err);
          }
        }
        throw err;
      },
    );
    return this.spawning;
  }

  private stopAll(): void {
    for (const role of ['fast', 'slow'] as const) {
      const lane = this.lanes[role];
      if (!lane) continue;
      clearTimeout(lane.timer);
      void lane.worker.terminate();
      this.lanes[role] = undefined;
    }
    if (this.spare) void this.spare.worker.terminate();
    this.spare = undefined;
  }

  private spawn(): Promise<{ running: RunningWorker; files: readonly LoadedFileEntries[] }> {
    // Fresh shared memory per worker: a terminated worker may still write to its own for a moment.
    const progress = new SharedArrayBuffer(PROGRESS.slots * Int32Array.BYTES_PER_ELEMENT);
    const data: RuleWorkerData = {
      files: this.options.files,
      allowedModules: this.options.allowedModules,
      timeoutMs: this.options.timeoutMs,
      progress,
      forwardConsole: this.options.onConsole !== undefined,
    };
    const worker = new Worker(path.join(__dirname, 'rule-worker.js'), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    return new Promise((resolve, reject) => {
      let running: RunningWorker | undefined;
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        void worker.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`the rule worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      worker.on('message', (message: FromRuleWorker) => {
        switch (message.type) {
          case 'ready':
            clearTimeout(timer);
            running = { worker, slots: new Int32Array(progress) };
            // Idle workers do not keep the process alive; a batch in flight does (its timer).
            worker.unref();
            resolve({ running, files: message.files });
            return;
          case 'load-error':
            fail(new RuleSetLoadError(message.errors.map((e) => new RuleLoadError(e.location, e.detail))));
            return;
          case 'result':
            if (running) this.onResult(running, message.batch, message.results, message.deferred);
            return;
          case 'failed':
            if (running) this.onFailed(running, message.batch, message.message);
            return;
          case 'console':
            this.options.onConsole?.(message.level, [...message.args]);
        }
      });
      worker.on('error', (err) => (running ? this.onWorkerDeath(running, err.message) : fail(err)));
      worker.on('exit', (code) => (running ? this.onWorkerDeath(running, `exit code ${code}`) : fail(new Error(`the rule worker exited with code ${code} while loading`))));
    });
  }
}

function unpack(call: number): { job: number; fn: number } {
  return { job: Math.floor(call / CALLS_PER_JOB), fn: call % CALLS_PER_JOB };
}
