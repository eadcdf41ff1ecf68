/** Privileged: passes unless the request asks for a privileged container (or exec process). */
import type { CheckResult } from '../model';
import { NO_ARGUMENTS, type CheckDefinition } from './definition';

const NOT_PRIVILEGED: CheckResult = { pass: true, reason: 'Privileged: not privileged' };
const PRIVILEGED_CONTAINER: CheckResult = { pass: false, reason: 'Privileged: the request asks for a privileged container' };
const PRIVILEGED_EXEC: CheckResult = { pass: false, reason: 'Privileged: the request asks for a privileged exec process' };

export const privileged: CheckDefinition<undefined> = {
  name: 'Privileged',
  needs: [],
  argument: 'none',
  compile: () => NO_ARGUMENTS,
  run: (_args, facts) => {
    if (!facts.privileged) return NOT_PRIVILEGED;
    return facts.namespace === 'exec' ? PRIVILEGED_EXEC : PRIVILEGED_CONTAINER;
  },
};
