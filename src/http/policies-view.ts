/** What /policies shows: the policies in force (as compiled), which rule set applies here, and the last reload. */
import { ruleSetFor } from '../policies/leash/judge';
import type { Check, PolicyConfig } from '../policies/leash/model';
import type { LoadedPolicies } from '../policies/loaded';
import type { ReloadStatus } from './deps';

export interface PoliciesView {
  readonly enabled: boolean;
  readonly host_name: string;
  readonly format?: PolicyConfig['format'];
  /** The rule set that applies to this host (the first whose hosts match), or null. */
  readonly applies?: { readonly index: number; readonly name: string } | null;
  readonly rule_sets: ReadonlyArray<{
    readonly index: number;
    readonly name: string;
    readonly hosts: { readonly include: readonly string[]; readonly exclude: readonly string[] };
    readonly default: string;
    readonly mode: string | null;
    readonly policies: ReadonlyArray<{ readonly index: number; readonly name: string | null; readonly members: readonly string[]; readonly rules: Readonly<Record<string, readonly string[]>> }>;
  }>;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly files: ReadonlyArray<{ readonly kind: string; readonly path: string; readonly present: boolean; readonly loaded_at: string; readonly source: string }>;
  readonly last_reload: ReloadStatus | null;
}

function checkNames(checks: readonly Check[]): string[] {
  return checks.map((check) => check.name);
}

export function policiesView(loaded: LoadedPolicies | undefined, hostName: string, lastReload: ReloadStatus | null): PoliciesView {
  if (!loaded) return { enabled: false, host_name: hostName, rule_sets: [], groups: {}, files: [], last_reload: lastReload };
  const { config } = loaded;
  const applies = ruleSetFor(config, hostName);
  return {
    enabled: true,
    host_name: hostName,
    format: config.format,
    applies: applies ? { index: applies.index, name: applies.name } : null,
    rule_sets: config.ruleSets.map((ruleSet) => ({
      index: ruleSet.index,
      name: ruleSet.name,
      hosts: { include: ruleSet.hosts.include.map((regex) => regex.source), exclude: ruleSet.hosts.exclude.map((regex) => regex.source) },
      default: ruleSet.default,
      mode: ruleSet.mode ?? null,
      policies: ruleSet.policies.map((policy) => ({
        index: policy.index,
        name: policy.name ?? null,
        members: policy.members,
        rules: Object.fromEntries([...policy.rules].map(([key, checks]) => [key, checkNames(checks)])),
      })),
    })),
    groups: Object.fromEntries(config.groups),
    files: loaded.files.map((file) => ({ kind: file.kind, path: file.path, present: file.present, loaded_at: file.loadedAt, source: file.source })),
    last_reload: lastReload,
  };
}
