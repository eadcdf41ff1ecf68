/**
 * policies.yml + groups.yml -> PolicyConfig, or every problem of both files at once, each as
 * `file:line:col: message`. The format follows the shape of policies.yml: a list is the documented
 * list of rule sets, a mapping the older README format of named policies.
 *
 * Which files exist:
 *  - neither: no policies (`config` undefined);
 *  - policies.yml alone: fine when no policy names a group (`*` and `Anonymous` need no groups file,
 *    see members.ts); in the older format an error, since its policies apply only through groups;
 *  - groups.yml alone: an error (groups that nothing uses are a mistake, most likely a missing file).
 * Syntax errors come first: the shape of a file that does not parse is not judged.
 */
import { readFile } from 'node:fs/promises';
import { compileListFormat } from './list-format';
import type { PolicyConfig } from './model';
import { compileNamedFormat } from './named-format';
import { isMap, isSeq, parseSource, Problems, rootOf, type FormatInput } from './yaml-source';

export interface PolicyFileText {
  readonly path: string;
  /** undefined: the file does not exist. */
  readonly text: string | undefined;
}

export interface PolicyTexts {
  readonly policies: PolicyFileText;
  readonly groups: PolicyFileText;
}

/** The policies (undefined: neither file exists), or every problem as `file:line:col: message`. */
export type LoadResult =
  | { readonly config: PolicyConfig | undefined; readonly errors?: undefined }
  | { readonly config?: undefined; readonly errors: readonly string[] };

export function parsePolicyTexts({ policies, groups }: PolicyTexts): LoadResult {
  if (policies.text === undefined && groups.text === undefined) return { config: undefined };
  const problems = new Problems([policies.path, groups.path]);
  const policiesFile = policies.text === undefined ? undefined : parseSource(policies.path, policies.text, problems);
  const groupsFile = groups.text === undefined ? undefined : parseSource(groups.path, groups.text, problems);
  if (policies.text === undefined) {
    problems.atOffset(groups.path, undefined, undefined, `a groups file without a policies file (${policies.path} does not exist)`);
  }
  if (problems.count > 0 || policiesFile === undefined) return { errors: problems.texts() };
  const config = compile({ policies: policiesFile, groups: groupsFile, groupsPath: groups.path, problems });
  return problems.count > 0 || config === undefined ? { errors: problems.texts() } : { config };
}

function compile(input: FormatInput): PolicyConfig | undefined {
  const root = rootOf(input.policies);
  if (isSeq(root)) return compileListFormat(root, input);
  if (isMap(root)) return compileNamedFormat(root, input);
  const found = root === null ? 'an empty file' : 'a single value';
  input.problems.at(input.policies, root, `expected a list of rule sets (or, in the older format, a mapping of named policies), found ${found}`);
  return undefined;
}

/** The file's text, undefined when it does not exist; other read failures are problems. */
async function readOptional(path: string, problems: Problems): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    problems.atOffset(path, undefined, undefined, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

export async function loadPolicyFiles(policiesPath: string, groupsPath: string): Promise<LoadResult> {
  const problems = new Problems([policiesPath, groupsPath]);
  const [policies, groups] = await Promise.all([readOptional(policiesPath, problems), readOptional(groupsPath, problems)]);
  if (problems.count > 0) return { errors: problems.texts() };
  return parsePolicyTexts({ policies: { path: policiesPath, text: policies }, groups: { path: groupsPath, text: groups } });
}
