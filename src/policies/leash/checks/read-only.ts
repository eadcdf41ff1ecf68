/** ReadOnly: passes for the methods that read (GET, HEAD), as leash defines it. */
import type { CheckResult } from '../model';
import { NO_ARGUMENTS, type CheckDefinition } from './definition';

const READ: CheckResult = { pass: true, reason: 'ReadOnly: a read-only method' };

export function isReadOnlyMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

export const readOnly: CheckDefinition<undefined> = {
  name: 'ReadOnly',
  needs: [],
  argument: 'none',
  compile: () => NO_ARGUMENTS,
  run: (_args, facts) => (isReadOnlyMethod(facts.method) ? READ : { pass: false, reason: `ReadOnly: ${facts.method} is not a read-only method` }),
};
