/** Messages between the daemon and its rule host process (rule-host.ts). Plain data only. */
import type { RuleSource } from './loader';
import type { JobResult } from './sandbox';
import type { LoadedFileEntries } from './worker-protocol';

export type RestartReason = 'timeout' | 'crash' | 'memory' | 'stalled';

export type ToRuleHost =
  | { readonly type: 'start'; readonly files: readonly RuleSource[]; readonly allowedModules: readonly string[]; readonly timeoutMs: number; readonly forwardConsole: boolean; readonly rssLimitBytes?: number }
  /** `jobs`: serializeJob texts (no object graph to clone across the process boundary). */
  | { readonly type: 'evaluate'; readonly id: number; readonly jobs: readonly string[] }
  | { readonly type: 'close' };

export type FromRuleHost =
  | { readonly type: 'ready'; readonly files: readonly LoadedFileEntries[] }
  | { readonly type: 'load-error'; readonly errors: ReadonlyArray<{ readonly location: string; readonly detail: string }> }
  | { readonly type: 'result'; readonly id: number; readonly results: readonly JobResult[] }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'restart'; readonly reason: RestartReason; readonly detail: string }
  | { readonly type: 'console'; readonly level: string; readonly args: readonly string[] }
  | { readonly type: 'alive' };
