/** Allow: always passes. */
import type { CheckResult } from '../model';
import { NO_ARGUMENTS, type CheckDefinition } from './definition';

const ALLOWED: CheckResult = { pass: true, reason: 'Allow: always allowed' };

export const allow: CheckDefinition<undefined> = {
  name: 'Allow',
  needs: [],
  argument: 'none',
  compile: () => NO_ARGUMENTS,
  run: () => ALLOWED,
};
