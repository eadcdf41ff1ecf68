import { expect } from 'chai';
import { CHECKS } from '../../../../../src/policies/leash/checks';
import { compiledCheck, facts } from '../helpers';

interface Case {
  readonly regexes: readonly string[];
  readonly runAs: string | undefined;
  readonly pass: boolean;
  readonly why: string;
}

const OWN_OR_NOBODY = ['^nobody$', '^$USER$'];
const SIGNED = ['+^$USER$', '+^someone$', '-^root$'];

const CASES: readonly Case[] = [
  { regexes: OWN_OR_NOBODY, runAs: 'alice', pass: true, why: 'runs as the caller' },
  { regexes: OWN_OR_NOBODY, runAs: 'nobody', pass: true, why: 'runs as nobody' },
  { regexes: OWN_OR_NOBODY, runAs: 'bob', pass: false, why: 'runs as another user' },
  { regexes: OWN_OR_NOBODY, runAs: undefined, pass: true, why: 'no run-as user (not a create)' },
  { regexes: OWN_OR_NOBODY, runAs: '', pass: false, why: "'' is root (the image sets no user)" },
  { regexes: ['^root$'], runAs: '', pass: true, why: "'' is matched as root" },
  { regexes: OWN_OR_NOBODY, runAs: 'alice:staff', pass: false, why: 'user:group is matched as written' },
  { regexes: SIGNED, runAs: 'alice', pass: true, why: 'a + entry matches' },
  { regexes: SIGNED, runAs: 'someone', pass: true, why: 'another + entry matches' },
  { regexes: SIGNED, runAs: 'root', pass: false, why: 'a - entry matches' },
  { regexes: SIGNED, runAs: 'bob', pass: false, why: 'no + entry matches' },
  { regexes: ['+.*', '-^root$'], runAs: 'root', pass: false, why: 'a matching - entry outweighs a matching + entry' },
  { regexes: ['-^root$', '-^0(:|$)'], runAs: 'bob', pass: true, why: 'with - entries only, the rest passes' },
  { regexes: ['-^root$', '-^0(:|$)'], runAs: '0:0', pass: false, why: 'uid 0 denied by its own entry' },
];

describe('leash User', () => {
  for (const { regexes, runAs, pass, why } of CASES) {
    it(`${JSON.stringify(regexes)} ${pass ? 'passes' : 'fails'} run-as ${JSON.stringify(runAs)}: ${why}`, () => {
      expect(compiledCheck('User', regexes).run(facts({ action: 'containersCreate', runAsUser: runAs })).pass).to.equal(pass);
    });
  }

  it('explains a refusal', () => {
    expect(compiledCheck('User', OWN_OR_NOBODY).run(facts({ runAsUser: 'bob' })).reason).to.equal('User: "bob" matches none of ^nobody$, ^alice$');
    expect(compiledCheck('User', SIGNED).run(facts({ runAsUser: '' })).reason).to.equal('User: "root" matches a denied user (^root$)');
  });

  it('reports an invalid regex at its item, signed or not', () => {
    expect(CHECKS.User.compile(['+^ok$', '-(', '['])).to.deep.equal({
      ok: false,
      problems: [
        { item: 1, message: 'invalid regular expression "(": Unterminated group' },
        { item: 2, message: 'invalid regular expression "[": Unterminated character class' },
      ],
    });
  });
});
