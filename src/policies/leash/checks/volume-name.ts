/**
 * VolumeName (leash documented it once as `VolumesName`): every volume the request creates, uses or
 * acts on must match one of the regexes; none named -> passes.
 */
import type { CheckResult } from '../model';
import type { CheckDefinition } from './definition';
import { compileRegexList, unmatchedName, type RegexList } from './regex-list';

const MATCHED: CheckResult = { pass: true, reason: 'VolumeName: every name matches' };

export const volumeName: CheckDefinition<RegexList> = {
  name: 'VolumeName',
  needs: [],
  argument: 'list',
  listOf: 'regular expressions',
  compile: compileRegexList,
  run: (list, facts) => {
    const unmatched = unmatchedName(list, facts.volumeNames, facts.user);
    return unmatched === undefined ? MATCHED : { pass: false, reason: `VolumeName: ${unmatched}` };
  },
};
