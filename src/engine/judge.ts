/**
 * The judge: facts + rules + whitelists -> verdict. No I/O, no logger, no clock; rule code is run
 * through the injected `Evaluator` (the sandbox), so this module is table-testable with plain functions.
 */
import type { Container, Mode } from '../rules/api';
import type { RuleEntry } from '../rules/loader';
import type { EvaluationJob, FunctionSetHandle, JobResult } from '../rules/sandbox';
import { isGloballyWhitelisted, isImageGloballyWhitelisted, isImageWhitelistedForRule, isWhitelistedForRule, type Whitelist } from './whitelist';

/** Runs batches of sandboxed calls; every call bounded in time, never throwing because of rule code. */
export interface Evaluator {
  evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]>;
}

/** Rules of one file: `rules[i].index` is the function's position in the registered set `handle`. */
export interface RuleGroup {
  readonly handle: FunctionSetHandle;
  readonly rules: readonly RuleEntry[];
}

export const EMPTY_GROUP: RuleGroup = { handle: -1, rules: [] };

export interface JudgeOptions {
  readonly whiteList: Whitelist;
  readonly imageWhiteList: Whitelist;
  readonly stopOnFirstViolation: boolean;
  /** MODE: the mode of rules that do not set their own. */
  readonly defaultMode: Mode;
  /** The enforcer's own container id, when it runs in one (spared: it must not stop itself). */
  readonly selfContainerId?: () => string | undefined;
}

export interface Violation {
  readonly rule: string;
  readonly mode: Mode;
  /** The rule name, or `Exception - rule: NAME, class: CLASS, val: MESSAGE` for a rule that threw or timed out. */
  readonly reason: string;
  readonly error?: { readonly errorClass: string; readonly message: string };
}

export interface RuleError {
  readonly rule: string;
  readonly errorClass: string;
  readonly message: string;
}

export interface Judgement {
  readonly violations: readonly Violation[];
  /** KILL when any violated rule's effective mode is KILL. */
  readonly mode: Mode;
  /** Set when a global whitelist (or being the enforcer's own container) spared the subject: no rule ran. */
  readonly whitelisted?: 'self' | 'name' | 'image';
  /** Custom whitelist rules that threw: logged, counted, then the next one is tried. */
  readonly whitelistErrors: readonly RuleError[];
  /**
   * Deferred facts (see `judgeContainer`'s `deferred`) that some rule read: the caller fetches them
   * and judges again, so only checks whose rules need a slow fact pay for it.
   */
  readonly deferredRead: readonly string[];
}

/** The error class of a rule the evaluator reported no outcome for (counted as a violation). */
export const NOT_EVALUATED_ERROR_CLASS = 'RuleNotEvaluated';

export const NO_VIOLATION: Judgement = Object.freeze({ violations: [], mode: 'WARN', whitelistErrors: [], deferredRead: [] });

export function exceptionReason(rule: string, errorClass: string, message: string): string {
  return `Exception - rule: ${rule}, class: ${errorClass}, val: ${message}`;
}

/** Reasons as the original reported them: rule names, exception texts included. */
export function reasonsOf(judgement: Judgement): string[] {
  return judgement.violations.map((v) => v.reason);
}

/**
 * Same semantics as the original's judge: rules in file order; a truthy result is a violation and,
 * with stopOnFirstViolation, ends the check; a rule that throws (or times out) is a violation too
 * (fail-closed) but never ends the check.
 */
export function collectViolations(rules: readonly RuleEntry[], outcomes: JobResult['outcomes'], options: JudgeOptions): Judgement {
  const violations: Violation[] = [];
  let stopped = false;
  rules.forEach((rule, index) => {
    if (stopped) return;
    const mode = rule.mode ?? options.defaultMode;
    // Only an earlier violation (with stopOnFirstViolation) leaves a rule without an outcome; a rule
    // missing for any other reason was not judged, which must not pass as compliant.
    const outcome = outcomes[index] ?? { kind: 'error', errorClass: NOT_EVALUATED_ERROR_CLASS, message: 'no outcome was reported for this rule' };
    if (outcome.kind === 'value') {
      if (outcome.value) {
        violations.push({ rule: rule.name, mode, reason: rule.name });
        stopped = options.stopOnFirstViolation;
      }
      return;
    }
    const error = { errorClass: outcome.errorClass, message: outcome.message };
    violations.push({ rule: rule.name, mode, reason: exceptionReason(rule.name, error.errorClass, error.message), error });
  });
  return { violations, mode: violations.some((v) => v.mode === 'KILL') ? 'KILL' : 'WARN', whitelistErrors: [], deferredRead: [] };
}

function ruleJob(group: RuleGroup, rules: readonly RuleEntry[], args: readonly unknown[], stopOnFirstTruthy: boolean, watch: readonly string[] = [], argsJson?: string): EvaluationJob {
  const all = rules.length === group.rules.length;
  return { set: group.handle, indices: all ? undefined : rules.map((r) => r.index), args, argsJson, stopOnFirstTruthy, watch };
}

function union(...lists: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(lists.flat())];
}

/** Rules not spared by the per-rule name/image whitelists. */
function rulesAfterStaticWhitelists(container: Container, rules: readonly RuleEntry[], options: JudgeOptions): RuleEntry[] {
  return rules.filter(
    (rule) =>
      !(container.name !== '' && isWhitelistedForRule(options.whiteList, container.name, rule.name)) &&
      !isImageWhitelistedForRule(options.imageWhiteList, container.image, rule.name),
  );
}

/** Runs the custom whitelist rules for each candidate rule; returns the rules still to check. */
async function rulesAfterCustomWhitelists(
  container: Container,
  candidates: readonly RuleEntry[],
  whitelist: RuleGroup,
  evaluator: Evaluator,
  deferred: readonly string[],
): Promise<{ remaining: RuleEntry[]; errors: RuleError[]; deferredRead: string[] }> {
  const whitelistRules = whitelist.rules;
  if (whitelistRules.length === 0 || candidates.length === 0) return { remaining: [...candidates], errors: [], deferredRead: [] };
  const results = await evaluator.evaluate(candidates.map((rule) => ruleJob(whitelist, whitelistRules, [container, rule.name], true, deferred)));
  const errors: RuleError[] = [];
  const remaining = candidates.filter((_rule, index) => {
    const row = results[index]?.outcomes ?? [];
    let spared = false;
    row.forEach((outcome, w) => {
      if (outcome === undefined) return;
      if (outcome.kind === 'value') spared = spared || outcome.value;
      else errors.push({ rule: whitelistRules[w]!.name, errorClass: outcome.errorClass, message: outcome.message });
    });
    return !spared;
  });
  return { remaining, errors, deferredRead: union(...results.map((r) => r.read)) };
}

/**
 * Judges one container: global whitelists, then per-rule and custom whitelists, then the rules.
 * `deferred` names Container fields holding placeholders (e.g. `metrics` before a stats sample is
 * fetched); the judgement says which of them a rule read.
 */
export async function judgeContainer(
  container: Container,
  rules: RuleGroup,
  whitelist: RuleGroup,
  options: JudgeOptions,
  evaluator: Evaluator,
  deferred: ReadonlyArray<keyof Container> = [],
): Promise<Judgement> {
  const self = options.selfContainerId?.();
  if (self !== undefined && container.id !== '' && container.id === self) return { ...NO_VIOLATION, whitelisted: 'self' };
  if (container.name !== '' && isGloballyWhitelisted(options.whiteList, container.name)) return { ...NO_VIOLATION, whitelisted: 'name' };
  if (isImageGloballyWhitelisted(options.imageWhiteList, container.image)) return { ...NO_VIOLATION, whitelisted: 'image' };
  const candidates = rulesAfterStaticWhitelists(container, rules.rules, options);
  const spared = await rulesAfterCustomWhitelists(container, candidates, whitelist, evaluator, deferred);
  if (spared.remaining.length === 0) return { ...NO_VIOLATION, whitelistErrors: spared.errors, deferredRead: spared.deferredRead };
  const [result] = await evaluator.evaluate([ruleJob(rules, spared.remaining, [container], options.stopOnFirstViolation, deferred)]);
  return {
    ...collectViolations(spared.remaining, result?.outcomes ?? [], options),
    whitelistErrors: spared.errors,
    deferredRead: union(spared.deferredRead, result?.read ?? []),
  };
}

/**
 * Judges a request against request rules (no whitelists, as in the original). `deferred` names
 * Request fields holding placeholders (the container a path names, looked up only if a rule reads it).
 */
export async function judgeRequest(request: unknown, rules: RuleGroup, options: JudgeOptions, evaluator: Evaluator, deferred: readonly string[] = []): Promise<Judgement> {
  if (rules.rules.length === 0) return NO_VIOLATION;
  const [result] = await evaluator.evaluate([ruleJob(rules, rules.rules, [request], options.stopOnFirstViolation, deferred)]);
  return { ...collectViolations(rules.rules, result?.outcomes ?? [], options), deferredRead: result?.read ?? [] };
}
