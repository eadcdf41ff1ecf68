import * as vm from 'node:vm';
import { builtinModules } from 'node:module';
import { NodeVM } from 'vm2';

/** A function that lives inside the sandbox (a rule, a whitelist rule, a trigger). */
export type SandboxFunction = (...args: unknown[]) => unknown;

/** A list of sandbox functions registered once; jobs refer to it by handle. */
export type FunctionSetHandle = number;

/** The result of calling one sandboxed function. */
export type Outcome =
  | { readonly kind: 'value'; readonly value: boolean }
  | { readonly kind: 'error'; readonly errorClass: string; readonly message: string };

/**
 * Call the functions of `set` (all, or those at `indices`, in order) with `args`. With
 * `stopOnFirstTruthy` the first truthy result ends the job (errors do not). `args` must be JSON
 * data: it is copied into the sandbox and frozen there. The properties of `args[0]` named in
 * `watch` report whether any function read them (facts fetched only when a rule needs them).
 */
export interface EvaluationJob {
  readonly set: FunctionSetHandle;
  readonly indices?: readonly number[];
  readonly args: readonly unknown[];
  /** `args` as JSON text, when the caller has it already (spliced from a request body it read). */
  readonly argsJson?: string;
  readonly stopOnFirstTruthy: boolean;
  readonly watch?: readonly string[];
}

export interface JobResult {
  /** Per function called (in job order); undefined where stop-on-first ended the job before it. */
  readonly outcomes: ReadonlyArray<Outcome | undefined>;
  /** The watched properties that some function read. */
  readonly read: readonly string[];
}

export interface SandboxOptions {
  /** Modules `require()` may load inside the sandbox, e.g. `node:fs`, `node:https`. Empty: none. */
  readonly allowedModules: readonly string[];
  /** Wall-clock bound of every single function call, in ms. */
  readonly timeoutMs: number;
  /** Where `console.*` calls of rule code go. */
  readonly onConsole?: (level: string, args: unknown[]) => void;
  /** What `process.env` shows inside the sandbox (nothing by default). */
  readonly env?: Readonly<Record<string, string>>;
}

export const TIMEOUT_ERROR_CLASS = 'RuleTimeoutError';
const MODULE_LOAD_TIMEOUT_MS = 5000;

/**
 * Where evaluation stands, in shared memory (Int32 slots), so another thread can see which call is
 * running while this one is busy — or stuck — inside rule code: the batch id (0 when idle), and the
 * running call as `job * CALLS_PER_JOB + fn` (-1 between batches).
 */
export const PROGRESS = { batch: 0, call: 1, slots: 2 } as const;
export const CALLS_PER_JOB = 0x10000;
/** Jobs per batch at most, so a packed call index fits an Int32. */
export const MAX_JOBS_PER_BATCH = 0x7fff;

/** A call decided before it runs (it timed out or crashed the worker in an earlier attempt). */
export interface MarkedCall {
  readonly job: number;
  readonly fn: number;
  readonly errorClass: string;
  readonly message: string;
}

/** A call's outcome carried into a re-run of its batch: an error, or the value it already returned. */
export type KnownCall = { readonly job: number; readonly fn: number } & ({ readonly v: boolean } | { readonly errorClass: string; readonly message: string });

// Runs inside the sandbox. Data crosses the vm2 bridge as JSON strings: reading a host object
// through vm2's proxies costs ~20 µs per rule, a JSON copy made inside costs ~1 µs per rule.
// `progress` is the host's Int32Array over shared memory, reached through a vm2 proxy (vm2 copies
// any buffer handed across, so the sandbox cannot hold its own view): one write per call, ~0.5 µs.
const RUNNER_SOURCE = `
'use strict';
// No timers: work a rule schedules would run outside any call, where nothing bounds it.
for (const name of ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate']) {
  try { delete globalThis[name]; } catch (err) { /* not deletable: left as is */ }
}
const sets = [];
let progress = [0, 0];
function freeze(value) {
  // for-in, not Object.keys: no array per object. A frozen object is done (and may have watched
  // getters that must not be read here).
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key in value) {
    const child = value[key];
    if (child !== null && typeof child === 'object') freeze(child);
  }
  return value;
}
function describe(err) {
  try {
    if (err !== null && typeof err === 'object') {
      const ctor = err.constructor;
      const errorClass = ctor && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : 'Error';
      return { e: errorClass, m: String(err.message !== undefined ? err.message : err) };
    }
    return { e: typeof err, m: String(err) };
  } catch (inner) {
    return { e: 'Error', m: 'unprintable error' };
  }
}
exports.attach = function attach(slots) {
  progress = slots;
};
exports.kinds = function kinds(fns) {
  return JSON.stringify(Array.prototype.map.call(fns, (fn) => Object.prototype.toString.call(fn)));
};
exports.register = function register(fns) {
  sets.push(Array.prototype.slice.call(fns));
  return sets.length - 1;
};
// What the last evaluate() got through, readable after its call was interrupted (a timeout ends a
// script without running its finally blocks): the outcomes so far, the first call it ran, the call
// it was running.
let current = [];
let firstCall = -1;
let runningCall = -1;
exports.partial = function partial() {
  return JSON.stringify({ results: current, firstCall: firstCall, running: runningCall });
};
exports.evaluate = function evaluate(batch, json, marksJson) {
  const jobs = JSON.parse(json);
  const marks = JSON.parse(marksJson);
  const results = [];
  current = results;
  firstCall = -1;
  runningCall = -1;
  for (const job of jobs) {
    const result = { o: [], r: [] };
    results.push(result);
    const subject = job.a[0];
    if (job.d.length > 0 && subject !== null && typeof subject === 'object') {
      // Freeze everything but the watched properties first: freezing reads every property.
      const watched = {};
      for (const key of job.d) {
        watched[key] = freeze(subject[key]);
        delete subject[key];
      }
      for (const key of Object.keys(subject)) freeze(subject[key]);
      for (const key of job.d) {
        Object.defineProperty(subject, key, {
          enumerable: true,
          get() { if (!result.r.includes(key)) result.r.push(key); return watched[key]; },
        });
      }
      Object.freeze(subject);
    }
    freeze(job.a);
  }
  const skipped = [];
  for (const mark of marks) {
    if (mark.skip) skipped[mark.job] = true;
    else results[mark.job].o[mark.fn] = mark.v !== undefined ? mark.v : { e: mark.errorClass, m: mark.message };
  }
  progress[${PROGRESS.batch}] = batch;
  try {
  for (let j = 0; j < jobs.length; j++) {
    if (skipped[j]) continue;
    const job = jobs[j];
    const set = sets[job.s] || [];
    const fns = job.i ? job.i.map((index) => set[index]) : set;
    const out = results[j].o;
    for (let f = 0; f < fns.length; f++) {
      let result = out[f];
      if (result === undefined) {
        runningCall = j * ${CALLS_PER_JOB} + f;
        if (firstCall < 0) firstCall = runningCall;
        progress[${PROGRESS.call}] = runningCall;
        try {
          const value = fns[f].apply(undefined, job.a);
          result = value !== null && typeof value === 'object' && typeof value.then === 'function'
            ? { e: 'TypeError', m: 'returned a Promise; rules must return a boolean synchronously' }
            : !!value;
        } catch (err) {
          result = describe(err);
        }
        out[f] = result;
      }
      if (result === true && job.t) break;
    }
  }
  } finally {
    runningCall = -1;
    progress[${PROGRESS.call}] = -1;
    progress[${PROGRESS.batch}] = 0;
  }
  return JSON.stringify(results);
};
`;

type RawOutcome = boolean | { e: string; m: string } | null;
interface Runner {
  partial(): string;
  attach(slots: Int32Array): void;
  kinds(fns: readonly SandboxFunction[]): string;
  register(fns: readonly SandboxFunction[]): number;
  evaluate(batch: number, json: string, marksJson: string): string;
}

function toVm2Require(allowed: readonly string[]): false | { builtin: string[]; external: { modules: string[] } | false; context: 'sandbox' } {
  if (allowed.length === 0) return false;
  const names = allowed.map((name) => name.replace(/^node:/, ''));
  const builtin = names.filter((name) => builtinModules.includes(name));
  const external = names.filter((name) => !builtinModules.includes(name));
  return { builtin, external: external.length > 0 ? { modules: external } : false, context: 'sandbox' };
}

/**
 * vm2 sandbox for rule code. vm2's `timeout` covers only `vm.run()`, not a sandbox function called
 * later, so rule evaluation (`evaluate`) is not bounded here: it runs in a worker thread that the
 * main thread terminates when a call overruns (see worker-evaluator.ts), reading which call it was
 * from the shared progress buffer. Module loading and `callBounded` (triggers) are bounded here, by
 * node's `Script#runInContext({ timeout })` — what vm2 uses internally; it starts a watchdog thread
 * per call (~75 µs), fine for one-off calls.
 */
export class RuleSandbox {
  private readonly nodeVm: NodeVM;
  private readonly runner: Runner;
  private readonly timeoutContext = vm.createContext({ fn: null as null | (() => void) });
  private readonly timeoutScript = new vm.Script('fn()', { filename: 'docker-enforcer-rule-timeout.js' });

  constructor(private readonly options: SandboxOptions) {
    this.nodeVm = new NodeVM({
      console: options.onConsole ? 'redirect' : 'off',
      sandbox: {},
      require: toVm2Require(options.allowedModules),
      wrapper: 'commonjs',
      eval: false,
      wasm: false,
      env: { ...(options.env ?? {}) },
    });
    if (options.onConsole) {
      const onConsole = options.onConsole;
      for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
        this.nodeVm.on(`console.${level}`, (...args: unknown[]) => onConsole(level, args));
      }
    }
    this.runner = this.nodeVm.run(RUNNER_SOURCE, 'docker-enforcer-runner.js') as Runner;
  }

  /** Runs a CommonJS module (already transpiled) in the sandbox and returns its exports. */
  loadModule(code: string, filename: string): unknown {
    // Top-level code may legitimately do more than a rule call (build tables, require modules).
    return this.boundedCall(() => this.nodeVm.run(code, filename), Math.max(this.options.timeoutMs, MODULE_LOAD_TIMEOUT_MS));
  }

  /**
   * Calls one sandbox function directly, its synchronous part bounded by `timeoutMs`; returns what
   * it returned (a trigger's promise, say). Throws what it threw, or a timeout error
   * (code ERR_SCRIPT_EXECUTION_TIMEOUT).
   */
  callBounded(fn: SandboxFunction, args: readonly unknown[], timeoutMs: number): unknown {
    return this.boundedCall(() => fn(...args), timeoutMs);
  }

  /** How the sandbox sees each function: `[object Function]`, `[object AsyncFunction]`, `[object GeneratorFunction]`… */
  kindsOf(fns: readonly SandboxFunction[]): string[] {
    return JSON.parse(this.runner.kinds(fns)) as string[];
  }

  /** Keeps `fns` inside the sandbox under a handle, so jobs do not pass functions across the bridge. */
  register(fns: readonly SandboxFunction[]): FunctionSetHandle {
    return this.runner.register(fns);
  }

  /** Where `evaluate` reports the running call (layout: PROGRESS), e.g. an Int32Array over shared memory. */
  attachProgress(slots: Int32Array): void {
    this.progress = slots;
    this.runner.attach(slots);
  }

  /**
   * `evaluateJson` with every call bounded here, in this thread, by V8's own watchdog (one per run,
   * ~55 µs, not one per call): a run that passes `budgetMs` is interrupted, and the call running then —
   * if it had the whole budget; else it simply runs again with a fresh one — is either
   *  - marked a RuleTimeoutError (`defer: false`), unless its thread got less than a quarter of the
   *    budget in CPU (a busy host): then it gets the budget once more, since a spurious fail-closed
   *    timeout could stop a compliant container; or
   *  - set aside with the rest of its job (`defer: true`): the job is listed in `deferred` with the
   *    outcomes of its earlier calls in its row, to be finished elsewhere with the full bound.
   * The run then goes on after it with the outcomes already known. `cpuMs` reads this thread's CPU time.
   */
  evaluateBounded(batch: number, jobsJson: string, marks: readonly KnownCall[], run: { readonly budgetMs: number; readonly defer: boolean; readonly cpuMs: () => number }): { json: string; deferred: number[] } {
    const { budgetMs, defer, cpuMs } = run;
    const known: Array<KnownCall | { readonly job: number; readonly skip: true }> = [...marks];
    const reads = new Map<number, Set<string>>();
    const graced = new Set<number>();
    const deferred: number[] = [];
    for (;;) {
      const cpuBefore = cpuMs();
      try {
        const json = this.boundedCall(() => this.runner.evaluate(batch, jobsJson, JSON.stringify(known)), budgetMs);
        return { json: reads.size === 0 ? json : withReads(json, reads), deferred };
      } catch (err: unknown) {
        if ((err as { code?: string } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
        this.resetProgress();
        const partial = JSON.parse(this.boundedCall(() => this.runner.partial(), MODULE_LOAD_TIMEOUT_MS)) as { results: Array<{ o: RawOutcome[]; r: string[] }>; firstCall: number; running: number };
        const isKnown = (job: number, fn: number): boolean => known.some((k) => k.job === job && 'fn' in k && k.fn === fn);
        partial.results.forEach((result, job) => {
          for (const key of result.r) reads.set(job, (reads.get(job) ?? new Set()).add(key));
          result.o.forEach((outcome, fn) => {
            if (outcome === undefined || outcome === null || isKnown(job, fn) || job * CALLS_PER_JOB + fn === partial.running) return;
            known.push(typeof outcome === 'boolean' ? { job, fn, v: outcome } : { job, fn, errorClass: outcome.e, message: outcome.m });
          });
        });
        const running = partial.running;
        if (running < 0 || running !== partial.firstCall) continue; // it started late in the run: it gets a whole budget now
        const job = Math.floor(running / CALLS_PER_JOB);
        if (defer) {
          deferred.push(job);
          known.push({ job, skip: true });
          continue;
        }
        if (cpuMs() - cpuBefore < budgetMs / 4 && !graced.has(running)) {
          graced.add(running);
          continue;
        }
        known.push({ job, fn: running % CALLS_PER_JOB, errorClass: TIMEOUT_ERROR_CLASS, message: `did not return within RULE_TIMEOUT_MS=${this.options.timeoutMs} ms` });
      }
    }
  }

  private progress: Int32Array | undefined;

  /** An interrupted run skipped the runner's finally block. */
  private resetProgress(): void {
    if (!this.progress) return;
    Atomics.store(this.progress, PROGRESS.call, -1);
    Atomics.store(this.progress, PROGRESS.batch, 0);
  }

  /**
   * Calls every job's functions (skipping `marks`, whose outcome is given) with no time bound: the
   * caller bounds it from outside. Never throws because of rule code.
   */
  evaluate(batch: number, jobs: readonly EvaluationJob[], marks: readonly MarkedCall[] = []): JobResult[] {
    return parseResults(this.evaluateJson(batch, serializeJobs(jobs), JSON.stringify(marks)));
  }

  /** `evaluate` with the jobs and results as JSON text, as they cross threads. */
  evaluateJson(batch: number, jobsJson: string, marksJson: string): string {
    return this.runner.evaluate(batch, jobsJson, marksJson);
  }

  private boundedCall<T>(fn: () => T, timeoutMs: number): T {
    let value: T | undefined;
    this.timeoutContext.fn = () => {
      value = fn();
    };
    try {
      this.timeoutScript.runInContext(this.timeoutContext, { timeout: timeoutMs });
    } finally {
      this.timeoutContext.fn = null;
    }
    return value as T;
  }
}

/** Adds the watched properties read in interrupted runs to the final results. */
function withReads(json: string, reads: ReadonlyMap<number, ReadonlySet<string>>): string {
  const results = JSON.parse(json) as Array<{ o: RawOutcome[]; r: string[] }>;
  for (const [job, keys] of reads) {
    const row = results[job];
    if (row) for (const key of keys) if (!row.r.includes(key)) row.r.push(key);
  }
  return JSON.stringify(results);
}

/** Jobs as the runner reads them (short keys: this text is built for every check). */
export function serializeJobs(jobs: readonly EvaluationJob[]): string {
  return `[${jobs.map(serializeJob).join(',')}]`;
}

/** One job as the runner reads it; batches are these texts joined. */
export function serializeJob(job: EvaluationJob): string {
  return `{"s":${job.set},"i":${job.indices ? JSON.stringify(job.indices) : 'null'},"t":${job.stopOnFirstTruthy},"d":${JSON.stringify(job.watch ?? [])},"a":${job.argsJson ?? JSON.stringify(job.args)}}`;
}

export function parseResults(json: string): JobResult[] {
  const raw = JSON.parse(json) as Array<{ o: RawOutcome[]; r: string[] }>;
  return raw.map((row) => ({ outcomes: Array.from(row.o, toOutcome), read: row.r.map(String) }));
}

function toOutcome(raw: RawOutcome | undefined): Outcome | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'boolean') return { kind: 'value', value: raw };
  return { kind: 'error', errorClass: String(raw.e), message: String(raw.m) };
}
