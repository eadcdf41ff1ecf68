/**
 * ContainerName: every container the request creates or acts on must be named by one of the
 * regexes (an unnamed create counts as "", so a name pattern refuses it); none named -> passes.
 */
import type { CheckResult } from '../model';
import type { CheckDefinition } from './definition';
import { compileRegexList, unmatchedName, type RegexList } from './regex-list';

const MATCHED: CheckResult = { pass: true, reason: 'ContainerName: every name matches' };

export const containerName: CheckDefinition<RegexList> = {
  name: 'ContainerName',
  needs: ['containerNames'],
  argument: 'list',
  listOf: 'regular expressions',
  compile: compileRegexList,
  run: (list, facts) => {
    const unmatched = unmatchedName(list, facts.containerNames, facts.user);
    return unmatched === undefined ? MATCHED : { pass: false, reason: `ContainerName: ${unmatched}` };
  },
};
