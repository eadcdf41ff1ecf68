/** Builders shared by the leash policy tests. */
import { CHECKS } from '../../../../src/policies/leash/checks';
import { parsePolicyTexts, type LoadResult } from '../../../../src/policies/leash/load';
import type { Check, CheckName, PolicyConfig } from '../../../../src/policies/leash/model';
import type { PolicyFacts } from '../../../../src/policies/policy-facts';

export const POLICIES = 'policies.yml';
export const GROUPS = 'groups.yml';

/** A request with nothing to restrict: a list by `alice`; override what the case is about. */
export function facts(overrides: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    action: 'containersList',
    namespace: 'containers',
    method: 'GET',
    user: 'alice',
    containerNames: [],
    imageNames: [],
    bindSources: [],
    volumeNames: [],
    privileged: false,
    ...overrides,
  };
}

/** YAML text, one argument per line, so a test reads the line numbers it asserts. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

export function load(policies: string | undefined, groups?: string): LoadResult {
  return parsePolicyTexts({ policies: { path: POLICIES, text: policies }, groups: { path: GROUPS, text: groups } });
}

export function loaded(policies: string, groups?: string): PolicyConfig {
  const result = load(policies, groups);
  if (result.errors) throw new Error(`unexpected load errors:\n${result.errors.join('\n')}`);
  if (!result.config) throw new Error('no config');
  return result.config;
}

export function errorsOf(policies: string | undefined, groups?: string): readonly string[] {
  const result = load(policies, groups);
  if (!result.errors) throw new Error('expected load errors, got a config');
  return result.errors;
}

/** One check compiled from its list argument (none for checks without arguments). */
export function compiledCheck(name: CheckName, items: readonly string[] = []): Check {
  const compiled = CHECKS[name].compile(items);
  if (!compiled.ok) throw new Error(`${name} did not compile: ${compiled.problems.map((p) => p.message).join('; ')}`);
  return compiled.value;
}
