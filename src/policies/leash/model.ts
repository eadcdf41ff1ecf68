/**
 * docker-leash policies once loaded: every regex, `$USER` template and per-action lookup is built
 * at load, so judging a request is lookups and regex tests only. Indexes are 1-based, as the
 * reasons an admin reads name them (`rule set 2`, `policy 3`).
 */
import type { LookupFact, PolicyFacts } from '../policy-facts';
import type { BindMountRules } from './checks/bind-mount';
import type { RegexList } from './checks/regex-list';
import type { UserRules } from './checks/user';

export type CheckName = 'Allow' | 'Deny' | 'ReadOnly' | 'BindMount' | 'ContainerName' | 'ImageName' | 'VolumeName' | 'Privileged' | 'User';

export const CHECK_NAMES: readonly CheckName[] = [
  'Allow',
  'Deny',
  'ReadOnly',
  'BindMount',
  'ContainerName',
  'ImageName',
  'VolumeName',
  'Privileged',
  'User',
];

export function isCheckName(name: string): name is CheckName {
  return (CHECK_NAMES as readonly string[]).includes(name);
}

export interface CheckResult {
  readonly pass: boolean;
  /** `NAME: why`, e.g. `BindMount: /etc is not under an allowed path`. */
  readonly reason: string;
}

/** A check's compiled arguments: nothing, regexes (ContainerName, ImageName, VolumeName), bind rules or run-as-user rules. */
export type CheckArgs = undefined | RegexList | BindMountRules | UserRules;

export interface Check {
  readonly name: CheckName;
  readonly args: CheckArgs;
  /** Facts the check reads that the caller has to fetch (see `neededLookups`). */
  readonly needs: readonly LookupFact[];
  /** The check on `args`, bound at load. */
  readonly run: (facts: PolicyFacts) => CheckResult;
}

/** What a rule key names: a leash action, a namespace of actions, or `any`. */
export type RuleKey = string;
export const ANY_KEY = 'any';

/** Who a policy applies to, resolved from its member groups at load. */
export interface Audience {
  /** A member group lists `*` (or `*` is a member): every caller, Anonymous included. */
  readonly everyone: boolean;
  readonly users: ReadonlySet<string>;
}

export interface Policy {
  readonly index: number;
  /** The named policy this one came from (older format only). */
  readonly name?: string;
  /** Group names as written (plus the reserved `*` and `Anonymous`, see load.ts). */
  readonly members: readonly string[];
  readonly audience: Audience;
  /** Rule key (canonical action, leash archive alias, namespace or `any`) -> checks, in file order. */
  readonly rules: ReadonlyMap<RuleKey, readonly Check[]>;
}

/** A policy's checks for one action: those under its most specific key present. */
export interface PolicyRule {
  readonly policy: Policy;
  readonly key: RuleKey;
  readonly checks: readonly Check[];
  readonly needs: readonly LookupFact[];
}

/** Per action (and per namespace for actions outside the route table), the rules of every policy of a rule set. */
export interface RouteTable {
  /** Canonical action, or `action METHOD` for actions leash split by method -> rules in policy order. */
  readonly byRoute: ReadonlyMap<string, readonly PolicyRule[]>;
  readonly byNamespace: ReadonlyMap<string, readonly PolicyRule[]>;
  /** For anything else: the policies' `any` rules. */
  readonly otherwise: readonly PolicyRule[];
}

export type RuleSetDefault = 'Allow' | 'Deny' | 'ReadOnly';
export type RuleSetMode = 'WARN' | 'KILL';

export interface HostPatterns {
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
}

export interface RuleSet {
  readonly index: number;
  /** Its description, or `rule set N`. */
  readonly name: string;
  readonly hosts: HostPatterns;
  readonly default: RuleSetDefault;
  /** (ours) `mode: WARN` reports denials of this rule set without enforcing them; unset: the caller's mode. */
  readonly mode?: RuleSetMode;
  readonly policies: readonly Policy[];
  readonly routes: RouteTable;
}

export interface PolicyConfig {
  readonly ruleSets: readonly RuleSet[];
  /** Group -> user names (`*` = everyone, `Anonymous` = the caller without a TLS identity). */
  readonly groups: ReadonlyMap<string, readonly string[]>;
  /** `list`: the documented list of rule sets; `named`: the older README format (named policies). */
  readonly format: 'list' | 'named';
}
