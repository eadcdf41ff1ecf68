/**
 * One AuthZ decision from everything that judged the request. Pure: no I/O, no clock, no logger;
 * table-tested. The precedence, and why:
 *  1. An envelope that is not a Docker request at all (not JSON, no method or URI, bad base64) gets
 *     the default action (DEFAULT_ACTION_ALLOW) — the only place that setting applies.
 *  2. A Docker request the enforcer cannot judge as dockerd will run it — judging failed (a rule
 *     engine fault, a container that could not be inspected), a body or query it cannot read as
 *     dockerd reads it, a body dockerd reads but never forwarded (AUTHZ_REQUIRE_BODY), an action
 *     dockerd's route table has and ours lacks (unless AUTHZ_ALLOW_UNKNOWN) — is denied in KILL
 *     mode and allowed with a warning in WARN mode. Never the default action: a fault must not
 *     become an allow.
 *  3. What the policy sources say: a violated KILL rule denies, a violated WARN rule warns; a policy
 *     source that denies (declarative policies) denies in its mode (its own, else MODE) — a request
 *     passes only if every source lets it.
 * Every reason is kept, in that order, so the denial's Msg names all of them.
 */
import type { Mode } from '../rules/api';
import { reasonsOf, type Judgement } from './judge';

export type DecisionLabel = 'allow' | 'deny' | 'warn' | 'default_allow' | 'default_deny';

/** Bounded set: the `kind` label of docker_enforcer_authz_unjudgeable_total. */
export type UnjudgeableKind = 'fault' | 'unreadable' | 'missing_body' | 'unknown_action';

export interface DecisionInput {
  /** MODE: what happens to a request that cannot be judged. */
  readonly mode: Mode;
  readonly defaultActionAllow: boolean;
  readonly allowUnknownActions: boolean;
  readonly requireBody: boolean;
  /** Set when the envelope is not a Docker request at all. */
  readonly envelopeProblem?: string;
  readonly action?: string;
  readonly method?: string;
  readonly path?: string;
  /** Judging itself failed. */
  readonly faults?: readonly string[];
  readonly unreadable?: readonly string[];
  readonly missingBody?: string;
  /** Every rule judgement made for this request (request rules, container rules per view). */
  readonly judgements?: readonly Judgement[];
  /** The answers of other policy sources (declarative policies); abstaining sources are left out. */
  readonly verdicts?: readonly SourceVerdict[];
}

/** A policy source's answer: allow, or deny with reasons, in its own mode (undefined: MODE). */
export interface SourceVerdict {
  readonly source: string;
  readonly allow: boolean;
  readonly mode?: Mode;
  readonly reasons: readonly string[];
}

export interface Decision {
  readonly allow: boolean;
  readonly label: DecisionLabel;
  /** The reply's Msg (set on denials, and on allows that warn). */
  readonly msg?: string;
  /** Every reason, in precedence order (violated rules and unjudgeable conditions). */
  readonly reasons: readonly string[];
  readonly unjudgeable: readonly UnjudgeableKind[];
}

/** The original's wording, kept for admins who parse it: a default-action denial starts with this. */
export const DEFAULT_DENIAL_PREFIX = 'Denied as default action';

export function decide(input: DecisionInput): Decision {
  if (input.envelopeProblem !== undefined) {
    return input.defaultActionAllow
      ? { allow: true, label: 'default_allow', reasons: [input.envelopeProblem], unjudgeable: [] }
      : { allow: false, label: 'default_deny', msg: `${DEFAULT_DENIAL_PREFIX}: ${input.envelopeProblem}`, reasons: [input.envelopeProblem], unjudgeable: [] };
  }
  const unjudgeable: UnjudgeableKind[] = [];
  const globalReasons: string[] = [];
  const add = (kind: UnjudgeableKind, reasons: readonly string[]): void => {
    if (reasons.length === 0) return;
    unjudgeable.push(kind);
    globalReasons.push(...reasons);
  };
  add('fault', (input.faults ?? []).map((fault) => `the request could not be judged: ${fault}`));
  add('unreadable', input.unreadable ?? []);
  if (input.requireBody && input.missingBody !== undefined) add('missing_body', [input.missingBody]);
  if (input.action === 'unknown' && !input.allowUnknownActions) add('unknown_action', [`${input.method ?? ''} ${input.path ?? ''} is not an API route this enforcer knows (AUTHZ_ALLOW_UNKNOWN)`]);

  const killReasons: string[] = [];
  const warnReasons: string[] = [];
  for (const judgement of input.judgements ?? []) {
    if (judgement.violations.length === 0) continue;
    (judgement.mode === 'KILL' ? killReasons : warnReasons).push(...reasonsOf(judgement));
  }
  for (const verdict of input.verdicts ?? []) {
    if (verdict.allow) continue;
    ((verdict.mode ?? input.mode) === 'KILL' ? killReasons : warnReasons).push(...verdict.reasons);
  }
  const globalDenies = globalReasons.length > 0 && input.mode === 'KILL';
  const reasons = unique([...globalReasons, ...killReasons, ...warnReasons]);
  if (globalDenies || killReasons.length > 0) {
    const denying = unique([...(globalDenies ? globalReasons : []), ...killReasons]);
    return { allow: false, label: 'deny', msg: denying.join(', '), reasons, unjudgeable };
  }
  if (reasons.length > 0) return { allow: true, label: 'warn', msg: reasons.join(', '), reasons, unjudgeable };
  return { allow: true, label: 'allow', reasons, unjudgeable };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
