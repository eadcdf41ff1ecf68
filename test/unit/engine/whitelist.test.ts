import { expect } from 'chai';
import { isGloballyWhitelisted, isWhitelistedForRule, parseWhitelist } from '../../../src/engine/whitelist';

describe('whitelist', () => {
  it('anchors every entry: the whole name must match', () => {
    const { whitelist } = parseWhitelist(['docker-enforcer', 'testing_.*']);
    expect(isGloballyWhitelisted(whitelist, 'docker-enforcer')).to.equal(true);
    expect(isGloballyWhitelisted(whitelist, 'my-docker-enforcer')).to.equal(false);
    expect(isGloballyWhitelisted(whitelist, 'docker-enforcer-2')).to.equal(false);
    expect(isGloballyWhitelisted(whitelist, 'testing_vro')).to.equal(true);
  });

  it('splits REGEX|rule name at the first | and applies it to that rule only', () => {
    const { whitelist } = parseWhitelist(['busy.*|must have CPU limit', 'x|a|b']);
    expect(isGloballyWhitelisted(whitelist, 'busybox')).to.equal(false);
    expect(isWhitelistedForRule(whitelist, 'busybox', 'must have CPU limit')).to.equal(true);
    expect(isWhitelistedForRule(whitelist, 'busybox', 'other rule')).to.equal(false);
    expect(isWhitelistedForRule(whitelist, 'x', 'a|b')).to.equal(true);
  });

  it('reports invalid regexes by entry', () => {
    const { errors } = parseWhitelist(['ok', '(unclosed|rule']);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include('"(unclosed|rule"');
  });
});
