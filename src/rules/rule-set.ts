import type { Evaluator, RuleGroup } from '../engine/judge';
import { RuleHostEvaluator } from './host-evaluator';
import type { RestartReason } from './host-protocol';
import { readRuleSource, type RuleFileInfo, type RuleFileKind, type RuleSource } from './loader';
import { RuleLoadError, RuleSetLoadError } from './rule-load-error';
import type { LoadedFileEntries } from './worker-protocol';

export { RuleSetLoadError };

export interface RuleSetPaths {
  readonly rulesPath: string;
  readonly whitelistRulesPath: string;
  readonly requestRulesPath: string;
}

/** Every rule the daemon enforces, loaded together and swapped as a whole. */
export interface RuleSet {
  readonly containerRules: RuleGroup;
  readonly whitelistRules: RuleGroup;
  readonly requestRules: RuleGroup;
  readonly files: readonly RuleFileInfo[];
  readonly evaluator: Evaluator;
  /** Frees the rule worker once checks still running with this set are done. */
  close(): void;
}

export interface RuleSetOptions extends RuleSetPaths {
  readonly allowedModules: readonly string[];
  readonly timeoutMs: number;
  readonly onConsole?: (level: string, args: unknown[]) => void;
  readonly onRestart?: (reason: RestartReason, detail: string) => void;
}

/**
 * Reads and transpiles all rule files, then loads them into one fresh rule worker. Every broken file
 * is reported at once (syntax errors and load errors alike) in one RuleSetLoadError.
 */
export async function loadRuleSet(options: RuleSetOptions): Promise<RuleSet> {
  const wanted: Array<[RuleFileKind, string, boolean]> = [
    ['rules', options.rulesPath, true],
    ['whitelist_rules', options.whitelistRulesPath, false],
    ['request_rules', options.requestRulesPath, false],
  ];
  const errors: RuleLoadError[] = [];
  const sources: RuleSource[] = [];
  for (const [kind, file, required] of wanted) {
    try {
      sources.push(await readRuleSource(kind, file, required));
    } catch (err: unknown) {
      if (!(err instanceof RuleLoadError)) throw err;
      errors.push(err);
    }
  }
  let started: Awaited<ReturnType<typeof RuleHostEvaluator.start>> | undefined;
  try {
    started = await RuleHostEvaluator.start({ files: sources, allowedModules: options.allowedModules, timeoutMs: options.timeoutMs, onConsole: options.onConsole, onRestart: options.onRestart });
  } catch (err: unknown) {
    if (!(err instanceof RuleSetLoadError)) throw err;
    errors.push(...err.errors);
  }
  if (errors.length > 0 || !started) {
    started?.evaluator.close();
    throw new RuleSetLoadError(errors);
  }
  const { evaluator, files } = started;
  const [rules, whitelistRules, requestRules] = files.map(group) as [RuleGroup, RuleGroup, RuleGroup];
  return {
    containerRules: rules,
    whitelistRules,
    requestRules,
    files: sources.map((source, i) => info(source, files[i]!)),
    evaluator,
    close: () => evaluator.close(),
  };
}

function group(file: LoadedFileEntries): RuleGroup {
  return { handle: file.handle, rules: file.rules };
}

function info(source: RuleSource, entries: LoadedFileEntries): RuleFileInfo {
  return { kind: source.kind, path: source.path, present: source.present, loadedAt: source.loadedAt, source: source.source, names: entries.rules.map((r) => r.name) };
}
