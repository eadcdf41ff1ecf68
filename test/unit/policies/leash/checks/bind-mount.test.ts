import { expect } from 'chai';
import { CHECKS } from '../../../../../src/policies/leash/checks';
import { normalisePath } from '../../../../../src/policies/leash/checks/bind-mount';
import { compiledCheck, facts } from '../helpers';

interface Case {
  readonly entries: readonly string[];
  readonly source: string;
  readonly allowed: boolean;
  readonly user?: string;
  readonly why: string;
}

const HOME = ['-/', '+/home/$USER'];
const HOME_DIR = ['-/', '+/home/$USER/'];
const DATA = ['-/', '+/data/', '-/data/private/', '+/data/private/shared/'];

const CASES: readonly Case[] = [
  { entries: HOME, source: '/home/alice', allowed: true, why: 'the glob covers the path itself' },
  { entries: HOME, source: '/home/alice/projects/x', allowed: true, why: 'the glob covers what is below' },
  { entries: HOME, source: '/home/alicebob', allowed: true, why: 'a path without / is a prefix glob (/home/alice*)' },
  { entries: HOME, source: '/home/bob', allowed: false, why: "another user's home: -/ decides" },
  { entries: HOME, source: '/etc', allowed: false, why: '-/ covers everything else' },
  { entries: HOME, source: '/', allowed: false, why: 'the root itself' },
  { entries: HOME, source: '/home/bob', user: 'bob', allowed: true, why: '$USER is the caller' },
  { entries: HOME_DIR, source: '/home/alice', allowed: true, why: 'a directory entry covers the directory itself' },
  { entries: HOME_DIR, source: '/home/alice/x/y', allowed: true, why: '... and everything below it' },
  { entries: HOME_DIR, source: '/home/alicebob', allowed: false, why: 'a trailing / is not a prefix glob' },
  { entries: HOME_DIR, source: '/home/alice/../bob', allowed: false, why: '.. in a bind source is resolved before matching' },
  { entries: HOME_DIR, source: '/home//alice/./x/', allowed: true, why: '// . and a trailing / in a bind source are normalised' },
  { entries: HOME_DIR, source: 'home/alice', allowed: false, why: 'a relative source is never allowed' },
  { entries: DATA, source: '/data/x', allowed: true, why: '+/data/ is the longest match' },
  { entries: DATA, source: '/data', allowed: true, why: 'the directory itself' },
  { entries: DATA, source: '/database', allowed: false, why: '/data/ does not cover /database' },
  { entries: DATA, source: '/data/private/key', allowed: false, why: '-/data/private/ is longer than +/data/' },
  { entries: DATA, source: '/data/private/shared/doc', allowed: true, why: 'the longest entry decides, whatever the order' },
  { entries: ['+/data/private/shared/', '-/data/private/', '+/data/', '-/'], source: '/data/private/x', allowed: false, why: 'order in the file does not matter' },
  { entries: ['+/home/', '-/home/$USER/secret'], source: '/home/alice/secrets', allowed: false, why: 'a - glob denies its prefix' },
  { entries: ['+/home/', '-/home/$USER/secret'], source: '/home/alice/work', allowed: true, why: 'the + entry is the only match' },
  { entries: ['+/foo', '-/foo/'], source: '/foo/x', allowed: false, why: 'a directory entry outweighs the glob of the same path' },
  { entries: ['+/foo', '-/foo/'], source: '/foobar', allowed: true, why: 'only the glob covers /foobar' },
  { entries: ['+/foo', '-/foo'], source: '/foo', allowed: false, why: 'at equal weight, - wins' },
  { entries: ['+/home/'], source: '/etc', allowed: false, why: 'a path no entry covers is disallowed' },
  { entries: ['+/'], source: '/etc/shadow', allowed: true, why: '+/ allows everything' },
  { entries: ['-/', '+/home/$USER', '+/0'], source: '/0abc', allowed: true, why: 'leash’s +/0 is a glob too' },
  { entries: ["+/srv/'$USER/"], source: '/srv/$USER/x', allowed: true, why: "'$USER is the literal text $USER" },
  { entries: ["+/srv/'$USER/"], source: '/srv/alice/x', allowed: false, why: "'$USER is not the caller" },
  { entries: ['+/srv/\\$USER/'], source: '/srv/$USER/x', allowed: true, why: 'leash’s \\$USER is literal as well' },
  { entries: ['+/home/$USER/../shared/'], source: '/home/shared/x', allowed: true, why: '.. in an entry is resolved after $USER' },
  { entries: ['+/home/$USER/../shared/'], source: '/home/alice/x', allowed: false, why: 'the entry no longer names the home' },
  { entries: ['+/a/./b//c/'], source: '/a/b/c/d', allowed: true, why: '. and // in an entry' },
  { entries: ['-/', '+/home/$USER/..'], source: '/home/x', allowed: true, why: 'an entry ending in .. names a directory' },
];

describe('leash BindMount', () => {
  for (const { entries, source, allowed, user, why } of CASES) {
    it(`${JSON.stringify(entries)} ${allowed ? 'allows' : 'refuses'} ${source}${user ? ` for ${user}` : ''}: ${why}`, () => {
      const result = compiledCheck('BindMount', entries).run(facts({ action: 'containersCreate', method: 'POST', bindSources: [source], user: user ?? 'alice' }));
      expect(result.pass).to.equal(allowed);
    });
  }

  it('passes a request that binds nothing', () => {
    expect(compiledCheck('BindMount', HOME_DIR).run(facts({ bindSources: [] })).pass).to.equal(true);
  });

  it('needs every bind source allowed and names every refused one', () => {
    const check = compiledCheck('BindMount', HOME_DIR);
    expect(check.run(facts({ bindSources: ['/home/alice/a', '/etc'] }))).to.deep.equal({ pass: false, reason: 'BindMount: /etc is not under an allowed path' });
    expect(check.run(facts({ bindSources: ['/etc', '/home/alice/a', '/var'] })).reason).to.equal('BindMount: /etc, /var are not under an allowed path');
  });

  it('refuses for a user name that cannot stand in a path, when the list uses $USER', () => {
    const check = compiledCheck('BindMount', HOME_DIR);
    for (const user of ['..', 'a/b', '.']) {
      const result = check.run(facts({ user, bindSources: ['/home/x'] }));
      expect(result.pass, user).to.equal(false);
      expect(result.reason).to.equal(`BindMount: the user name ${JSON.stringify(user)} cannot stand for $USER in a path`);
    }
    // Without $USER the name does not matter.
    expect(compiledCheck('BindMount', ['+/tmp/']).run(facts({ user: '..', bindSources: ['/tmp/x'] })).pass).to.equal(true);
  });

  it('renders $USER per caller (each user gets their own entries)', () => {
    const check = compiledCheck('BindMount', HOME_DIR);
    expect(check.run(facts({ user: 'alice', bindSources: ['/home/alice/x'] })).pass).to.equal(true);
    expect(check.run(facts({ user: 'bob', bindSources: ['/home/alice/x'] })).pass).to.equal(false);
    expect(check.run(facts({ user: 'alice', bindSources: ['/home/alice/x'] })).pass).to.equal(true);
  });

  it('reports entries without a sign and relative entries, by item', () => {
    const compiled = CHECKS.BindMount.compile(['+/ok/', 'home', '+relative', '-/x']);
    expect(compiled).to.deep.equal({
      ok: false,
      problems: [
        { item: 1, message: 'BindMount entry "home" must start with + (allowed) or - (disallowed)' },
        { item: 2, message: 'BindMount entry "+relative" is not an absolute path' },
      ],
    });
  });

  it('normalises paths like the facts do', () => {
    expect(normalisePath('/a/./b//c/../d/')).to.equal('/a/b/d');
    expect(normalisePath('/../..')).to.equal('/');
    expect(normalisePath('/')).to.equal('/');
    expect(normalisePath('a/b')).to.equal(undefined);
  });
});
