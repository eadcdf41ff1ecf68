/**
 * Rule evaluation off the main thread, bounded in time from outside.
 *
 * Rule code runs in a worker thread (rule-worker.ts) inside vm2. The main thread batches the
 * evaluations asked for while the worker is busy (and within one event-loop turn otherwise), sends
 * each batch as one JSON text, and samples which call is running (the worker writes it to shared
 * memory) every RULE_TIMEOUT_MS/4. A call seen running for RULE_TIMEOUT_MS is given one more full
 * budget (the bound is wall-clock time, and a spurious timeout would be a fail-closed violation that
 * could stop a compliant container); then the worker is terminated, the call is marked as a
 * timeout, and the batch runs again in a fresh worker with that call skipped. So an endless rule is
 * cut off after 2 to 2.25 x RULE_TIMEOUT_MS, never before. A worker that dies inside a rule
 * (out of memory, say) gets the same treatment, the call marked as a crash.
 *
 * Why not node's `runInContext({ timeout })` around each batch on the main thread: it starts a
 * watchdog thread per call (~75 µs), and the rule work itself would then compete with HTTP and
 * Docker I/O for the one event loop.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Evaluator } from '../engine/judge';
import type { RuleSource } from './loader';
import { RuleLoadError, RuleSetLoadError } from './rule-load-error';
import { CALLS_PER_JOB, MAX_JOBS_PER_BATCH, PROGRESS, TIMEOUT_ERROR_CLASS, parseResults, serializeJobs, type EvaluationJob, type JobResult, type MarkedCall } from './sandbox';
import type { FromRuleWorker, LoadedFileEntries, RuleWorkerData } from './worker-protocol';

export const CRASH_ERROR_CLASS = 'RuleWorkerCrash';
/** Heap of the rule worker: a rule that allocates without bound kills its worker, not the daemon. */
const WORKER_HEAP_MB = 256;
const START_TIMEOUT_MS = 30_000;

export interface WorkerEvaluatorOptions {
  /** Rule files, transpiled. */
  readonly files: readonly RuleSource[];
  readonly allowedModules: readonly string[];
  /** RULE_TIMEOUT_MS. */
  readonly timeoutMs: number;
  readonly onConsole?: (level: string, args: unknown[]) => void;
  /** Told when the worker is replaced (a call timed out or crashed it). */
  readonly onRestart?: (reason: 'timeout' | 'crash', detail: string) => void;
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
  /** Calls (packed, see PROGRESS) that already had their extra budget. */
  readonly graced: Set<number>;
  /** The call seen running at the last sample, and since when. */
  watched?: { readonly call: number; since: number };
  /** The worker it was handed to (a replaced worker's batches are handed to the new one). */
  sentTo?: Worker;
  timer?: NodeJS.Timeout;
}

interface RunningWorker {
  readonly worker: Worker;
  readonly slots: Int32Array;
}

/**
 * Batches handed to the worker at once. One: while it runs, new checks gather into the next batch,
 * so batches grow with load and the per-message cost (~20 µs on the main thread) is shared.
 * Measured with bench:authz, 16 connections: 1 in flight 4.9-5.9k req/s, 2: 4.4-5.0k, 4: 4.3k.
 */
const MAX_IN_FLIGHT = 1;

export class WorkerEvaluator implements Evaluator {
  private current: RunningWorker | undefined;
  private starting: Promise<RunningWorker> | undefined;
  private queue: Pending[] = [];
  /** Sent (or to be sent) to the worker, oldest first; the worker runs them in this order. */
  private inFlight: Batch[] = [];
  private nextBatchId = 1;
  private flushScheduled = false;
  private closed = false;

  private constructor(private readonly options: WorkerEvaluatorOptions) {}

  /** Starts the worker and loads the files; throws RuleSetLoadError naming every file that failed. */
  static async start(options: WorkerEvaluatorOptions): Promise<{ evaluator: WorkerEvaluator; files: readonly LoadedFileEntries[] }> {
    const evaluator = new WorkerEvaluator(options);
    const { running, files } = await evaluator.spawn();
    evaluator.current = running;
    return { evaluator, files };
  }

  evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ jobs, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Ends the worker once nothing is pending (a later evaluate() starts a fresh one). */
  close(): void {
    this.closed = true;
    if (this.inFlight.length === 0 && this.queue.length === 0) this.stopWorker();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight.length >= MAX_IN_FLIGHT) return;
    this.flushScheduled = true;
    // One turn later: every evaluation asked for in this turn (and its microtasks) joins the batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight.length >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    let jobCount = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || jobCount + this.queue[take]!.jobs.length <= MAX_JOBS_PER_BATCH)) jobCount += this.queue[take++]!.jobs.length;
    const items = take === this.queue.length ? this.queue : this.queue.slice(0, take);
    this.queue = take === this.queue.length ? [] : this.queue.slice(take);
    let jobs: string;
    try {
      jobs = serializeJobs(items.length === 1 ? items[0]!.jobs : items.flatMap((item) => item.jobs));
    } catch (err: unknown) {
      for (const item of items) item.reject(err);
      return;
    }
    const batch: Batch = { id: this.nextBatchId, items, jobs, marks: [], graced: new Set() };
    this.nextBatchId = (this.nextBatchId % 0x7fffffff) + 1;
    this.inFlight.push(batch);
    this.pump();
    if (this.queue.length > 0) this.scheduleFlush();
  }

  /** Hands every batch the current worker has not seen to it, in order; starts a worker if needed. */
  private pump(): void {
    const running = this.current;
    if (!running) {
      if (this.inFlight.length === 0) return;
      this.ensureWorker().then(
        () => this.pump(),
        (err: unknown) => {
          for (const batch of [...this.inFlight]) this.finish(batch, err);
        },
      );
      return;
    }
    for (const batch of this.inFlight) {
      if (batch.sentTo === running.worker) continue;
      batch.sentTo = running.worker;
      running.worker.postMessage({ type: 'evaluate', batch: batch.id, jobs: batch.jobs, marks: JSON.stringify(batch.marks) });
      batch.watched = undefined;
      this.arm(batch);
    }
  }

  private arm(batch: Batch): void {
    clearTimeout(batch.timer);
    batch.timer = setTimeout(() => this.check(batch), Math.max(1, this.options.timeoutMs / 4));
  }

  /** The timer: which call of this batch is running, and since when was it first seen? */
  private check(batch: Batch): void {
    const running = this.current;
    if (!this.inFlight.includes(batch) || !running || batch.sentTo !== running.worker) return;
    const call = this.runningCall(running, batch);
    const now = Date.now();
    if (call === undefined || batch.watched?.call !== call) {
      // Waiting behind another batch, between calls, a new call, or the result is on its way.
      batch.watched = call === undefined ? undefined : { call, since: now };
      return this.arm(batch);
    }
    const { timeoutMs } = this.options;
    if (now - batch.watched.since < timeoutMs) return this.arm(batch);
    if (!batch.graced.has(call)) {
      batch.graced.add(call);
      batch.watched.since = now;
      return this.arm(batch);
    }
    this.replaceWorker(batch, { ...unpack(call), errorClass: TIMEOUT_ERROR_CLASS, message: `did not return within RULE_TIMEOUT_MS=${timeoutMs} ms` }, 'timeout');
  }

  /** Decides `mark` in `batch`; every batch the old worker held runs again in a fresh one. */
  private replaceWorker(batch: Batch, mark: MarkedCall, reason: 'timeout' | 'crash'): void {
    batch.marks.push(mark);
    this.stopWorker();
    this.options.onRestart?.(reason, mark.message);
    this.pump();
  }

  /** The packed index of the call of `batch` running in `running`, if any. */
  private runningCall(running: RunningWorker, batch: Batch): number | undefined {
    if (Atomics.load(running.slots, PROGRESS.batch) !== batch.id) return undefined;
    const call = Atomics.load(running.slots, PROGRESS.call);
    return call < 0 ? undefined : call;
  }

  private onResult(worker: Worker, id: number, json: string): void {
    if (this.current?.worker !== worker) return;
    const batch = this.inFlight.find((b) => b.id === id);
    if (!batch) return;
    let results: JobResult[];
    try {
      results = parseResults(json);
    } catch (err: unknown) {
      return this.finish(batch, err);
    }
    this.finish(batch, undefined, results);
  }

  private onWorkerDeath(worker: Worker, reason: string): void {
    const running = this.current;
    if (running?.worker !== worker) return; // stopped on purpose, or already handled
    this.current = undefined;
    const culprit = this.inFlight.find((batch) => batch.sentTo === worker && this.runningCall(running, batch) !== undefined);
    if (!culprit) {
      // Not inside a rule call: nothing to blame, so the checks fail (and are retried by their callers).
      for (const batch of [...this.inFlight]) this.finish(batch, new Error(`the rule worker died: ${reason}`));
      return;
    }
    this.replaceWorker(culprit, { ...unpack(this.runningCall(running, culprit)!), errorClass: CRASH_ERROR_CLASS, message: `the rule worker died during this call: ${reason}` }, 'crash');
  }

  private finish(batch: Batch, err: unknown, results?: JobResult[]): void {
    clearTimeout(batch.timer);
    const index = this.inFlight.indexOf(batch);
    if (index === -1) return;
    this.inFlight.splice(index, 1);
    let offset = 0;
    for (const item of batch.items) {
      if (results) item.resolve(results.slice(offset, offset + item.jobs.length));
      else item.reject(err);
      offset += item.jobs.length;
    }
    if (this.queue.length > 0) this.scheduleFlush();
    else if (this.closed && this.inFlight.length === 0) this.stopWorker();
  }

  private ensureWorker(): Promise<RunningWorker> {
    if (this.current) return Promise.resolve(this.current);
    this.starting ??= this.spawn().then(
      ({ running }) => {
        this.starting = undefined;
        this.current = running;
        return running;
      },
      (err: unknown) => {
        this.starting = undefined;
        throw err;
      },
    );
    return this.starting;
  }

  private stopWorker(): void {
    const running = this.current;
    this.current = undefined;
    if (running) void running.worker.terminate();
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
    const running: RunningWorker = { worker, slots: new Int32Array(progress) };
    return new Promise((resolve, reject) => {
      let ready = false;
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        void worker.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`the rule worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      worker.on('message', (message: FromRuleWorker) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            clearTimeout(timer);
            // Idle workers do not keep the process alive; a batch in flight does (its timer).
            worker.unref();
            resolve({ running, files: message.files });
            return;
          case 'load-error':
            fail(new RuleSetLoadError(message.errors.map((e) => new RuleLoadError(e.location, e.detail))));
            return;
          case 'result':
            this.onResult(worker, message.batch, message.results);
            return;
          case 'console':
            this.options.onConsole?.(message.level, [...message.args]);
        }
      });
      worker.on('error', (err) => (ready ? this.onWorkerDeath(worker, err.message) : fail(err)));
      worker.on('exit', (code) => (ready ? this.onWorkerDeath(worker, `exit code ${code}`) : fail(new Error(`the rule worker exited with code ${code} while loading`))));
    });
  }
}

function unpack(call: number): { job: number; fn: number } {
  return { job: Math.floor(call / CALLS_PER_JOB), fn: call % CALLS_PER_JOB };
}
