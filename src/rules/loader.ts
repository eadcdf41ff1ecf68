import { readFile } from 'node:fs/promises';
import type { Mode } from './api';
import { CALLS_PER_JOB, RuleSandbox, type FunctionSetHandle, type SandboxFunction } from './sandbox';
import { RuleLoadError } from './rule-load-error';

export type RuleFileKind = 'rules' | 'whitelist_rules' | 'request_rules' | 'triggers';

/** What the judge knows of a rule (or whitelist rule): its function stays in the sandbox. */
export interface RuleEntry {
  readonly name: string;
  readonly mode: Mode | undefined;
  /** Position in its file's list (and in the sandbox's registered set of that file). */
  readonly index: number;
}

/** A rule (or whitelist rule, or trigger) as loaded inside the sandbox's thread. */
export interface LoadedRule extends RuleEntry {
  readonly fn: SandboxFunction;
}

/** What /rules shows about a file: what is actually running, not what is on disk now. */
export interface RuleFileInfo {
  readonly kind: RuleFileKind;
  readonly path: string;
  readonly present: boolean;
  readonly loadedAt: string;
  readonly source: string;
  readonly names: readonly string[];
}

export interface LoadedRuleFile {
  readonly rules: readonly LoadedRule[];
  /** The rules' functions registered in the sandbox (-1 when the file has none). */
  readonly handle: FunctionSetHandle;
  readonly info: RuleFileInfo;
}

interface FileSpec {
  readonly kind: RuleFileKind;
  /** The named export; a default export of the same array is accepted too. */
  readonly exportName: string;
  /** The function property of each entry. */
  readonly fnProperty: 'rule' | 'trigger';
  readonly hasMode: boolean;
}

export const FILE_SPECS: Readonly<Record<RuleFileKind, FileSpec>> = {
  rules: { kind: 'rules', exportName: 'rules', fnProperty: 'rule', hasMode: true },
  whitelist_rules: { kind: 'whitelist_rules', exportName: 'whitelistRules', fnProperty: 'rule', hasMode: false },
  request_rules: { kind: 'request_rules', exportName: 'requestRules', fnProperty: 'rule', hasMode: true },
  triggers: { kind: 'triggers', exportName: 'triggers', fnProperty: 'trigger', hasMode: false },
};

function pickExport(exported: unknown, spec: FileSpec, file: string): unknown {
  if (exported === null || typeof exported !== 'object') {
    throw new RuleLoadError(file, `exports nothing: expected \`export const ${spec.exportName} = [...]\``);
  }
  const record = exported as Record<string, unknown>;
  const value = record[spec.exportName] ?? record['default'];
  if (!Array.isArray(value)) {
    throw new RuleLoadError(file, `expected \`export const ${spec.exportName} = [...]\` (or a default export of that array), found ${describeValue(value)}`);
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'no such export';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}

function validateEntries(list: unknown[], spec: FileSpec, file: string, kindsOf: (fns: SandboxFunction[]) => string[]): LoadedRule[] {
  // The running call is reported to the main thread packed as job * CALLS_PER_JOB + entry.
  if (list.length >= CALLS_PER_JOB) throw new RuleLoadError(file, `${spec.exportName} has ${list.length} entries; at most ${CALLS_PER_JOB - 1} are supported`);
  const problems: string[] = [];
  const rules: LoadedRule[] = [];
  list.forEach((entry: unknown, index) => {
    const where = `${spec.exportName}[${index}]`;
    if (entry === null || typeof entry !== 'object') {
      problems.push(`${where} must be an object { name, ${spec.fnProperty} }`);
      return;
    }
    const { name, mode } = entry as { name?: unknown; mode?: unknown };
    const fn = (entry as Record<string, unknown>)[spec.fnProperty];
    if (typeof name !== 'string' || name.trim() === '') problems.push(`${where}.name must be a non-empty string`);
    if (typeof fn !== 'function') problems.push(`${where}.${spec.fnProperty} must be a function`);
    let parsedMode: Mode | undefined;
    if (spec.hasMode && mode !== undefined) {
      const upper = typeof mode === 'string' ? mode.toUpperCase() : '';
      if (upper === 'WARN' || upper === 'KILL') parsedMode = upper;
      else problems.push(`${where}.mode must be 'WARN' or 'KILL', found ${JSON.stringify(mode)}`);
    }
    if (typeof name === 'string' && typeof fn === 'function') {
      rules.push({ name: String(name), mode: parsedMode, fn: fn as SandboxFunction, index: rules.length });
    }
  });
  // Rules and whitelist rules answer synchronously: a promise is always truthy, and what an async
  // function does after its first await runs outside the call, where nothing bounds it.
  if (spec.fnProperty === 'rule' && rules.length > 0) {
    kindsOf(rules.map((rule) => rule.fn)).forEach((kind, i) => {
      if (kind !== '[object Function]') problems.push(`${spec.exportName}[${i}].${spec.fnProperty} is ${describeKind(kind)}: rules must return a boolean synchronously`);
    });
  }
  if (problems.length > 0) throw new RuleLoadError(file, problems.join('; '));
  return rules;
}

function describeKind(kind: string): string {
  if (kind.includes('AsyncGenerator')) return 'an async generator';
  if (kind.includes('Async')) return 'an async function';
  if (kind.includes('Generator')) return 'a generator';
  return `not a plain function (${kind})`;
}

/** A rule file read and transpiled, not yet run. */
export interface RuleSource {
  readonly kind: RuleFileKind;
  readonly path: string;
  readonly present: boolean;
  readonly loadedAt: string;
  readonly source: string;
  /** CommonJS, types erased ('' when the file is absent). */
  readonly code: string;
}

/** Reads and transpiles a rule file. A missing optional file is `present: false`; errors name the file. */
export async function readRuleSource(kind: RuleFileKind, file: string, required: boolean): Promise<RuleSource> {
  const loadedAt = new Date().toISOString();
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return { kind, path: file, present: false, loadedAt, source: '', code: '' };
    throw new RuleLoadError(file, code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`, { cause: err });
  }
  // Loaded on first use: typescript takes ~200 ms to load, and the worker threads that only run
  // rules (already transpiled) never need it.
  const { transpileRuleSource } = await import('./transpile');
  return { kind, path: file, present: true, loadedAt, source, code: transpileRuleSource(source, file) };
}

/** Runs a transpiled rule file in `sandbox`, validates its export and registers its functions. */
export function instantiateRules(sandbox: RuleSandbox, file: RuleSource): LoadedRuleFile {
  const info = (names: string[]): RuleFileInfo => ({ kind: file.kind, path: file.path, present: file.present, loadedAt: file.loadedAt, source: file.source, names });
  if (!file.present) return { rules: [], handle: -1, info: info([]) };
  const spec = FILE_SPECS[file.kind];
  let exported: unknown;
  try {
    exported = sandbox.loadModule(file.code, file.path);
  } catch (err: unknown) {
    const error = err as { name?: string; message?: string };
    throw new RuleLoadError(file.path, `failed while loading: ${error.name ?? 'Error'}: ${error.message ?? String(err)}`, { cause: err });
  }
  const rules = validateEntries(pickExport(exported, spec, file.path) as unknown[], spec, file.path, (fns) => sandbox.kindsOf(fns));
  const handle = rules.length > 0 ? sandbox.register(rules.map((r) => r.fn)) : -1;
  return { rules, handle, info: info(rules.map((r) => r.name)) };
}

/**
 * Reads, transpiles and runs one rule file in `sandbox`. A missing optional file yields no rules;
 * a missing required file, a syntax error, or a malformed export is a RuleLoadError naming the file.
 */
export async function loadRuleFile(sandbox: RuleSandbox, kind: RuleFileKind, file: string, required: boolean): Promise<LoadedRuleFile> {
  return instantiateRules(sandbox, await readRuleSource(kind, file, required));
}
