/**
 * One policy's `rules` (list format) or one named policy (older format): rule key -> checks,
 * validated and compiled, every problem reported where it is written.
 */
import { ACTION_ALIASES, ACTIONS, NAMESPACES } from '../../facts/routes';
import { CHECKS, CHECK_ALIASES, checkNamed, type CheckCompiler } from './checks';
import type { Compiled } from './checks/regex-list';
import { literalAsRegex } from './checks/user-template';
import { ANY_KEY, CHECK_NAMES, type Check, type RuleKey } from './model';
import { METHOD_ALIASES } from './route-table';
import { isEmpty, isMap, keyedEntries, textList, type Node, type Problems, type SourceFile, type YAMLMap } from './yaml-source';

export type PolicyFormat = 'list' | 'named';

/**
 * Rule keys beyond the route table's names:
 *  - `all` = `any`: leash's README examples and its workstation example write `all`.
 *  - older format only: `containersDelete` = `containersRemove` (the README's `restricted` example).
 */
const ANY_SYNONYMS = new Set([ANY_KEY, 'all']);
const LEGACY_ACTIONS: Readonly<Record<string, string>> = { containersDelete: 'containersRemove' };

/**
 * Older-format check names (leash README and docs/install/configuration.rst, 2018), mapped to the
 * documented ones:
 *  - `allow` -> Allow, `deny` -> Deny (the README's "Checks list" table)
 *  - `ReadWrite` -> Allow (the README's "Read only / write" example: the administrators' policy)
 *  - `pathCheck: [+path, -path]` -> BindMount with the same entries
 *  - `containerNameCheck: {startwith: [prefix, ...]}` -> ContainerName `^prefix` (prefix as literal text,
 *    `$USER` kept); `startwith` is the only sub-key leash ever documented.
 * The documented names are accepted in the older format too (its examples use Allow and ReadOnly).
 */
const LEGACY_CHECKS: Readonly<Record<string, string>> = { allow: 'Allow', deny: 'Deny', ReadWrite: 'Allow', pathCheck: 'BindMount' };
const LEGACY_CONTAINER_NAME = 'containerNameCheck';

const NAMESPACE_KEYS: ReadonlySet<string> = new Set(NAMESPACES);
const EXPECTED_KEYS = 'expected an action such as containersCreate, a namespace such as containers, or any';

function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The canonical key: an action (a plain alias resolved), a method alias kept, a namespace or `any`. */
export function canonicalKey(key: string, format: PolicyFormat): RuleKey | undefined {
  if (ANY_SYNONYMS.has(key)) return ANY_KEY;
  if (ACTIONS.has(key) || NAMESPACE_KEYS.has(key) || Object.hasOwn(METHOD_ALIASES, key)) return key;
  const alias = own(ACTION_ALIASES, key) ?? (format === 'named' ? own(LEGACY_ACTIONS, key) : undefined);
  return alias;
}

interface Context {
  readonly file: SourceFile;
  readonly problems: Problems;
  readonly format: PolicyFormat;
}

export function compileRules(map: YAMLMap, context: Context): Map<RuleKey, Check[]> {
  const { file, problems, format } = context;
  const rules = new Map<RuleKey, Check[]>();
  const writtenAs = new Map<RuleKey, string>();
  for (const { key, keyNode, value } of keyedEntries(file, map, problems)) {
    const canonical = canonicalKey(key, format);
    if (canonical === undefined) {
      problems.at(file, keyNode, `unknown action or namespace "${key}" (${EXPECTED_KEYS})`);
      compileChecks(key, keyNode, value, context); // for their own problems
      continue;
    }
    const earlier = writtenAs.get(canonical);
    if (earlier !== undefined) {
      problems.at(file, keyNode, `"${key}" names the same actions as "${earlier}"`);
      continue;
    }
    writtenAs.set(canonical, key);
    const checks = compileChecks(key, keyNode, value, context);
    if (checks) rules.set(canonical, checks);
  }
  return rules;
}

function compileChecks(key: string, keyNode: Node | null, value: Node | null, context: Context): Check[] | undefined {
  const { file, problems } = context;
  if (!isMap(value)) {
    problems.at(file, value ?? keyNode, `the checks under "${key}" must be a mapping (Check: arguments)`);
    return undefined;
  }
  const checks: Check[] = [];
  const seen = new Map<string, string>();
  const entries = keyedEntries(file, value, problems);
  if (entries.length === 0) problems.at(file, value, `no checks under "${key}"`);
  for (const entry of entries) {
    const check = compileCheck(entry.key, entry.keyNode, entry.value, context);
    if (check === undefined) continue;
    const earlier = seen.get(check.name);
    if (earlier !== undefined) problems.at(file, entry.keyNode, `"${entry.key}" repeats the check "${earlier}"`);
    seen.set(check.name, entry.key);
    checks.push(check);
  }
  return checks;
}

function compilerFor(name: string, format: PolicyFormat): CheckCompiler | undefined {
  const canonical = own(CHECK_ALIASES, name) ?? (format === 'named' ? own(LEGACY_CHECKS, name) : undefined) ?? name;
  return checkNamed(canonical);
}

function knownChecks(format: PolicyFormat): string {
  const names: string[] = [...CHECK_NAMES];
  if (format === 'named') names.push(...Object.keys(LEGACY_CHECKS), LEGACY_CONTAINER_NAME);
  return names.join(', ');
}

function compileCheck(name: string, nameNode: Node | null, value: Node | null, context: Context): Check | undefined {
  const { file, problems, format } = context;
  if (format === 'named' && name === LEGACY_CONTAINER_NAME) return compileLegacyContainerName(nameNode, value, context);
  const compiler = compilerFor(name, format);
  if (compiler === undefined) {
    problems.at(file, nameNode, `unknown check "${name}" (known: ${knownChecks(format)})`);
    return undefined;
  }
  if (compiler.argument === 'none') {
    if (!isEmpty(value)) {
      problems.at(file, value, `${compiler.name} takes no arguments`);
      return undefined;
    }
    return report(compiler.compile([]), [], value ?? nameNode, context);
  }
  const items = textList(file, value, problems);
  if (items === undefined || items.length === 0) {
    problems.at(file, value ?? nameNode, `${compiler.name} needs a list of ${compiler.listOf ?? 'entries'}`);
    return undefined;
  }
  return report(
    compiler.compile(items.map((i) => i.text)),
    items.map((i) => i.node),
    value,
    context,
  );
}

type Nodes = ReadonlyArray<Node | null>;

/** The check, or undefined after reporting each problem at its entry (or at the list). */
function report(compiled: Compiled<Check>, itemNodes: Nodes, listNode: Node | null, { file, problems }: Context): Check | undefined {
  if (compiled.ok) return compiled.value;
  for (const problem of compiled.problems) {
    problems.at(file, (problem.item === undefined ? undefined : itemNodes[problem.item]) ?? listNode, problem.message);
  }
  return undefined;
}

/** `containerNameCheck: {startwith: [foo, $USER-]}` -> ContainerName `^foo`, `^$USER-`. */
function compileLegacyContainerName(nameNode: Node | null, value: Node | null, context: Context): Check | undefined {
  const { file, problems } = context;
  const usage = `${LEGACY_CONTAINER_NAME} needs {startwith: [prefix, ...]}`;
  if (!isMap(value)) {
    problems.at(file, value ?? nameNode, usage);
    return undefined;
  }
  const prefixes: Array<{ text: string; node: Node | null }> = [];
  const before = problems.count;
  for (const entry of keyedEntries(file, value, problems)) {
    if (entry.key !== 'startwith') {
      problems.at(file, entry.keyNode, `${LEGACY_CONTAINER_NAME}: unknown key "${entry.key}" (leash documents only startwith)`);
      continue;
    }
    const items = textList(file, entry.value, problems);
    if (items === undefined || items.length === 0) problems.at(file, entry.value ?? entry.keyNode, usage);
    else prefixes.push(...items);
  }
  if (problems.count > before) return undefined;
  if (prefixes.length === 0) {
    problems.at(file, value, usage);
    return undefined;
  }
  return report(
    CHECKS.ContainerName.compile(prefixes.map((p) => `^${literalAsRegex(p.text)}`)),
    prefixes.map((p) => p.node),
    value,
    context,
  );
}
