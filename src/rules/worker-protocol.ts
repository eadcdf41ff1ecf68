/** Messages between the main thread and the rule worker (rule-worker.ts). Plain data only. */
import type { RuleEntry, RuleSource } from './loader';

export interface RuleWorkerData {
  /** Transpiled on the main thread: the worker never loads the TypeScript compiler. */
  readonly files: readonly RuleSource[];
  readonly allowedModules: readonly string[];
  readonly timeoutMs: number;
  /** Which call is running (layout: PROGRESS in sandbox.ts), read by the main thread's timer. */
  readonly progress: SharedArrayBuffer;
  /** Forward `console.*` of rule code to the main thread's log. */
  readonly forwardConsole: boolean;
}

export interface LoadedFileEntries {
  /** The file's functions as registered in the sandbox (-1 when it has none). */
  readonly handle: number;
  readonly rules: readonly RuleEntry[];
}

export type ToRuleWorker = {
  readonly type: 'evaluate';
  readonly batch: number;
  /** serializeJobs() text. */
  readonly jobs: string;
  /** MarkedCall[] as JSON. */
  readonly marks: string;
  /** Each call's budget in ms; with `defer`, a call that uses it all is set aside instead of failed. */
  readonly budgetMs: number;
  readonly defer: boolean;
};

export type FromRuleWorker =
  /** `tid`: the worker's thread id, so the main thread can read its CPU time in /proc. */
  | { readonly type: 'ready'; readonly files: readonly LoadedFileEntries[]; readonly tid: number | undefined }
  | { readonly type: 'load-error'; readonly errors: ReadonlyArray<{ readonly location: string; readonly detail: string }> }
  /** `deferred`: jobs set aside (defer runs), their rows holding the outcomes of their earlier calls. */
  | { readonly type: 'result'; readonly batch: number; readonly results: string; readonly deferred: readonly number[] }
  /** The batch could not be evaluated (not because of a rule's outcome): its checks fail. */
  | { readonly type: 'failed'; readonly batch: number; readonly message: string }
  | { readonly type: 'console'; readonly level: string; readonly args: readonly string[] };
