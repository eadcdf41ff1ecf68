import type { RuleSource } from '../rules/loader';
import type { Verdict } from '../rules/api';

/** What the trigger worker is started with. */
export interface TriggerWorkerData {
  readonly file: RuleSource;
  readonly allowedModules: readonly string[];
  readonly timeoutMs: number;
  /** TRIGGERS_ENV: the variables `process.env` shows to triggers. */
  readonly env: Readonly<Record<string, string>>;
}

/** Main -> worker. */
export interface RunMessage {
  readonly type: 'run';
  readonly verdict: Verdict;
}

/** Worker -> main. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly names: readonly string[] }
  | { readonly type: 'load-error'; readonly message: string }
  | { readonly type: 'result'; readonly trigger: string; readonly result: 'ok' | 'error' | 'timeout'; readonly message?: string; readonly ms: number }
  | { readonly type: 'done' }
  | { readonly type: 'console'; readonly level: string; readonly args: readonly string[] };
