import { expect } from 'chai';
import { literalAsRegex, parseTemplate, renderRegexSource, renderText } from '../../../../../src/policies/leash/checks/user-template';

describe('leash $USER templates', () => {
  const CASES: ReadonlyArray<{ written: string; text: string; regex: string }> = [
    { written: '/home/$USER/', text: '/home/a.b/', regex: '/home/a\\.b/' },
    { written: '$USER-$USER', text: 'a.b-a.b', regex: 'a\\.b-a\\.b' },
    { written: "^'$USER-", text: '^$USER-', regex: '^\\$USER-' },
    { written: '^\\$USER-', text: '^$USER-', regex: '^\\$USER-' },
    { written: '^\\\\$USER-', text: '^\\\\a.b-', regex: '^\\\\a\\.b-' },
    { written: 'no placeholder', text: 'no placeholder', regex: 'no placeholder' },
    { written: '$USERS', text: 'a.bS', regex: 'a\\.bS' },
  ];

  for (const { written, text, regex } of CASES) {
    it(`renders ${JSON.stringify(written)} for user a.b`, () => {
      const template = parseTemplate(written);
      expect(renderText(template, 'a.b')).to.equal(text);
      expect(renderRegexSource(template, 'a.b')).to.equal(regex);
    });
  }

  it('knows whether a template names the caller', () => {
    expect(parseTemplate('^$USER-').hasUser).to.equal(true);
    expect(parseTemplate("^'$USER-").hasUser).to.equal(false);
  });

  it('turns a literal prefix into a regex, keeping $USER', () => {
    expect(literalAsRegex('a.b+$USER-')).to.equal('a\\.b\\+$USER\\-');
    expect(renderRegexSource(parseTemplate(literalAsRegex("x'$USER")), 'u')).to.equal('x\\$USER');
  });
});
