import { expect } from 'chai';
import { CHECKS } from '../../../../../src/policies/leash/checks';
import type { PolicyFacts } from '../../../../../src/policies/policy-facts';
import { compiledCheck, facts } from '../helpers';

type NameCheck = 'ContainerName' | 'ImageName' | 'VolumeName';
const FIELDS: Record<NameCheck, 'containerNames' | 'imageNames' | 'volumeNames'> = {
  ContainerName: 'containerNames',
  ImageName: 'imageNames',
  VolumeName: 'volumeNames',
};

interface Case {
  readonly regexes: readonly string[];
  readonly names: readonly string[];
  readonly pass: boolean;
  readonly user?: string;
  readonly why: string;
}

const CASES: readonly Case[] = [
  { regexes: ['^$USER-'], names: ['alice-web'], pass: true, why: '$USER is the caller' },
  { regexes: ['^$USER-'], names: ['bob-web'], pass: false, why: "another user's name" },
  { regexes: ['^$USER-'], names: ['bob-web'], user: 'bob', pass: true, why: 'the same regex for bob' },
  { regexes: ['^foo-', '^bar-'], names: ['bar-1'], pass: true, why: 'one regex of the list is enough' },
  { regexes: ['^foo-'], names: ['foo-1', 'baz'], pass: false, why: 'every name must match' },
  { regexes: ['^foo-'], names: [], pass: true, why: 'no name: nothing to restrict' },
  { regexes: ['web'], names: ['web-1'], pass: true, why: 'a regex matches from the start' },
  { regexes: ['web'], names: ['myweb'], pass: false, why: '... and only from the start, as leash’s re.match' },
  { regexes: ['.*web$'], names: ['myweb'], pass: true, why: '.* to match anywhere' },
  { regexes: ['^$USER$'], names: ['a.b'], user: 'a.b', pass: true, why: 'the user name is a literal' },
  { regexes: ['^$USER$'], names: ['axb'], user: 'a.b', pass: false, why: '. in the user name is not a wildcard' },
  { regexes: ["^'$USER-"], names: ['$USER-x'], pass: true, why: "'$USER is the literal text" },
  { regexes: ["^'$USER-"], names: ['alice-x'], pass: false, why: "'$USER is not the caller" },
  { regexes: ['^a|^b'], names: ['xb'], pass: false, why: 'alternatives are anchored as a whole' },
];

describe('leash name checks', () => {
  for (const check of Object.keys(FIELDS) as NameCheck[]) {
    describe(check, () => {
      for (const { regexes, names, pass, user, why } of CASES) {
        it(`${JSON.stringify(regexes)} ${pass ? 'passes' : 'fails'} ${JSON.stringify(names)}: ${why}`, () => {
          const request: Partial<PolicyFacts> = { [FIELDS[check]]: names, user: user ?? 'alice' };
          expect(compiledCheck(check, regexes).run(facts(request)).pass).to.equal(pass);
        });
      }

      it('says which name matched none of the regexes, as rendered for the caller', () => {
        const result = compiledCheck(check, ['^$USER-', '^shared-']).run(facts({ [FIELDS[check]]: ['alice-ok', 'bob-web'] }));
        expect(result).to.deep.equal({ pass: false, reason: `${check}: "bob-web" matches none of ^alice-, ^shared-` });
      });
    });
  }

  it('ContainerName refuses an unnamed create (its name is "") when names are restricted', () => {
    const result = compiledCheck('ContainerName', ['^$USER-']).run(facts({ action: 'containersCreate', containerNames: [''] }));
    expect(result).to.deep.equal({ pass: false, reason: 'ContainerName: "" matches none of ^alice-' });
  });

  it('reports every invalid regex by item, with $USER rendered for validation', () => {
    expect(CHECKS.ImageName.compile(['^ok', '(unclosed', '^$USER[', '^fine$'])).to.deep.equal({
      ok: false,
      problems: [
        { item: 1, message: 'invalid regular expression "(unclosed": Unterminated group' },
        { item: 2, message: 'invalid regular expression "^$USER[": Unterminated character class' },
      ],
    });
  });
});
