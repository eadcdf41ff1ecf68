import type { Evaluator, RuleGroup } from '../engine/judge';
import { BatchingEvaluator } from './evaluator';
import { loadRuleFile, type LoadedRuleFile, type RuleFileInfo, type RuleFileKind } from './loader';
import { RuleSandbox } from './sandbox';
import { RuleLoadError } from './transpile';

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
}

/** Several rule files failed; each error names its file (and line:col for syntax errors). */
export class RuleSetLoadError extends Error {
  constructor(readonly errors: readonly RuleLoadError[]) {
    super(`cannot load rules:\n  - ${errors.map((e) => e.message).join('\n  - ')}`);
    this.name = 'RuleSetLoadError';
  }
}

export interface RuleSetOptions extends RuleSetPaths {
  readonly allowedModules: readonly string[];
  readonly timeoutMs: number;
  readonly onConsole?: (level: string, args: unknown[]) => void;
}

/** Loads all rule files into one fresh sandbox; reports every broken file at once. */
export async function loadRuleSet(options: RuleSetOptions): Promise<RuleSet> {
  const sandbox = new RuleSandbox({ allowedModules: options.allowedModules, timeoutMs: options.timeoutMs, onConsole: options.onConsole });
  const wanted: Array<[RuleFileKind, string, boolean]> = [
    ['rules', options.rulesPath, true],
    ['whitelist_rules', options.whitelistRulesPath, false],
    ['request_rules', options.requestRulesPath, false],
  ];
  const errors: RuleLoadError[] = [];
  const loaded: LoadedRuleFile[] = [];
  for (const [kind, file, required] of wanted) {
    try {
      loaded.push(await loadRuleFile(sandbox, kind, file, required));
    } catch (err: unknown) {
      if (!(err instanceof RuleLoadError)) throw err;
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new RuleSetLoadError(errors);
  const [rules, whitelistRules, requestRules] = loaded as [LoadedRuleFile, LoadedRuleFile, LoadedRuleFile];
  return {
    containerRules: group(rules),
    whitelistRules: group(whitelistRules),
    requestRules: group(requestRules),
    files: loaded.map((file) => file.info),
    evaluator: new BatchingEvaluator(sandbox),
  };
}

function group(file: LoadedRuleFile): RuleGroup {
  return { handle: file.handle, rules: file.rules };
}
