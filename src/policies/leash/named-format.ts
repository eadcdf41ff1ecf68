/**
 * The older format of leash's README: policies.yml maps policy names to rules, groups.yml gives
 * each group its `policies` and `members`. (ours) It is read as one rule set for every host with
 * `default: Deny` (leash: "If no matching docker action is defined, the default is to deny"); each
 * (group, named policy) pair, in groups.yml order, becomes a policy whose only member is that group.
 * Old check names map to the documented ones (see rules.ts).
 */
import type { Check, Policy, PolicyConfig, RuleKey, RuleSet } from './model';
import { audienceOf } from './members';
import { buildRouteTable } from './route-table';
import { compileRules } from './rules';
import { isMap, keyedEntries, rootOf, textList, type FormatInput, type Node, type Problems, type SourceFile, type YAMLMap } from './yaml-source';

const GROUP_KEYS = ['policies', 'members'];

/** Matches every host name. */
const EVERY_HOST = /^/;

interface NamedGroup {
  readonly name: string;
  readonly members: readonly string[];
  readonly policies: ReadonlyArray<{ readonly name: string; readonly node: Node | null }>;
}

export function compileNamedFormat(root: YAMLMap, { policies: file, groups: groupsFile, groupsPath, problems }: FormatInput): PolicyConfig {
  const named = namedPolicies(file, root, problems);
  if (groupsFile === undefined) {
    problems.at(file, root, `named policies apply through groups.yml's "policies" lists, and there is no groups file ${groupsPath}`);
  }
  const declared = groupsFile === undefined ? [] : namedGroups(groupsFile, problems);
  const groups = new Map(declared.map((g) => [g.name, g.members] as const));
  const policies: Policy[] = [];
  for (const group of declared) {
    for (const { name, node } of group.policies) {
      if (!named.has(name)) {
        problems.at(groupsFile ?? file, node, `undefined policy "${name}" (${file.path} names ${[...named.keys()].join(', ')})`);
        continue;
      }
      const rules = named.get(name);
      if (rules === undefined) continue; // invalid, already reported
      const members = [group.name];
      policies.push({ index: policies.length + 1, name, members, audience: audienceOf(members, groups), rules });
    }
  }
  const ruleSet: RuleSet = {
    index: 1,
    name: 'rule set 1',
    hosts: { include: [EVERY_HOST], exclude: [] },
    default: 'Deny',
    policies,
    routes: buildRouteTable(policies),
  };
  return { ruleSets: [ruleSet], groups, format: 'named' };
}

/** Policy name -> rules; undefined for a policy whose problems were reported. */
function namedPolicies(file: SourceFile, root: YAMLMap, problems: Problems): Map<string, ReadonlyMap<RuleKey, readonly Check[]> | undefined> {
  const policies = new Map<string, ReadonlyMap<RuleKey, readonly Check[]> | undefined>();
  for (const { key, keyNode, value } of keyedEntries(file, root, problems)) {
    if (!isMap(value)) {
      problems.at(file, value ?? keyNode, `policy "${key}" must map actions, namespaces or any to checks`);
      policies.set(key, undefined);
      continue;
    }
    policies.set(key, compileRules(value, { file, problems, format: 'named' }));
  }
  return policies;
}

function namedGroups(file: SourceFile, problems: Problems): NamedGroup[] {
  const root = rootOf(file);
  if (root === null) return [];
  if (!isMap(root)) {
    problems.at(file, root, 'a groups file in the older format maps each group name to its policies and members');
    return [];
  }
  const groups: NamedGroup[] = [];
  for (const { key, keyNode, value } of keyedEntries(file, root, problems)) {
    if (!isMap(value)) {
      const why = 'the older format, as policies.yml is a mapping of named policies';
      problems.at(file, value ?? keyNode, `group "${key}" must be a mapping with policies and members (${why})`);
      continue;
    }
    const entries = keyedEntries(file, value, problems);
    for (const entry of entries) {
      if (GROUP_KEYS.includes(entry.key)) continue;
      problems.at(file, entry.keyNode, `unknown key "${entry.key}" in group "${key}" (expected ${GROUP_KEYS.join(', ')})`);
    }
    const list = (name: string): Array<{ text: string; node: Node | null }> => {
      const entry = entries.find((e) => e.key === name);
      const items = entry === undefined ? undefined : textList(file, entry.value, problems);
      if (items === undefined) problems.at(file, entry?.value ?? entry?.keyNode ?? value, `group "${key}" needs ${name}: a list`);
      return items ?? [];
    };
    const policies = list('policies').map(({ text, node }) => ({ name: text, node }));
    const members = list('members').map((m) => m.text);
    groups.push({ name: key, members, policies });
  }
  return groups;
}
