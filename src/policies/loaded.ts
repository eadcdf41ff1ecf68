/** docker-leash policy files as the daemon holds them: the compiled config plus what /policies shows. */
import { readFile } from 'node:fs/promises';
import { parsePolicyTexts } from './leash/load';
import type { PolicyConfig } from './leash/model';

export interface PolicyFileInfo {
  readonly kind: 'policies' | 'groups';
  readonly path: string;
  readonly present: boolean;
  readonly loadedAt: string;
  readonly source: string;
}

export interface LoadedPolicies {
  readonly config: PolicyConfig;
  readonly files: readonly PolicyFileInfo[];
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw Object.assign(new Error(`cannot read: ${(err as Error).message}`), { file });
  }
}

/**
 * Reads and compiles both files. Both absent: no policies (undefined). Otherwise every problem at
 * once, each `file:line:col: message`.
 */
export async function loadPolicies(policiesPath: string, groupsPath: string): Promise<{ policies?: LoadedPolicies; errors: string[] }> {
  const loadedAt = new Date().toISOString();
  const texts: Array<string | undefined> = [];
  const errors: string[] = [];
  for (const file of [policiesPath, groupsPath]) {
    try {
      texts.push(await readIfPresent(file));
    } catch (err: unknown) {
      errors.push(`${file}: ${(err as Error).message}`);
      texts.push(undefined);
    }
  }
  if (errors.length > 0) return { errors };
  const [policiesText, groupsText] = texts;
  const result = parsePolicyTexts({ policies: { path: policiesPath, text: policiesText }, groups: { path: groupsPath, text: groupsText } });
  if (result.errors) return { errors: [...result.errors] };
  if (!result.config) return { errors: [] };
  const files: PolicyFileInfo[] = [
    { kind: 'policies', path: policiesPath, present: policiesText !== undefined, loadedAt, source: policiesText ?? '' },
    { kind: 'groups', path: groupsPath, present: groupsText !== undefined, loadedAt, source: groupsText ?? '' },
  ];
  return { policies: { config: result.config, files }, errors: [] };
}
