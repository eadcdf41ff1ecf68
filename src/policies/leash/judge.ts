/**
 * One request's facts against the loaded policies: pure, no I/O, no clock.
 *  1. The first rule set whose hosts match the host name applies (a matching `-` entry excludes it).
 *     None applies: deny. Fail-closed on purpose: a host the admin forgot is not a host left open.
 *  2. The caller's policies in it: those with a member group listing the user (or `*`).
 *  3. Per policy, the most specific key present for the action (resolved at load, route-table.ts).
 *  4. No policy of the caller has a key for the action: the rule set's default.
 *     Otherwise the request passes when one of those policies passes all of its checks, and is denied
 *     with the reasons of every failing check of every one of them.
 */
import type { LookupFact, PolicyFacts } from '../policy-facts';
import { isReadOnlyMethod } from './checks/read-only';
import { includes } from './members';
import type { Policy, PolicyConfig, PolicyRule, RuleSet, RuleSetMode } from './model';
import { rulesFor } from './route-table';

export interface PolicyVerdict {
  readonly allow: boolean;
  /** The deciding rule set's own mode (undefined: the caller's). */
  readonly mode: RuleSetMode | undefined;
  readonly ruleSet?: { readonly index: number; readonly name: string };
  /** The policy that allowed the request; on a denial by policies, the first one that failed. */
  readonly policy?: number;
  /** Why it was denied (empty when allowed). */
  readonly reasons: readonly string[];
  readonly decidedBy: 'policy' | 'default' | 'no-rule-set';
}

/** What `neededLookups` needs to know about a request before any lookup. */
export type RequestBasics = Pick<PolicyFacts, 'user' | 'action' | 'namespace' | 'method'>;

const NONE: readonly string[] = [];

export function ruleSetFor(config: PolicyConfig, host: string): RuleSet | undefined {
  return config.ruleSets.find(({ hosts }) => hosts.include.some((r) => r.test(host)) && !hosts.exclude.some((r) => r.test(host)));
}

function policyLabel(policy: Policy): string {
  const named = policy.name === undefined ? '' : ` ${JSON.stringify(policy.name)}`;
  return `policy ${policy.index}${named} (${policy.members.join(', ')})`;
}

function verdict(ruleSet: RuleSet, allow: boolean, decidedBy: 'policy' | 'default', reasons: readonly string[], policy?: number): PolicyVerdict {
  // Literal objects of one shape each (no spread): this runs for every AuthZ request.
  const ruleSetRef = { index: ruleSet.index, name: ruleSet.name };
  if (policy === undefined) return { allow, mode: ruleSet.mode, ruleSet: ruleSetRef, reasons, decidedBy };
  return { allow, mode: ruleSet.mode, ruleSet: ruleSetRef, policy, reasons, decidedBy };
}

function byDefault(ruleSet: RuleSet, method: string): PolicyVerdict {
  const allow = ruleSet.default === 'Allow' || (ruleSet.default === 'ReadOnly' && isReadOnlyMethod(method));
  return verdict(ruleSet, allow, 'default', allow ? NONE : [defaultDenial(ruleSet, method)]);
}

function defaultDenial(ruleSet: RuleSet, method: string): string {
  const name = JSON.stringify(ruleSet.name);
  if (ruleSet.default === 'ReadOnly') return `read-only by default (rule set ${name}): ${method} is not a read-only method`;
  return `denied by default (rule set ${name})`;
}

/** Reasons of the rule's failing checks, undefined when every check passes. */
function failures(rule: PolicyRule, facts: PolicyFacts): string[] | undefined {
  let failed: string[] | undefined;
  for (const check of rule.checks) {
    const result = check.run(facts);
    if (!result.pass) (failed ??= []).push(result.reason);
  }
  return failed;
}

export function judgePolicies(config: PolicyConfig, host: string, facts: PolicyFacts): PolicyVerdict {
  const ruleSet = ruleSetFor(config, host);
  if (ruleSet === undefined) {
    return { allow: false, mode: undefined, reasons: [`no policy rule set applies to host ${JSON.stringify(host)}`], decidedBy: 'no-rule-set' };
  }
  const reasons: string[] = [];
  let firstFailed: number | undefined;
  for (const rule of rulesFor(ruleSet.routes, facts.action, facts.method, facts.namespace)) {
    if (!includes(rule.policy.audience, facts.user)) continue;
    const failed = failures(rule, facts);
    if (failed === undefined) return verdict(ruleSet, true, 'policy', NONE, rule.policy.index);
    firstFailed ??= rule.policy.index;
    const prefix = `rule set ${JSON.stringify(ruleSet.name)}, ${policyLabel(rule.policy)}: `;
    for (const reason of failed) reasons.push(prefix + reason);
  }
  if (firstFailed === undefined) return byDefault(ruleSet, facts.method);
  return verdict(ruleSet, false, 'policy', reasons, firstFailed);
}

/**
 * The facts the checks that would run need fetched (container names, bind sources, run-as user), so
 * the caller looks up nothing else. Nothing when the default decides, and nothing when one of the
 * caller's policies only says Allow (it passes whatever the lookups would find).
 */
export function neededLookups(config: PolicyConfig, host: string, request: RequestBasics): Set<LookupFact> {
  const needed = new Set<LookupFact>();
  const ruleSet = ruleSetFor(config, host);
  if (ruleSet === undefined) return needed;
  for (const rule of rulesFor(ruleSet.routes, request.action, request.method, request.namespace)) {
    if (!includes(rule.policy.audience, request.user)) continue;
    if (rule.checks.every((check) => check.name === 'Allow')) return new Set();
    for (const fact of rule.needs) needed.add(fact);
  }
  return needed;
}
