/**
 * Rule evaluation in worker threads, bounded from outside. (In the daemon this runs inside the rule
 * host process, host-evaluator.ts, so nothing a rule does can take the daemon down.)
 *
 * Rule code runs in a worker thread (rule-worker.ts) inside vm2. The evaluations asked for while a
 * worker is busy gather into the next batch, sent as one JSON text. Each worker writes which call is
 * running to shared memory; a timer samples it every RULE_TIMEOUT_MS/8 and cuts a call off:
 *  - once it has run RULE_TIMEOUT_MS and its thread spent at least half of that on CPU (it is really
 *    computing: an endless loop, a regular expression backtracking), or once it has run twice the
 *    bound whatever the CPU says (a busy host can starve a rule; a spurious fail-closed timeout could
 *    stop a compliant container);
 *  - at once when the process grows past RSS_LIMIT_BYTES while it runs (an allocation outside the V8
 *    heap limit: ArrayBuffers are not counted in it).
 * Cut off means: the worker is terminated, the call is marked (a violation: fail-closed), and the
 * batch runs again in the warm spare worker, which has the rules loaded already, so one request
 * holds a lane for the bound and not a worker start-up on top. A worker that stops making progress
 * between calls (a rule's leftover microtask spinning) is replaced and its batch fails (a fault).
 *
 * Two lanes: when the only worker has been busy with one batch for SECOND_LANE_AFTER_MS, the spare
 * starts taking the next batches, so one slow request does not hold everyone else's decisions.
 *
 * Why not node's `runInContext({ timeout })` on the deciding thread: it starts a watchdog thread per
 * call (~75 µs), and the rule work would compete with HTTP and Docker I/O for the one event loop.
 * Why not isolated-vm or QuickJS in-thread: measured here, isolated-vm aborts the whole process when a
 * rule grows a Map or an object past its memory limit, and QuickJS's interrupt is not checked inside
 * C builtins (`new Array(2**32-1).includes(1)` never returned) and its memory limit counts no bytes.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Evaluator } from '../engine/judge';
import type { RuleSource } from './loader';
import { RuleLoadError, RuleSetLoadError } from './rule-load-error';
import { CALLS_PER_JOB, MAX_JOBS_PER_BATCH, PROGRESS, TIMEOUT_ERROR_CLASS, parseResults, serializeJobs, type EvaluationJob, type JobResult, type MarkedCall } from './sandbox';
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
const START_TIMEOUT_MS = 30_000;
/** A busy worker opens the second lane after this long (a normal batch takes well under a millisecond). */
const SECOND_LANE_AFTER_MS = 20;
const MAX_LANES = 2;

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

interface Pending {
  readonly jobs: readonly EvaluationJob[];
  readonly resolve: (results: JobResult[]) => void;
  readonly reject: (err: unknown) => void;
}

interface Batch {
  readonly id: number;
  readonly items: readonly Pending[];
  readonly jobs: string;
  readonly marks: MarkedCall[];
  /** Calls (packed, see PROGRESS) already given their second budget. */
  readonly graced: Set<number>;
}

interface RunningWorker {
  readonly worker: Worker;
  readonly slots: Int32Array;
  /** Its thread id, for its CPU time in /proc (undefined where /proc has none). */
  readonly tid: number | undefined;
  batch?: Batch;
  sentAt?: number;
  /** The call seen running at the last sample: since when, and the thread's CPU time then. */
  watched?: { readonly call: number; since: number; cpuMs: number };
  /** Whether any call of the current batch was seen running. */
  progressed?: boolean;
  timer?: NodeJS.Timeout;
}

/** CPU time a thread has used, in ms (clock ticks of 10 ms), from /proc/self/task/TID/stat. */
function threadCpuMs(tid: number | undefined): number {
  if (tid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

export class WorkerEvaluator implements Evaluator {
  private lanes: RunningWorker[] = [];
  private spare: RunningWorker | undefined;
  private spawning: Promise<RunningWorker> | undefined;
  private queue: Pending[] = [];
  private nextBatchId = 1;
  private flushScheduled = false;
  private laneTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: WorkerEvaluatorOptions) {}

  /** Starts a worker and loads the files; throws RuleSetLoadError naming every file that failed. */
  static async start(options: WorkerEvaluatorOptions): Promise<{ evaluator: WorkerEvaluator; files: readonly LoadedFileEntries[] }> {
    const evaluator = new WorkerEvaluator(options);
    const { running, files } = await evaluator.spawn();
    evaluator.lanes.push(running);
    evaluator.refillSpare();
    return { evaluator, files };
  }

  evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ jobs, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Ends the workers once nothing is pending (a later evaluate() starts a fresh one). */
  close(): void {
    this.closed = true;
    if (this.idle()) this.stopAll();
  }

  private idle(): boolean {
    return this.queue.length === 0 && this.lanes.every((lane) => !lane.batch);
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
    while (this.queue.length > 0) {
      const lane = this.freeLane();
      if (!lane) return;
      this.dispatch(lane, this.takeBatch());
    }
  }

  /** An idle lane; the spare as a second lane when the only one has been busy too long; or none yet. */
  private freeLane(): RunningWorker | undefined {
    const idle = this.lanes.find((lane) => !lane.batch);
    if (idle) return idle;
    if (this.lanes.length === 0) {
      if (this.spare) return this.promoteSpare();
      // The spare flushes the queue once it is up (or fails every waiting evaluation).
      void this.ensureSpare().catch(() => undefined);
      return undefined;
    }
    if (this.lanes.length >= MAX_LANES) return undefined;
    const busyFor = Math.min(...this.lanes.map((lane) => Date.now() - (lane.sentAt ?? Date.now())));
    if (busyFor >= SECOND_LANE_AFTER_MS && this.spare) return this.promoteSpare();
    // Look again once the busy lane has had its chance to finish.
    clearTimeout(this.laneTimer);
    this.laneTimer = setTimeout(() => this.flush(), Math.max(1, SECOND_LANE_AFTER_MS - busyFor));
    this.laneTimer.unref();
    return undefined;
  }

  private promoteSpare(): RunningWorker {
    const spare = this.spare!;
    this.spare = undefined;
    this.lanes.push(spare);
    this.refillSpare();
    return spare;
  }

  private takeBatch(): Batch {
    let jobCount = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || jobCount + this.queue[take]!.jobs.length <= MAX_JOBS_PER_BATCH)) jobCount += this.queue[take++]!.jobs.length;
    const items = this.queue.slice(0, take);
    this.queue = this.queue.slice(take);
    const jobs = serializeJobs(items.length === 1 ? items[0]!.jobs : items.flatMap((item) => item.jobs));
    const batch: Batch = { id: this.nextBatchId, items, jobs, marks: [], graced: new Set() };
    this.nextBatchId = (this.nextBatchId % 0x7fffffff) + 1;
    return batch;
  }

  private dispatch(lane: RunningWorker, batch: Batch): void {
    lane.batch = batch;
    lane.sentAt = Date.now();
    lane.watched = undefined;
    lane.progressed = false;
    lane.worker.ref();
    lane.worker.postMessage({ type: 'evaluate', batch: batch.id, jobs: batch.jobs, marks: JSON.stringify(batch.marks) });
    this.arm(lane);
  }

  private arm(lane: RunningWorker): void {
    clearTimeout(lane.timer);
    lane.timer = setTimeout(() => this.check(lane), Math.max(1, this.options.timeoutMs / 8));
  }

  /** The timer: which call of the lane's batch is running, since when, on how much CPU? */
  private check(lane: RunningWorker): void {
    const batch = lane.batch;
    if (!batch || !this.lanes.includes(lane)) return;
    const { timeoutMs } = this.options;
    const now = Date.now();
    const call = this.runningCall(lane, batch);
    if (call === undefined) {
      // Between calls, or the result is on its way. A worker that shows no call for long is stuck
      // outside any (a microtask a rule left behind): nothing to blame, the batch fails.
      if (!lane.progressed && now - lane.sentAt! > Math.max(2000, 4 * timeoutMs)) return this.failLane(lane, new Error('the rule worker stopped responding'), 'stalled');
      lane.watched = undefined;
      return this.arm(lane);
    }
    lane.progressed = true;
    if (process.memoryUsage.rss() > (this.options.rssLimitBytes ?? RSS_LIMIT_BYTES)) {
      return this.cut(lane, { ...unpack(call), errorClass: MEMORY_ERROR_CLASS, message: `used more than ${Math.round((this.options.rssLimitBytes ?? RSS_LIMIT_BYTES) / 1048576)} MiB` }, 'memory');
    }
    if (lane.watched?.call !== call) {
      lane.watched = { call, since: now, cpuMs: threadCpuMs(lane.tid) };
      return this.arm(lane);
    }
    const elapsed = now - lane.watched.since;
    if (elapsed < timeoutMs) return this.arm(lane);
    const cpu = threadCpuMs(lane.tid) - lane.watched.cpuMs;
    if (cpu < timeoutMs / 2 && elapsed < 2 * timeoutMs && lane.tid !== undefined) return this.arm(lane);
    this.cut(lane, { ...unpack(call), errorClass: TIMEOUT_ERROR_CLASS, message: `did not return within RULE_TIMEOUT_MS=${timeoutMs} ms` }, 'timeout');
  }

  /** Decides `mark` in the lane's batch, ends the lane's worker and runs the batch again elsewhere. */
  private cut(lane: RunningWorker, mark: MarkedCall, reason: 'timeout' | 'crash' | 'memory'): void {
    const batch = lane.batch!;
    batch.marks.push(mark);
    this.retire(lane);
    this.options.onRestart?.(reason, mark.message);
    this.queueFirst(batch);
  }

  /** Runs `batch` again before anything queued, on the spare (warm) when there is one. */
  private queueFirst(batch: Batch): void {
    const lane = this.lanes.find((l) => !l.batch) ?? (this.spare ? this.promoteSpare() : undefined);
    if (lane) return this.dispatch(lane, batch);
    this.ensureSpare().then(
      () => {
        const next = this.lanes.find((l) => !l.batch) ?? (this.spare ? this.promoteSpare() : undefined);
        if (next) this.dispatch(next, batch);
        else this.queueFirst(batch);
      },
      (err: unknown) => this.finish(batch, err),
    );
  }

  private failLane(lane: RunningWorker, err: Error, reason: 'stalled' | 'crash'): void {
    const batch = lane.batch;
    this.retire(lane);
    this.options.onRestart?.(reason, err.message);
    if (batch) this.finish(batch, err);
    this.flush();
  }

  /** Takes a lane out of service and ends its worker. */
  private retire(lane: RunningWorker): void {
    clearTimeout(lane.timer);
    this.lanes = this.lanes.filter((l) => l !== lane);
    lane.batch = undefined;
    void lane.worker.terminate();
  }

  /** The packed index of the running call of `batch` in `lane`, if any. */
  private runningCall(lane: RunningWorker, batch: Batch): number | undefined {
    if (Atomics.load(lane.slots, PROGRESS.batch) !== batch.id) return undefined;
    const call = Atomics.load(lane.slots, PROGRESS.call);
    return call < 0 ? undefined : call;
  }

  private onResult(lane: RunningWorker, id: number, json: string): void {
    const batch = lane.batch;
    if (!batch || batch.id !== id || !this.lanes.includes(lane)) return;
    clearTimeout(lane.timer);
    lane.batch = undefined;
    lane.worker.unref();
    let results: JobResult[];
    try {
      results = parseResults(json);
    } catch (err: unknown) {
      this.finish(batch, err);
      return this.afterBatch(lane);
    }
    this.finish(batch, undefined, results);
    this.afterBatch(lane);
  }

  /** A lane just finished: more work, or back to one lane (the extra one becomes the spare). */
  private afterBatch(lane: RunningWorker): void {
    if (this.queue.length > 0) return this.flush();
    if (this.lanes.length > 1) {
      this.lanes = this.lanes.filter((l) => l !== lane);
      if (this.spare) void lane.worker.terminate();
      else this.spare = lane;
    }
    if (this.closed && this.idle()) this.stopAll();
  }

  private onWorkerDeath(running: RunningWorker, reason: string): void {
    if (this.spare === running) {
      this.spare = undefined;
      return;
    }
    if (!this.lanes.includes(running)) return; // retired on purpose
    const batch = running.batch;
    const call = batch ? this.runningCall(running, batch) : undefined;
    if (!batch) {
      this.retire(running);
      return;
    }
    if (call === undefined) return this.failLane(running, new Error(`the rule worker died: ${reason}`), 'crash');
    this.cut(running, { ...unpack(call), errorClass: CRASH_ERROR_CLASS, message: `the rule worker died during this call: ${reason}` }, 'crash');
  }

  private finish(batch: Batch, err: unknown, results?: JobResult[]): void {
    let offset = 0;
    for (const item of batch.items) {
      if (results) item.resolve(results.slice(offset, offset + item.jobs.length));
      else item.reject(err);
      offset += item.jobs.length;
    }
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
        if (this.queue.length > 0) this.flush();
        return running;
      },
      (err: unknown) => {
        this.spawning = undefined;
        // Nothing can run: every waiting evaluation fails (its caller treats that as a fault).
        for (const item of this.queue.splice(0)) item.reject(err);
        throw err;
      },
    );
    return this.spawning;
  }

  private stopAll(): void {
    for (const lane of this.lanes) {
      clearTimeout(lane.timer);
      void lane.worker.terminate();
    }
    this.lanes = [];
    if (this.spare) void this.spare.worker.terminate();
    this.spare = undefined;
    clearTimeout(this.laneTimer);
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
            running = { worker, slots: new Int32Array(progress), tid: message.tid };
            // Idle workers do not keep the process alive; a batch in flight does.
            worker.unref();
            resolve({ running, files: message.files });
            return;
          case 'load-error':
            fail(new RuleSetLoadError(message.errors.map((e) => new RuleLoadError(e.location, e.detail))));
            return;
          case 'result':
            if (running) this.onResult(running, message.batch, message.results);
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
