/**
 * The documented format: policies.yml is a list of rule sets, groups.yml maps each group to its
 * user names.
 */
import { ANONYMOUS } from '../policy-facts';
import { anchored, regexError } from './checks/regex-list';
import { audienceOf, isKnownMember } from './members';
import type { HostPatterns, Policy, PolicyConfig, RuleSet, RuleSetDefault, RuleSetMode } from './model';
import { buildRouteTable } from './route-table';
import { compileRules } from './rules';
import {
  isEmpty,
  isMap,
  isSeq,
  itemsOf,
  keyedEntries,
  rootOf,
  textList,
  textOf,
  type Node,
  type Entry,
  type FormatInput,
  type Problems,
  type SourceFile,
  type YAMLMap,
  type YAMLSeq,
} from './yaml-source';

const RULE_SET_KEYS = ['description', 'hosts', 'default', 'mode', 'policies'];
const POLICY_KEYS = ['members', 'rules'];
const DEFAULTS: readonly RuleSetDefault[] = ['Allow', 'Deny', 'ReadOnly'];
const MODES: readonly RuleSetMode[] = ['WARN', 'KILL'];
const OLDER_FORMAT_GROUPS = 'groups with policies and members belong to the older format, whose policies.yml is a mapping of named policies';

export type Groups = ReadonlyMap<string, readonly string[]>;

interface Context {
  readonly file: SourceFile;
  readonly problems: Problems;
  readonly groups: Groups;
  /** Where the groups file was expected, when there is none (named in undefined-group errors). */
  readonly missingGroupsPath?: string;
}

/** groups.yml in the documented format: `group: [user, ...]`; no file or an empty one: no groups. */
export function readUserGroups(file: SourceFile | undefined, problems: Problems): Map<string, readonly string[]> {
  const groups = new Map<string, readonly string[]>();
  if (file === undefined) return groups;
  const root = rootOf(file);
  if (root === null) return groups;
  if (!isMap(root)) {
    problems.at(file, root, 'a groups file maps each group name to a list of user names');
    return groups;
  }
  for (const { key, keyNode, value } of keyedEntries(file, root, problems)) {
    if (isEmpty(value)) {
      groups.set(key, []);
      continue;
    }
    const users = textList(file, value, problems);
    if (users === undefined) {
      const hint = isMap(value) ? ` (${OLDER_FORMAT_GROUPS})` : '';
      problems.at(file, value ?? keyNode, `group "${key}" must be a list of user names${hint}`);
      continue;
    }
    groups.set(key, users.map((u) => u.text));
  }
  return groups;
}

export function compileListFormat(root: YAMLSeq, { policies: file, groups: groupsFile, groupsPath, problems }: FormatInput): PolicyConfig {
  const groups = readUserGroups(groupsFile, problems);
  const context: Context = { file, problems, groups, missingGroupsPath: groupsFile === undefined ? groupsPath : undefined };
  const ruleSets: RuleSet[] = [];
  itemsOf(file, root).forEach((node, i) => {
    const ruleSet = compileRuleSet(node ?? root, i + 1, context);
    if (ruleSet) ruleSets.push(ruleSet);
  });
  return { ruleSets, groups, format: 'list' };
}

type Field = Pick<Entry, 'keyNode' | 'value'>;

function field(entries: readonly Entry[], key: string): Field | undefined {
  return entries.find((e) => e.key === key);
}

function reportUnknownKeys(entries: readonly Entry[], known: readonly string[], what: string, context: Context): void {
  for (const { key, keyNode } of entries) {
    if (key === undefined || known.includes(key)) continue;
    context.problems.at(context.file, keyNode, `unknown key "${key}" in ${what} (expected ${known.join(', ')})`);
  }
}

function compileRuleSet(node: Node, index: number, context: Context): RuleSet | undefined {
  const { file, problems } = context;
  if (!isMap(node)) {
    problems.at(file, node, 'a rule set must be a mapping (description, hosts, default, policies)');
    return undefined;
  }
  const entries = keyedEntries(file, node, problems);
  reportUnknownKeys(entries, RULE_SET_KEYS, 'a rule set', context);
  const name = descriptionOf(field(entries, 'description'), context) ?? `rule set ${index}`;
  const hosts = hostPatternsOf(node, field(entries, 'hosts'), context);
  const fallback = oneOf(node, field(entries, 'default'), 'default', DEFAULTS, true, context);
  const mode = oneOf(node, field(entries, 'mode'), 'mode', MODES, false, context);
  const policies = policiesOf(field(entries, 'policies'), context);
  if (hosts === undefined || fallback === undefined || policies === undefined) return undefined;
  return { index, name, hosts, default: fallback, mode, policies, routes: buildRouteTable(policies) };
}

function descriptionOf(entry: { value: Node | null } | undefined, { file, problems }: Context): string | undefined {
  if (entry === undefined || isEmpty(entry.value)) return undefined;
  const text = textOf(entry.value);
  if (text === undefined) problems.at(file, entry.value, 'description must be text');
  return text;
}

function hostPatternsOf(ruleSet: YAMLMap, entry: Field | undefined, { file, problems }: Context): HostPatterns | undefined {
  const usage = 'hosts must be a list of "+regex" (include) / "-regex" (exclude) entries';
  if (entry === undefined) {
    problems.at(file, ruleSet, `a rule set needs hosts (${usage})`);
    return undefined;
  }
  const items = textList(file, entry.value, problems);
  if (items === undefined) {
    problems.at(file, entry.value ?? entry.keyNode, usage);
    return undefined;
  }
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  let valid = true;
  for (const { text, node } of items) {
    const sign = text[0];
    const source = text.slice(1);
    if (sign !== '+' && sign !== '-') {
      problems.at(file, node, `hosts entry "${text}" must start with + (include) or - (exclude)`);
      valid = false;
      continue;
    }
    const invalid = regexError(source);
    if (invalid !== undefined) {
      problems.at(file, node, `invalid regular expression "${source}": ${invalid}`);
      valid = false;
      continue;
    }
    (sign === '+' ? include : exclude).push(anchored(source));
  }
  return valid ? { include, exclude } : undefined;
}

function oneOf<T extends string>(
  ruleSet: YAMLMap,
  entry: Field | undefined,
  key: string,
  allowed: readonly T[],
  required: boolean,
  { file, problems }: Context,
): T | undefined {
  const expected = allowed.join(', ');
  if (entry === undefined) {
    if (required) problems.at(file, ruleSet, `a rule set needs a ${key} (${expected})`);
    return undefined;
  }
  const text = textOf(entry.value);
  const value = allowed.find((a) => a === text);
  const found = text === undefined ? '' : `, not "${text}"`;
  if (value === undefined) problems.at(file, entry.value ?? entry.keyNode, `${key} must be one of ${expected}${found}`);
  return value;
}

/** The rule set's policies; undefined when any is invalid (each problem reported). */
function policiesOf(entry: Field | undefined, context: Context): Policy[] | undefined {
  const { file, problems } = context;
  if (entry === undefined || isEmpty(entry.value)) return [];
  if (!isSeq(entry.value)) {
    problems.at(file, entry.value, 'policies must be a list of policies (members, rules)');
    return undefined;
  }
  const policies: Policy[] = [];
  let valid = true;
  itemsOf(file, entry.value).forEach((node, i) => {
    const policy = compilePolicy(node ?? entry.value, i + 1, context);
    if (policy) policies.push(policy);
    else valid = false;
  });
  return valid ? policies : undefined;
}

function compilePolicy(node: Node | null, index: number, context: Context): Policy | undefined {
  const { file, problems } = context;
  if (!isMap(node)) {
    problems.at(file, node, 'a policy must be a mapping with members and rules');
    return undefined;
  }
  const entries = keyedEntries(file, node, problems);
  reportUnknownKeys(entries, POLICY_KEYS, 'a policy', context);
  const before = problems.count;
  const members = membersOf(node, field(entries, 'members'), context);
  const rulesEntry = field(entries, 'rules');
  if (rulesEntry === undefined || !isMap(rulesEntry.value)) {
    const at = rulesEntry?.value ?? rulesEntry?.keyNode ?? node;
    problems.at(file, at, 'a policy needs rules: a mapping from actions, namespaces or any to checks');
    return undefined;
  }
  const rules = compileRules(rulesEntry.value, { file, problems, format: 'list' });
  if (members === undefined || problems.count > before) return undefined;
  return { index, members, audience: audienceOf(members, context.groups), rules };
}

function membersOf(policy: YAMLMap, entry: Field | undefined, context: Context): string[] | undefined {
  const { file, problems, groups, missingGroupsPath } = context;
  const usage = 'members must be a list of groups';
  if (entry === undefined) {
    problems.at(file, policy, `a policy needs members (${usage})`);
    return undefined;
  }
  const items = textList(file, entry.value, problems);
  if (items === undefined || items.length === 0) {
    problems.at(file, entry.value ?? entry.keyNode, `${usage}, at least one`);
    return undefined;
  }
  let valid = true;
  for (const { text, node } of items) {
    if (isKnownMember(text, groups)) continue;
    const hint = missingGroupsPath === undefined ? '' : ` (there is no groups file ${missingGroupsPath}; only "*" and "${ANONYMOUS}" need none)`;
    problems.at(file, node, `undefined group "${text}"${hint}`);
    valid = false;
  }
  return valid ? items.map((i) => i.text) : undefined;
}
