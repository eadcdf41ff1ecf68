/**
 * ImageName: every image reference the request names must match one of the regexes; none named
 * (prune included, which leash did not restrict) -> passes.
 */
import type { CheckResult } from '../model';
import type { CheckDefinition } from './definition';
import { compileRegexList, unmatchedName, type RegexList } from './regex-list';

const MATCHED: CheckResult = { pass: true, reason: 'ImageName: every name matches' };

export const imageName: CheckDefinition<RegexList> = {
  name: 'ImageName',
  needs: [],
  argument: 'list',
  listOf: 'regular expressions',
  compile: compileRegexList,
  run: (list, facts) => {
    const unmatched = unmatchedName(list, facts.imageNames, facts.user);
    return unmatched === undefined ? MATCHED : { pass: false, reason: `ImageName: ${unmatched}` };
  },
};
