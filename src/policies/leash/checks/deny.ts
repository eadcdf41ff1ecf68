/** Deny: never passes. */
import type { CheckResult } from '../model';
import { NO_ARGUMENTS, type CheckDefinition } from './definition';

const DENIED: CheckResult = { pass: false, reason: 'Deny: always denied' };

export const deny: CheckDefinition<undefined> = {
  name: 'Deny',
  needs: [],
  argument: 'none',
  compile: () => NO_ARGUMENTS,
  run: () => DENIED,
};
