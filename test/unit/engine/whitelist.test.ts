import { expect } from 'chai';
import { isGloballyWhitelisted, isImageGloballyWhitelisted, isImageWhitelistedForRule, isWhitelistedForRule, parseWhitelist } from '../../../src/engine/whitelist';

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const DIGEST = `sha256:${HEX}`;

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

  describe('IMAGE_WHITE_LIST compares image references as Docker normalises them', () => {
    const table: Array<[entry: string, image: string, spared: boolean]> = [
      // An entry without tag or digest spares the whole repository, however it is spelled.
      ['busybox', 'busybox', true],
      ['busybox', 'busybox:latest', true],
      ['busybox', 'busybox:1.36', true],
      ['busybox', 'docker.io/library/busybox:latest', true],
      ['busybox', 'index.docker.io/library/busybox', true],
      ['busybox', 'registry-1.docker.io/library/busybox:1.36', true],
      ['busybox', `busybox@${DIGEST}`, true],
      ['busybox', 'busybox2', false],
      ['busybox', 'user/busybox', false],
      ['busybox', 'registry.example.com/busybox', false],
      ['docker.io/library/busybox', 'busybox:1.36', true],
      ['index.docker.io/library/busybox', 'docker.io/busybox', true],
      // An entry with a tag or digest spares that exact image only.
      ['busybox:latest', 'busybox', true],
      ['docker.io/library/busybox:latest', 'busybox', true],
      ['docker.io/library/busybox:latest', 'index.docker.io/library/busybox', true],
      ['busybox:latest', 'busybox:1.36', false],
      ['busybox:1.36', 'docker.io/library/busybox:1.36', true],
      ['busybox:1.36', 'busybox', false],
      [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`, true],
      [`busybox@${DIGEST}`, 'busybox', false],
      [`busybox@${DIGEST}`, `busybox:1.36@${DIGEST}`, false],
      // Registries: a port is not a tag; a Hub namespace is not a registry.
      ['localhost:5000/app', 'localhost:5000/app:1.0', true],
      ['localhost:5000/app', 'localhost/app', false],
      ['localhost:5000/app:1.0', 'localhost:5000/app', false],
      ['user/app', 'docker.io/user/app:2', true],
      ['registry.example.com/ops/app', 'registry.example.com/ops/app:3', true],
      ['[::1]:5000/app', '[::1]:5000/app:1', true],
      ['[::1]:5000/app', '1:5000/app', false],
      // A reference entry is not also a regex: its '.' no longer spares another registry's image.
      ['registry.example.com/app', 'registryXexample.com/app', false],
      ['registry.example.com/app', 'registry-example.com/app', false],
      // An image id is never taken for the repository Docker would read it as.
      ['sha256', DIGEST, false],
      ['sha256', 'sha256', true],
      // Entries that are image ids or do not parse keep the regex (text) match.
      [DIGEST, DIGEST, true],
      [HEX, HEX, true],
      ['busy.*', 'busybox:1.36', true],
      ['busy.*', 'docker.io/library/busybox', false],
      ['trusted/.*', 'trusted/app:1', true],
      ['UNDEFINED', 'UNDEFINED', true],
      ['busybox:1\\.36', 'busybox:1.36', true],
      // A container image that does not parse is only matched by regex entries.
      ['busybox', 'BusyBox', false],
      ['busybox', '', false],
    ];
    for (const [entry, image, spared] of table) {
      it(`${entry} ${spared ? 'spares' : 'does not spare'} ${image || '(no image)'}`, () => {
        const { whitelist, errors } = parseWhitelist([entry, `${entry}|must have CPU limit`]);
        expect(errors).to.deep.equal([]);
        expect(isImageGloballyWhitelisted(whitelist, image)).to.equal(spared);
        expect(isImageWhitelistedForRule(whitelist, image, 'must have CPU limit')).to.equal(spared);
        expect(isImageWhitelistedForRule(whitelist, image, 'other rule')).to.equal(false);
      });
    }

    it('leaves WHITE_LIST (container names) a plain regex match', () => {
      const { whitelist } = parseWhitelist(['web.1', 'db|must have CPU limit']);
      expect(isGloballyWhitelisted(whitelist, 'web.1')).to.equal(true);
      expect(isGloballyWhitelisted(whitelist, 'web_1')).to.equal(true);
      expect(isGloballyWhitelisted(whitelist, 'web.1:latest')).to.equal(false);
      expect(isWhitelistedForRule(whitelist, 'db', 'must have CPU limit')).to.equal(true);
      expect(isWhitelistedForRule(whitelist, 'db:latest', 'must have CPU limit')).to.equal(false);
    });
  });

  it('reports invalid regexes by entry', () => {
    const { errors } = parseWhitelist(['ok', '(unclosed|rule']);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include('"(unclosed|rule"');
  });
});
