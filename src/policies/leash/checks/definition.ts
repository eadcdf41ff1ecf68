/** What every check module exports: how its arguments are written and compiled, and the check itself. */
import type { LookupFact, PolicyFacts } from '../../policy-facts';
import type { CheckArgs, CheckName, CheckResult } from '../model';
import type { Compiled } from './regex-list';

export interface CheckDefinition<A extends CheckArgs> {
  readonly name: CheckName;
  /** Facts the check reads beyond the request itself. */
  readonly needs: readonly LookupFact[];
  /** `none`: written `Check:` alone; `list`: `Check: [text, ...]`, at least one entry. */
  readonly argument: 'none' | 'list';
  /** What the list holds, for messages (`regular expressions`). */
  readonly listOf?: string;
  compile(items: readonly string[]): Compiled<A>;
  run(args: A, facts: PolicyFacts): CheckResult;
}

export const NO_ARGUMENTS: Compiled<undefined> = { ok: true, value: undefined };
