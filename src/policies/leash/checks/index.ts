/**
 * The checks leash documents, by name: what each reads, how its arguments are written, how they
 * compile, and the check bound to them.
 */
import type { LookupFact } from '../../policy-facts';
import { isCheckName, type Check, type CheckArgs, type CheckName } from '../model';
import { allow } from './allow';
import { bindMount } from './bind-mount';
import { containerName } from './container-name';
import type { CheckDefinition } from './definition';
import { deny } from './deny';
import { imageName } from './image-name';
import { privileged } from './privileged';
import { readOnly } from './read-only';
import type { Compiled } from './regex-list';
import { user } from './user';
import { volumeName } from './volume-name';

export interface CheckCompiler {
  readonly name: CheckName;
  readonly needs: readonly LookupFact[];
  readonly argument: 'none' | 'list';
  readonly listOf?: string;
  /** `items`: the list argument's entries ([] for a check without arguments). */
  compile(items: readonly string[]): Compiled<Check>;
}

function register<A extends CheckArgs>(definition: CheckDefinition<A>): CheckCompiler {
  const { name, needs, argument, listOf } = definition;
  return {
    name,
    needs,
    argument,
    listOf,
    compile(items) {
      const compiled = definition.compile(items);
      if (!compiled.ok) return compiled;
      const args = compiled.value;
      return { ok: true, value: { name, args, needs, run: (facts) => definition.run(args, facts) } };
    },
  };
}

export const CHECKS: Readonly<Record<CheckName, CheckCompiler>> = {
  Allow: register(allow),
  Deny: register(deny),
  ReadOnly: register(readOnly),
  BindMount: register(bindMount),
  ContainerName: register(containerName),
  ImageName: register(imageName),
  VolumeName: register(volumeName),
  Privileged: register(privileged),
  User: register(user),
};

/** The check a file names (documented spelling), if any. */
export function checkNamed(name: string): CheckCompiler | undefined {
  return isCheckName(name) ? CHECKS[name] : undefined;
}

/**
 * Spellings leash used in its own docs and code, accepted in both formats: `BindMounts` (its check
 * class and the workstation example), `VolumesName` (the VolumeName page's example).
 */
export const CHECK_ALIASES: Readonly<Record<string, CheckName>> = {
  BindMounts: 'BindMount',
  VolumesName: 'VolumeName',
};
