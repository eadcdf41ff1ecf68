/**
 * `docker-enforcer check`: type-checks every rule, whitelist, request-rule and trigger file against
 * the published rule-author types (resolving `import type … from 'docker-enforcer'` itself, wherever
 * the files live), then loads them in the sandbox as the daemon would. Like `opa -check`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import type { Config } from '../config';
import { readRuleSource, instantiateRules, type RuleFileInfo, type RuleFileKind } from '../rules/loader';
import { RuleSandbox } from '../rules/sandbox';
import { RuleLoadError } from '../rules/rule-load-error';
import { loadPolicies } from '../policies/loaded';
import { CIS_PACK, loadPacks } from '../policies/cis/packs-file';

/** Globals the sandbox gives rule code (no DOM, no Node): only `console`. */
const SANDBOX_GLOBALS_FILE = '/__docker-enforcer-sandbox-globals.d.ts';
const SANDBOX_GLOBALS = `declare var console: { log(...args: unknown[]): void; info(...args: unknown[]): void; warn(...args: unknown[]): void;
  error(...args: unknown[]): void; debug(...args: unknown[]): void; trace(...args: unknown[]): void };`;

export type CheckedFile = Pick<RuleFileInfo, 'path' | 'present' | 'names'> & { readonly kind: RuleFileInfo['kind'] | 'policies' | 'groups' | 'packs' };

export interface CheckResult {
  /** `file:line:col: message`, one per problem. */
  readonly problems: readonly string[];
  readonly files: readonly CheckedFile[];
}

/** The published types: dist/src/index.d.ts next to this file's compiled location. */
function publishedTypes(): string {
  return path.resolve(__dirname, '..', 'index.d.ts');
}

export function typeCheck(files: readonly string[]): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ['lib.es2022.d.ts'],
    types: [],
    skipLibCheck: true,
    paths: { 'docker-enforcer': [publishedTypes()] },
    ignoreDeprecations: '6.0',
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) =>
    name === SANDBOX_GLOBALS_FILE ? ts.createSourceFile(name, SANDBOX_GLOBALS, languageVersion) : getSourceFile(name, languageVersion, onError, shouldCreate);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === SANDBOX_GLOBALS_FILE || fileExists(name);
  const program = ts.createProgram({ rootNames: [...files, SANDBOX_GLOBALS_FILE], options, host });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName}:${line + 1}:${character + 1}: ${message}`;
  });
}

export async function checkRuleFiles(config: Config): Promise<CheckResult> {
  const wanted: Array<[RuleFileKind, string, boolean, readonly string[]]> = [
    ['rules', config.rulesPath, true, config.rulesAllowedModules],
    ['whitelist_rules', config.whitelistRulesPath, false, config.rulesAllowedModules],
    ['request_rules', config.requestRulesPath, false, config.rulesAllowedModules],
    ['triggers', config.triggersPath, false, config.triggersAllowedModules],
  ];
  const problems: string[] = [];
  const files: CheckedFile[] = [];
  const present = wanted.filter(([, file]) => existsSync(file)).map(([, file]) => file);
  problems.push(...typeCheck(present));
  for (const [kind, file, required, allowedModules] of wanted) {
    try {
      const source = await readRuleSource(kind, file, required);
      const loaded = instantiateRules(new RuleSandbox({ allowedModules, timeoutMs: config.ruleTimeoutMs }), source);
      files.push({ kind, path: file, present: source.present, names: loaded.rules.map((r) => r.name) });
    } catch (err: unknown) {
      if (!(err instanceof RuleLoadError)) throw err;
      // Syntax errors are already reported by the type-check with the same location.
      if (!problems.some((p) => p.startsWith(`${file}:`))) problems.push(err.message);
      files.push({ kind, path: file, present: existsSync(file), names: [] });
    }
  }
  const policies = await loadPolicies(config.policiesPath, config.groupsPath);
  problems.push(...policies.errors);
  const compiled = policies.policies?.config;
  files.push(
    { kind: 'policies', path: config.policiesPath, present: existsSync(config.policiesPath), names: compiled ? compiled.ruleSets.map((ruleSet) => ruleSet.name) : [] },
    { kind: 'groups', path: config.groupsPath, present: existsSync(config.groupsPath), names: compiled ? [...compiled.groups.keys()] : [] },
  );
  const packs = await loadPacks(config.packsPath);
  problems.push(...packs.errors);
  files.push({ kind: 'packs', path: config.packsPath, present: existsSync(config.packsPath), names: packs.packs?.cis ? [CIS_PACK] : [] });
  return { problems, files };
}
