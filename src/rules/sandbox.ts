import * as vm from 'node:vm';
import { builtinModules } from 'node:module';
import { performance } from 'node:perf_hooks';
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

// Runs inside the sandbox. Data crosses the vm2 bridge as JSON strings: reading a host object
// through vm2's proxies costs ~20 µs per rule, a JSON copy made inside costs ~1 µs per rule.
// `state` tells the host which call was running when the time bound cut execution.
const RUNNER_SOURCE = `
'use strict';
const sets = [];
const state = { job: 0, fn: 0, startedAt: 0 };
let jobs = [];
let results = [];
function freeze(value) {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) freeze(value[key]);
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
exports.state = state;
exports.register = function register(fns) {
  sets.push(Array.prototype.slice.call(fns));
  return sets.length - 1;
};
exports.begin = function begin(json) {
  jobs = JSON.parse(json);
  results = [];
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
    const set = sets[job.s] || [];
    job.f = job.i ? job.i.map((index) => set[index]) : set;
  }
};
exports.run = function run(startJob, startFn, now) {
  for (let j = startJob; j < jobs.length; j++) {
    const job = jobs[j];
    const out = results[j].o;
    for (let f = j === startJob ? startFn : 0; f < job.f.length; f++) {
      state.job = j; state.fn = f; state.startedAt = now();
      let result;
      try {
        const value = job.f[f].apply(undefined, job.a);
        result = value !== null && typeof value === 'object' && typeof value.then === 'function'
          ? { e: 'TypeError', m: 'returned a Promise; rules must return a boolean synchronously' }
          : !!value;
      } catch (err) {
        result = describe(err);
      }
      out[f] = result;
      if (result === true && job.t) break;
    }
  }
};
exports.mark = function mark(j, f, errorClass, message) {
  results[j].o[f] = { e: errorClass, m: message };
};
exports.results = function () {
  const json = JSON.stringify(results);
  jobs = [];
  results = [];
  return json;
};
`;

interface RunnerState {
  job: number;
  fn: number;
  startedAt: number;
}
type RawOutcome = boolean | { e: string; m: string } | null;
interface Runner {
  state: RunnerState;
  register(fns: readonly SandboxFunction[]): number;
  begin(json: string): void;
  run(startJob: number, startFn: number, now: () => number): void;
  mark(job: number, fn: number, errorClass: string, message: string): void;
  results(): string;
}

function toVm2Require(allowed: readonly string[]): false | { builtin: string[]; external: { modules: string[] } | false; context: 'sandbox' } {
  if (allowed.length === 0) return false;
  const names = allowed.map((name) => name.replace(/^node:/, ''));
  const builtin = names.filter((name) => builtinModules.includes(name));
  const external = names.filter((name) => !builtinModules.includes(name));
  return { builtin, external: external.length > 0 ? { modules: external } : false, context: 'sandbox' };
}

/**
 * vm2 sandbox for rule code, plus the time bound vm2 itself cannot give: vm2's `timeout` covers
 * only `vm.run()`, not a sandbox function called later. We use the mechanism vm2 uses internally
 * (node's `Script#runInContext({ timeout })`, which terminates whatever JS runs under it), and
 * amortise its cost (~75 µs: node starts a watchdog thread per call) over every call of a batch.
 */
export class RuleSandbox {
  private readonly nodeVm: NodeVM;
  private readonly runner: Runner;
  private readonly timeoutContext = vm.createContext({ fn: null as null | (() => void) });
  private readonly timeoutScript = new vm.Script('fn()', { filename: 'docker-enforcer-rule-timeout.js' });
  private readonly now = (): number => performance.now();

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

  /** Keeps `fns` inside the sandbox under a handle, so jobs do not pass functions across the bridge. */
  register(fns: readonly SandboxFunction[]): FunctionSetHandle {
    return this.runner.register(fns);
  }

  /** Calls every job's functions, each bounded by `timeoutMs`; never throws because of rule code. */
  evaluate(jobs: readonly EvaluationJob[]): JobResult[] {
    if (jobs.length === 0) return [];
    const payload = JSON.stringify(jobs.map((job) => ({ s: job.set, i: job.indices, a: job.args, t: job.stopOnFirstTruthy, d: job.watch ?? [] })));
    // Only runner code runs in begin() (parse and freeze), so it needs no time bound.
    this.runner.begin(payload);
    let startJob = 0;
    let startFn = 0;
    const retried = new Set<string>();
    while (startJob < jobs.length) {
      try {
        this.boundedCall(() => this.runner.run(startJob, startFn, this.now), this.options.timeoutMs);
        break;
      } catch (err: unknown) {
        if (!isTimeout(err)) throw err;
        const { job, fn, startedAt } = this.runner.state;
        const ownTime = performance.now() - startedAt;
        // The bound covers the whole batch; a call that started late in it gets a fresh, full budget.
        // The bound is wall-clock time, so a call cut off while the host was busy (descheduled, GC)
        // also gets one more full budget before it counts as a timeout — a spurious timeout would
        // be a violation (fail-closed) and could stop a compliant container.
        const key = `${job}/${fn}`;
        const startedLate = ownTime < this.options.timeoutMs * 0.95 && !(job === startJob && fn === startFn);
        if (startedLate || !retried.has(key)) {
          if (!startedLate) retried.add(key);
          startJob = job;
          startFn = fn;
          continue;
        }
        this.runner.mark(job, fn, TIMEOUT_ERROR_CLASS, `did not return within RULE_TIMEOUT_MS=${this.options.timeoutMs} ms`);
        const jobLength = this.functionCount(jobs[job]!);
        startJob = fn + 1 < jobLength ? job : job + 1;
        startFn = fn + 1 < jobLength ? fn + 1 : 0;
      }
    }
    const raw = JSON.parse(this.runner.results()) as Array<{ o: RawOutcome[]; r: string[] }>;
    return raw.map((row) => ({ outcomes: Array.from(row.o, toOutcome), read: row.r.map(String) }));
  }

  private functionCount(job: EvaluationJob): number {
    return job.indices ? job.indices.length : Number.MAX_SAFE_INTEGER;
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

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

function toOutcome(raw: RawOutcome | undefined): Outcome | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'boolean') return { kind: 'value', value: raw };
  return { kind: 'error', errorClass: String(raw.e), message: String(raw.m) };
}
