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
// The batch being evaluated lives here between prepare() and the run() that completes it, so a run
// interrupted by its time bound (which ends the script without running its finally blocks) loses
// nothing: the next run() continues with the calls whose outcome is still unknown, and the input is
// parsed and frozen once, outside any call's budget.
let state = null;
exports.prepare = function prepare(batch, json, marksJson) {
  state = null;
  const jobs = JSON.parse(json);
  const results = [];
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
  state = { batch: batch, jobs: jobs, results: results, skipped: [], firstCall: -1, running: -1 };
  exports.mark(marksJson);
};
// Decides calls before they run: { job, fn, v } or { job, fn, errorClass, message }; { job, skip }
// sets a whole job aside (its calls not run here).
exports.mark = function mark(marksJson) {
  for (const mark of JSON.parse(marksJson)) {
    if (mark.skip) state.skipped[mark.job] = true;
    else state.results[mark.job].o[mark.fn] = mark.v !== undefined ? mark.v : { e: mark.errorClass, m: mark.message };
  }
};
// Where the last run() stood when it was interrupted: the batch, the first call it ran, the call it
// ran last (-1: none) and whether that call had returned.
exports.partial = function partial() {
  if (state === null) return JSON.stringify({ batch: 0, firstCall: -1, running: -1, returned: false });
  const running = state.running;
  const returned = running >= 0 && state.results[Math.floor(running / ${CALLS_PER_JOB})].o[running % ${CALLS_PER_JOB}] !== undefined;
  return JSON.stringify({ batch: state.batch, firstCall: state.firstCall, running: running, returned: returned });
};
exports.run = function run() {
  const s = state;
  s.firstCall = -1;
  s.running = -1;
  progress[${PROGRESS.batch}] = s.batch;
  try {
  for (let j = 0; j < s.jobs.length; j++) {
    if (s.skipped[j]) continue;
    const job = s.jobs[j];
    const set = sets[job.s] || [];
    const fns = job.i ? job.i.map((index) => set[index]) : set;
    const out = s.results[j].o;
    for (let f = 0; f < fns.length; f++) {
      let result = out[f];
      if (result === undefined) {
        s.running = j * ${CALLS_PER_JOB} + f;
        if (s.firstCall < 0) s.firstCall = s.running;
        progress[${PROGRESS.call}] = s.running;
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
  s.running = -1;
  } finally {
    progress[${PROGRESS.call}] = -1;
    progress[${PROGRESS.batch}] = 0;
  }
  return JSON.stringify(s.results);
};
`;

type RawOutcome = boolean | { e: string; m: string } | null;
interface Runner {
  attach(slots: Int32Array): void;
  kinds(fns: readonly SandboxFunction[]): string;
  register(fns: readonly SandboxFunction[]): number;
  prepare(batch: number, json: string, marksJson: string): void;
  mark(marksJson: string): void;
  partial(): string;
  run(): string;
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
   * ~55 µs, not one per call; reading the batch in runs before, unbounded): a run that passes
   * `budgetMs` is interrupted, and the call running then — if it had the whole budget; else it
   * simply runs again with a fresh one, the run going on where it stopped — is either
   *  - marked a RuleTimeoutError (`defer: false`), unless its thread got less than a quarter of the
   *    budget in CPU (a busy host): then it gets the budget once more, since a spurious fail-closed
   *    timeout could stop a compliant container; or
   *  - set aside with the rest of its job (`defer: true`): the job is listed in `deferred` with the
   *    outcomes of its earlier calls in its row, to be finished elsewhere with the full bound.
   * The run then goes on after it with the outcomes already known. `cpuMs` reads this thread's CPU time.
   */
  evaluateBounded(batch: number, jobsJson: string, marks: readonly KnownCall[], run: { readonly budgetMs: number; readonly defer: boolean; readonly cpuMs: () => number }): { json: string; deferred: number[] } {
    const { budgetMs, defer, cpuMs } = run;
    // Parsing and freezing the input is no rule's time (a 200 KB body may take milliseconds on a
    // busy host), and it runs no rule code: work proportional to a capped input (AuthZ envelopes: 4 MiB), so
    // it gets no watchdog of its own (~55 µs a batch). A worker that never gets past it is the main
    // thread's no-progress backstop's to end.
    this.runner.prepare(batch, jobsJson, JSON.stringify(marks));
    const graced = new Set<number>();
    const deferred: number[] = [];
    // Set when a run was interrupted outside any call (between calls, writing the results): the next
    // run gets the generous bound, and a second such interrupt fails the batch.
    let generous = false;
    for (;;) {
      const cpuBefore = cpuMs();
      try {
        return { json: this.boundedCall(() => this.runner.run(), generous ? MODULE_LOAD_TIMEOUT_MS : budgetMs), deferred };
      } catch (err: unknown) {
        if ((err as { code?: string } | null)?.code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
        this.resetProgress();
        const partial = JSON.parse(this.boundedCall(() => this.runner.partial(), MODULE_LOAD_TIMEOUT_MS)) as { batch: number; firstCall: number; running: number; returned: boolean };
        if (partial.batch !== batch) throw new Error(`rule evaluation lost batch ${batch} (the runner holds ${partial.batch})`);
        const running = partial.running;
        if (running >= 0 && partial.returned) continue; // interrupted just after its call returned: its outcome stands
        if (running < 0) {
          if (generous) throw new Error(`rule evaluation of batch ${batch} did not finish within ${MODULE_LOAD_TIMEOUT_MS} ms outside any rule call`);
          generous = true;
          continue;
        }
        generous = false;
        if (running !== partial.firstCall) continue; // it started late in the run: it gets a whole budget now
        const job = Math.floor(running / CALLS_PER_JOB);
        const fn = running % CALLS_PER_JOB;
        if (defer) {
          deferred.push(job);
          this.mark([{ job, skip: true }]);
          continue;
        }
        if (cpuMs() - cpuBefore < budgetMs / 4 && !graced.has(running)) {
          graced.add(running);
          continue;
        }
        this.mark([{ job, fn, errorClass: TIMEOUT_ERROR_CLASS, message: `did not return within RULE_TIMEOUT_MS=${this.options.timeoutMs} ms` }]);
      }
    }
  }

  private mark(marks: ReadonlyArray<KnownCall | { readonly job: number; readonly skip: true }>): void {
    this.boundedCall(() => this.runner.mark(JSON.stringify(marks)), MODULE_LOAD_TIMEOUT_MS);
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
    this.runner.prepare(batch, jobsJson, marksJson);
    return this.runner.run();
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
