import { expect } from 'chai';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { judgePolicies } from '../../../../src/policies/leash/judge';
import { loadPolicyFiles } from '../../../../src/policies/leash/load';
import type { PolicyConfig } from '../../../../src/policies/leash/model';
import { errorsOf, facts, load, loaded, yaml } from './helpers';
import { REFERENCE_GROUPS, REFERENCE_NAMED_GROUPS, REFERENCE_NAMED_POLICIES, REFERENCE_POLICIES } from './reference-examples';

function keysOf(config: PolicyConfig, ruleSet: number, policy: number): string[] {
  return [...(config.ruleSets[ruleSet - 1]?.policies[policy - 1]?.rules.keys() ?? [])];
}

function checksOf(config: PolicyConfig, policy: number, key: string): string[] {
  return (config.ruleSets[0]?.policies[policy - 1]?.rules.get(key) ?? []).map((c) => c.name);
}

describe('leash policy files', () => {
  describe('which files exist', () => {
    it('neither: no policies', () => {
      expect(load(undefined, undefined)).to.deep.equal({ config: undefined });
    });

    it('groups without policies: an error', () => {
      expect(errorsOf(undefined, yaml('users: [alice]'))).to.deep.equal(['groups.yml:1:1: a groups file without a policies file (policies.yml does not exist)']);
    });

    it('policies without groups: fine when members are only "*" and Anonymous', () => {
      const config = loaded(yaml('- hosts: [+.*]', '  default: Deny', '  policies:', '    - members: ["*", Anonymous]', '      rules: {any: {ReadOnly: }}'));
      expect(config.groups.size).to.equal(0);
      expect(config.ruleSets[0]?.policies[0]?.audience.everyone).to.equal(true);
    });

    it('policies without groups: a group is undefined, at its position', () => {
      expect(errorsOf(yaml('- hosts: [+.*]', '  default: Deny', '  policies:', '    - members: [users]', '      rules: {any: {Allow: }}'))).to.deep.equal([
        'policies.yml:4:17: undefined group "users" (there is no groups file groups.yml; only "*" and "Anonymous" need none)',
      ]);
    });

    it('an empty policies file is an error; an empty groups file means no groups', () => {
      expect(errorsOf(yaml('---', '...'))).to.deep.equal([
        'policies.yml:1:1: expected a list of rule sets (or, in the older format, a mapping of named policies), found an empty file',
      ]);
      expect(loaded(yaml('- hosts: [+.*]', '  default: Allow'), yaml('---', '...')).groups.size).to.equal(0);
    });
  });

  describe('the documented list format', () => {
    it("loads the reference's example unchanged", () => {
      const config = loaded(REFERENCE_POLICIES, REFERENCE_GROUPS);
      expect(config.format).to.equal('list');
      expect(config.ruleSets.map((r) => [r.index, r.name, r.default, r.policies.length])).to.deep.equal([
        [1, 'Servers are fully accessible to Admins. Monitoring group can only list containers.', 'Deny', 2],
        [2, 'Users own containers and binds named after them.', 'ReadOnly', 2],
        [3, 'Every other host. Anonymous users get nothing.', 'ReadOnly', 2],
      ]);
      expect([...config.groups.keys()]).to.deep.equal(['admins', 'users', 'monitoring', 'anonymous', 'all']);
      expect(config.groups.get('all')).to.deep.equal(['*']);
      expect(keysOf(config, 2, 2)).to.deep.equal(['containersLogs', 'containers']);
      expect(config.ruleSets[1]?.policies[1]?.rules.get('containers')?.map((c) => c.name)).to.deep.equal(['ContainerName', 'BindMount']);
      // `Anonymous` as a member is the anonymous caller (the groups file calls its group `anonymous`).
      expect(config.ruleSets[2]?.policies[1]?.members).to.deep.equal(['Anonymous']);
      expect([...(config.ruleSets[2]?.policies[1]?.audience.users ?? [])]).to.deep.equal(['Anonymous']);
    });

    it('names a rule set without a description by its position, and reads mode', () => {
      const config = loaded(yaml('- hosts: [+a]', '  default: Allow', '- hosts: [+b]', '  default: Deny', '  mode: WARN'));
      expect(config.ruleSets.map((r) => [r.name, r.mode])).to.deep.equal([
        ['rule set 1', undefined],
        ['rule set 2', 'WARN'],
      ]);
    });

    it("accepts leash's other spellings: BindMounts, VolumesName, all, the archive aliases", () => {
      const config = loaded(
        yaml(
          '- hosts: [+.*]',
          '  default: Deny',
          '  policies:',
          '    - members: [users]',
          '      rules:',
          '        containers:',
          '          BindMounts: [-/, +/home/$USER/]',
          '          VolumesName: [^$USER-]',
          '        containersGetFilesystemArchive:',
          '          Allow:',
          '        all:',
          '          ReadOnly:',
        ),
        yaml('users: [alice]'),
      );
      expect(keysOf(config, 1, 1)).to.deep.equal(['containers', 'containersGetFilesystemArchive', 'any']);
      expect(checksOf(config, 1, 'containers')).to.deep.equal(['BindMount', 'VolumeName']);
    });

    it('reports every problem at once, each at its file:line:col', () => {
      const policies = yaml(
        '- description: every problem at once',
        '  hosts:',
        '    - +^wks(',
        '    - wks01',
        '  default: Sometimes',
        '  mode: LOUD',
        '  colour: blue',
        '  policies:',
        '    - members: [users, ghosts]',
        '      rules:',
        '        containersFly:',
        '          Allow:',
        '        containers:',
        '          BindMount:',
        '            - /home',
        '            - +/home/$USER',
        '          ContainerName: ^alice-',
        '          Sudo:',
        '        images:',
        '          ImageName: ["(x"]',
        '          Allow: [yes]',
        '        volumes:',
        '          VolumeName:',
        '        exec:',
        '          User: ["-[", "+ok"]',
        '        any: {}',
        '- just a string',
        '- hosts: +.*',
        '  default: Allow',
        '- hosts: [+.*]',
        '  policies:',
        '    - rules: {any: {Allow: }}',
        '      member: [users]',
      );
      const groups = yaml('users: [alice]', 'admins:', '  policies: [x]', '  members: [y]');
      expect(errorsOf(policies, groups)).to.deep.equal([
        'policies.yml:3:7: invalid regular expression "^wks(": Unterminated group',
        'policies.yml:4:7: hosts entry "wks01" must start with + (include) or - (exclude)',
        'policies.yml:5:12: default must be one of Allow, Deny, ReadOnly, not "Sometimes"',
        'policies.yml:6:9: mode must be one of WARN, KILL, not "LOUD"',
        'policies.yml:7:3: unknown key "colour" in a rule set (expected description, hosts, default, mode, policies)',
        'policies.yml:9:24: undefined group "ghosts"',
        'policies.yml:11:9: unknown action or namespace "containersFly" (expected an action such as containersCreate, a namespace such as containers, or any)',
        'policies.yml:15:15: BindMount entry "/home" must start with + (allowed) or - (disallowed)',
        'policies.yml:17:26: ContainerName needs a list of regular expressions',
        'policies.yml:18:11: unknown check "Sudo" (known: Allow, Deny, ReadOnly, BindMount, ContainerName, ImageName, VolumeName, Privileged, User)',
        'policies.yml:20:23: invalid regular expression "(x": Unterminated group',
        'policies.yml:21:18: Allow takes no arguments',
        'policies.yml:23:22: VolumeName needs a list of regular expressions',
        'policies.yml:25:18: invalid regular expression "[": Unterminated character class',
        'policies.yml:26:14: no checks under "any"',
        'policies.yml:27:3: a rule set must be a mapping (description, hosts, default, policies)',
        'policies.yml:28:10: hosts must be a list of "+regex" (include) / "-regex" (exclude) entries',
        'policies.yml:30:3: a rule set needs a default (Allow, Deny, ReadOnly)',
        'policies.yml:32:7: a policy needs members (members must be a list of groups)',
        'policies.yml:33:7: unknown key "member" in a policy (expected members, rules)',
        'groups.yml:3:3: group "admins" must be a list of user names (groups with policies and members belong to the older format, whose policies.yml is a mapping of named policies)',
      ]);
    });

    it('reports YAML syntax errors of both files, and nothing else', () => {
      expect(errorsOf(yaml('- hosts: [+.*', '  default: Nope'), yaml('a: [b'))).to.deep.equal([
        'policies.yml:2:3: Flow sequence in block collection must be sufficiently indented and end with a ]',
        'groups.yml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ]);
    });

    it('reports keys that name the same actions twice', () => {
      const rules = (...lines: string[]): string => yaml('- hosts: [+.*]', '  default: Deny', '  policies:', '    - members: ["*"]', '      rules:', ...lines);
      expect(errorsOf(rules('        any: {Allow: }', '        all: {Deny: }'))).to.deep.equal(['policies.yml:7:9: "all" names the same actions as "any"']);
      expect(errorsOf(rules('        any: {Allow: }', '        any: {Deny: }'))).to.deep.equal(['policies.yml:7:9: Map keys must be unique']);
      expect(errorsOf(rules('        any: {BindMount: [+/a], BindMounts: [+/b]}'))).to.deep.equal(['policies.yml:6:33: "BindMounts" repeats the check "BindMount"']);
    });

    it('needs hosts, and a policy needs rules', () => {
      expect(errorsOf(yaml('- default: Allow', '  policies:', '    - members: ["*"]'))).to.deep.equal([
        'policies.yml:1:3: a rule set needs hosts (hosts must be a list of "+regex" (include) / "-regex" (exclude) entries)',
        'policies.yml:3:7: a policy needs rules: a mapping from actions, namespaces or any to checks',
      ]);
    });

    it("refuses the older format's check names in the list format", () => {
      expect(errorsOf(yaml('- hosts: [+.*]', '  default: Deny', '  policies:', '    - members: ["*"]', '      rules: {any: {pathCheck: [+/x]}}'))).to.deep.equal([
        'policies.yml:5:21: unknown check "pathCheck" (known: Allow, Deny, ReadOnly, BindMount, ContainerName, ImageName, VolumeName, Privileged, User)',
      ]);
    });
  });

  describe('the older named format', () => {
    it("loads the reference's example unchanged: one rule set for every host, default Deny", () => {
      const config = loaded(REFERENCE_NAMED_POLICIES, REFERENCE_NAMED_GROUPS);
      expect(config.format).to.equal('named');
      expect(config.ruleSets).to.have.length(1);
      const [ruleSet] = config.ruleSets;
      expect([ruleSet?.name, ruleSet?.default]).to.deep.equal(['rule set 1', 'Deny']);
      expect(ruleSet?.policies.map((p) => [p.index, p.name, p.members])).to.deep.equal([
        [1, 'openbar', ['admins']],
        [2, 'readonly', ['all']],
      ]);
      expect(config.groups.get('all')).to.deep.equal(['*']);
      for (const host of ['srv01', 'anything', '']) expect(judgePolicies(config, host, facts()).allow, host).to.equal(true);
    });

    it('maps the old check names and keys to the documented ones', () => {
      const config = loaded(
        yaml(
          'restricted:',
          '  containersCreate:',
          '    pathCheck:',
          '      - "-/"',
          '      - "+/home/$USER"',
          '  containersDelete:',
          '    deny:',
          'personnal:',
          '  containers:',
          '    containerNameCheck:',
          '      startwith:',
          '        - foo.',
          '        - "$USER-"',
          'readwrite:',
          '  all:',
          '    ReadWrite:',
          '  ping:',
          '    allow:',
        ),
        yaml('developpers:', '  policies: [restricted, personnal]', '  members: [jre]', 'administrators:', '  policies: [readwrite]', '  members: [rda]'),
      );
      const policies = config.ruleSets[0]?.policies ?? [];
      expect(policies.map((p) => [p.index, p.name, p.members])).to.deep.equal([
        [1, 'restricted', ['developpers']],
        [2, 'personnal', ['developpers']],
        [3, 'readwrite', ['administrators']],
      ]);
      expect(keysOf(config, 1, 1)).to.deep.equal(['containersCreate', 'containersRemove']);
      expect(checksOf(config, 1, 'containersCreate')).to.deep.equal(['BindMount']);
      expect(checksOf(config, 1, 'containersRemove')).to.deep.equal(['Deny']);
      expect(checksOf(config, 2, 'containers')).to.deep.equal(['ContainerName']);
      expect(checksOf(config, 3, 'any')).to.deep.equal(['Allow']);
      expect(checksOf(config, 3, 'ping')).to.deep.equal(['Allow']);
      // startwith prefixes are literal text anchored at the start, $USER kept.
      const name = config.ruleSets[0]?.policies[1]?.rules.get('containers')?.[0];
      const named = (containerNames: string[]): boolean | undefined => name?.run(facts({ user: 'jre', containerNames })).pass;
      expect([named(['foo.1']), named(['fooX1']), named(['jre-a']), named(['x-jre-a'])]).to.deep.equal([true, false, true, false]);
    });

    it('reports undefined policies, old-format mistakes and list-format groups', () => {
      const policies = yaml('openbar:', '  containersFly:', '    pathCheck: [/x]', '    containerNameCheck: {endwith: [x]}', '  any: {Allow: }', 'empty:');
      const groups = yaml('admins:', '  policies: [openbar, missing]', '  members: [rda]', 'users: [a]');
      expect(errorsOf(policies, groups)).to.deep.equal([
        'policies.yml:2:3: unknown action or namespace "containersFly" (expected an action such as containersCreate, a namespace such as containers, or any)',
        'policies.yml:3:17: BindMount entry "/x" must start with + (allowed) or - (disallowed)',
        'policies.yml:4:26: containerNameCheck: unknown key "endwith" (leash documents only startwith)',
        'policies.yml:6:7: policy "empty" must map actions, namespaces or any to checks',
        'groups.yml:2:23: undefined policy "missing" (policies.yml names openbar, empty)',
        'groups.yml:4:8: group "users" must be a mapping with policies and members (the older format, as policies.yml is a mapping of named policies)',
      ]);
    });

    it('needs a groups file', () => {
      expect(errorsOf(yaml('openbar:', '  any:', '    Allow:'))).to.deep.equal([
        'policies.yml:1:1: named policies apply through groups.yml\'s "policies" lists, and there is no groups file groups.yml',
      ]);
    });
  });

  describe('loadPolicyFiles', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'leash-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads both files, names them in errors, and treats absent ones as absent', async () => {
      const policies = path.join(dir, 'policies.yml');
      const groups = path.join(dir, 'groups.yml');
      expect(await loadPolicyFiles(policies, groups)).to.deep.equal({ config: undefined });
      await writeFile(policies, REFERENCE_POLICIES);
      await writeFile(groups, REFERENCE_GROUPS);
      expect((await loadPolicyFiles(policies, groups)).config?.ruleSets).to.have.length(3);
      await writeFile(groups, 'users: [alice]\n');
      expect((await loadPolicyFiles(policies, groups)).errors?.[0]).to.equal(`${policies}:9:11: undefined group "admins"`);
    });

    it('reports a file it cannot read', async () => {
      const policies = path.join(dir, 'policies.yml');
      await mkdir(policies);
      const result = await loadPolicyFiles(policies, path.join(dir, 'groups.yml'));
      expect(result.errors).to.have.length(1);
      expect(result.errors?.[0]).to.match(new RegExp(`^${policies.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:1: cannot read: EISDIR`));
    });
  });
});
