import { expect } from 'chai';
import { judgePolicies, neededLookups, type PolicyVerdict } from '../../../../src/policies/leash/judge';
import { ANONYMOUS, type PolicyFacts } from '../../../../src/policies/policy-facts';
import { facts, loaded, yaml } from './helpers';
import { REFERENCE_GROUPS, REFERENCE_POLICIES } from './reference-examples';

const POLICIES = yaml(
  '- description: servers',
  '  hosts: [+^srv\\d\\d, -^srv99]',
  '  default: Deny',
  '  mode: WARN',
  '  policies:',
  '    - members: [admins]',
  '      rules: {any: {Allow: }}',
  '- description: workstations',
  '  hosts: [+^wks]',
  '  default: ReadOnly',
  '  policies:',
  '    - members: [users]',
  '      rules:',
  '        containersCreate:',
  '          ContainerName: [^$USER-]',
  '          BindMount: [-/, +/home/$USER/]',
  '        containers:',
  '          ContainerName: [^$USER-]',
  '        execCreate:',
  '          User: [^$USER$]',
  '        images:',
  '          Allow:',
  '        any:',
  '          Deny:',
  '    - members: [ops]',
  '      rules:',
  '        containersCreate:',
  '          Privileged:',
  '    - members: [everyone]',
  '      rules:',
  '        containersLogs:',
  '          Allow:',
  '    - members: [anonymous]',
  '      rules:',
  '        any:',
  '          Deny:',
  '- description: builders',
  '  hosts: [+^wks-build, +^build]',
  '  default: Deny',
  '  mode: KILL',
  '  policies:',
  '    - members: [users]',
  '      rules:',
  '        containersGetFilesystemArchive: {Allow: }',
  '        containersArchive: {Deny: }',
  '        any: {ReadOnly: }',
  '- description: the old server',
  '  hosts: [+^srv99$]',
  '  default: Allow',
);
const GROUPS = yaml('admins: [rda]', 'users: [alice, bob]', 'ops: [bob]', 'everyone: ["*"]', 'anonymous: [Anonymous]');
const CONFIG = loaded(POLICIES, GROUPS);

const create = (overrides: Partial<PolicyFacts>): Partial<PolicyFacts> => ({ action: 'containersCreate', method: 'POST', containerNames: [''], ...overrides });

interface Case {
  readonly name: string;
  readonly host: string;
  readonly request: Partial<PolicyFacts>;
  readonly verdict: PolicyVerdict;
}

const SERVERS = { index: 1, name: 'servers' };
const WORKSTATIONS = { index: 2, name: 'workstations' };
const BUILDERS = { index: 3, name: 'builders' };
const OLD_SERVER = { index: 4, name: 'the old server' };
const WKS = 'rule set "workstations"';

const CASES: readonly Case[] = [
  // rule-set selection by host
  {
    name: 'a host no rule set includes is denied (fail-closed)',
    host: 'laptop',
    request: { user: 'rda' },
    verdict: { allow: false, mode: undefined, reasons: ['no policy rule set applies to host "laptop"'], decidedBy: 'no-rule-set' },
  },
  {
    name: 'the first including rule set applies, with its mode',
    host: 'srv01',
    request: { user: 'rda', action: 'swarmInit', namespace: 'swarm', method: 'POST' },
    verdict: { allow: true, mode: 'WARN', ruleSet: SERVERS, policy: 1, reasons: [], decidedBy: 'policy' },
  },
  {
    name: 'a matching - entry excludes the rule set; a later one applies',
    host: 'srv99',
    request: { user: 'alice', method: 'POST', action: 'containersKill' },
    verdict: { allow: true, mode: undefined, ruleSet: OLD_SERVER, reasons: [], decidedBy: 'default' },
  },
  {
    name: 'a later rule set that also matches is ignored',
    host: 'wks-build01',
    request: { user: 'alice', action: 'containersArchive', method: 'PUT' },
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, policy: 1, reasons: [], decidedBy: 'policy' },
  },
  // default
  {
    name: 'default Deny (mode WARN reported) for a caller without a policy',
    host: 'srv01',
    request: { user: 'alice' },
    verdict: { allow: false, mode: 'WARN', ruleSet: SERVERS, reasons: ['denied by default (rule set "servers")'], decidedBy: 'default' },
  },
  {
    name: 'default ReadOnly lets a GET through',
    host: 'wks01',
    request: { user: 'carol', action: 'containersList' },
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, reasons: [], decidedBy: 'default' },
  },
  {
    name: 'default ReadOnly refuses a POST',
    host: 'wks01',
    request: create({ user: 'carol' }),
    verdict: {
      allow: false,
      mode: undefined,
      ruleSet: WORKSTATIONS,
      reasons: ['read-only by default (rule set "workstations"): POST is not a read-only method'],
      decidedBy: 'default',
    },
  },
  {
    name: 'default Allow',
    host: 'srv99',
    request: { user: ANONYMOUS, action: 'imagesPush', namespace: 'images', method: 'POST' },
    verdict: { allow: true, mode: undefined, ruleSet: OLD_SERVER, reasons: [], decidedBy: 'default' },
  },
  // most specific key
  {
    name: 'the action key wins over the namespace key',
    host: 'wks01',
    request: create({ user: 'alice', containerNames: ['alice-web'], bindSources: ['/home/alice/src'] }),
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, policy: 1, reasons: [], decidedBy: 'policy' },
  },
  {
    name: 'every failing check of the action key is named',
    host: 'wks01',
    request: create({ user: 'alice', containerNames: ['bob-web'], bindSources: ['/etc'] }),
    verdict: {
      allow: false,
      mode: undefined,
      ruleSet: WORKSTATIONS,
      policy: 1,
      reasons: [`${WKS}, policy 1 (users): ContainerName: "bob-web" matches none of ^alice-`, `${WKS}, policy 1 (users): BindMount: /etc is not under an allowed path`],
      decidedBy: 'policy',
    },
  },
  {
    name: 'the namespace key when the action has none',
    host: 'wks01',
    request: { user: 'alice', action: 'containersStop', method: 'POST', containerNames: ['bob-web'] },
    verdict: {
      allow: false,
      mode: undefined,
      ruleSet: WORKSTATIONS,
      policy: 1,
      reasons: [`${WKS}, policy 1 (users): ContainerName: "bob-web" matches none of ^alice-`],
      decidedBy: 'policy',
    },
  },
  {
    name: 'any when neither action nor namespace has a key',
    host: 'wks01',
    request: { user: 'alice', action: 'networksCreate', namespace: 'networks', method: 'POST' },
    verdict: { allow: false, mode: undefined, ruleSet: WORKSTATIONS, policy: 1, reasons: [`${WKS}, policy 1 (users): Deny: always denied`], decidedBy: 'policy' },
  },
  {
    name: 'an action outside the route table falls to any',
    host: 'build01',
    request: { user: 'alice', action: 'unknown', namespace: 'unknown', method: 'POST' },
    verdict: {
      allow: false,
      mode: 'KILL',
      ruleSet: BUILDERS,
      policy: 1,
      reasons: ['rule set "builders", policy 1 (users): ReadOnly: POST is not a read-only method'],
      decidedBy: 'policy',
    },
  },
  {
    name: "leash's archive alias applies to its own method (GET)",
    host: 'build01',
    request: { user: 'alice', action: 'containersArchive', method: 'GET' },
    verdict: { allow: true, mode: 'KILL', ruleSet: BUILDERS, policy: 1, reasons: [], decidedBy: 'policy' },
  },
  {
    name: "... and not to the archive's other methods (PUT)",
    host: 'build01',
    request: { user: 'alice', action: 'containersArchive', method: 'PUT' },
    verdict: { allow: false, mode: 'KILL', ruleSet: BUILDERS, policy: 1, reasons: ['rule set "builders", policy 1 (users): Deny: always denied'], decidedBy: 'policy' },
  },
  // several applicable policies
  {
    name: 'one passing policy is enough (the second one)',
    host: 'wks01',
    request: create({ user: 'bob', containerNames: ['x'] }),
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, policy: 2, reasons: [], decidedBy: 'policy' },
  },
  {
    name: 'all failing: the reasons of every policy',
    host: 'wks01',
    request: create({ user: 'bob', containerNames: ['x'], privileged: true }),
    verdict: {
      allow: false,
      mode: undefined,
      ruleSet: WORKSTATIONS,
      policy: 1,
      reasons: [`${WKS}, policy 1 (users): ContainerName: "x" matches none of ^bob-`, `${WKS}, policy 2 (ops): Privileged: the request asks for a privileged container`],
      decidedBy: 'policy',
    },
  },
  // *, Anonymous
  {
    name: 'a group listing "*" includes a user no group names',
    host: 'wks01',
    request: { user: 'carol', action: 'containersLogs' },
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, policy: 3, reasons: [], decidedBy: 'policy' },
  },
  {
    name: '"*" includes Anonymous',
    host: 'wks01',
    request: { user: ANONYMOUS, action: 'containersLogs' },
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, policy: 3, reasons: [], decidedBy: 'policy' },
  },
  {
    name: 'a group listing Anonymous applies to the caller without a TLS identity',
    host: 'wks01',
    request: { user: ANONYMOUS, action: 'networksList', namespace: 'networks' },
    verdict: { allow: false, mode: undefined, ruleSet: WORKSTATIONS, policy: 4, reasons: [`${WKS}, policy 4 (anonymous): Deny: always denied`], decidedBy: 'policy' },
  },
  {
    name: '... and to nobody else',
    host: 'wks01',
    request: { user: 'carol', action: 'networksList', namespace: 'networks' },
    verdict: { allow: true, mode: undefined, ruleSet: WORKSTATIONS, reasons: [], decidedBy: 'default' },
  },
];

describe('leash judge', () => {
  for (const { name, host, request, verdict } of CASES) {
    it(name, () => {
      expect(judgePolicies(CONFIG, host, facts(request))).to.deep.equal(verdict);
    });
  }

  it("judges the reference's example as its descriptions say", () => {
    const config = loaded(REFERENCE_POLICIES, REFERENCE_GROUPS);
    const allowed = (host: string, request: Partial<PolicyFacts>): boolean => judgePolicies(config, host, facts(request)).allow;
    expect(allowed('srv01', create({ user: 'rda' })), 'admins on servers').to.equal(true);
    expect(allowed('srv01', { user: 'xymon_1', action: 'containersList' }), 'monitoring lists').to.equal(true);
    expect(allowed('srv01', { user: 'xymon_1', action: 'containersInspect' }), 'monitoring inspects').to.equal(false);
    expect(allowed('wks01', create({ user: 'jre', containerNames: ['jre-a'], bindSources: ['/home/jre/x', '/0'] })), 'users own containers').to.equal(true);
    expect(allowed('wks01', create({ user: 'jre', containerNames: ['lgh-a'] })), "another user's name").to.equal(false);
    expect(allowed('wks01', { user: 'jre', action: 'containersLogs', containerNames: ['bar-1'] }), 'logs of bar-').to.equal(true);
    expect(allowed('wks01', { user: 'jre', action: 'imagesPush', namespace: 'images', method: 'POST' }), 'default ReadOnly').to.equal(false);
    expect(allowed('other', { user: ANONYMOUS }), 'Anonymous gets nothing').to.equal(false);
    expect(allowed('other', { user: 'jre' }), 'others read').to.equal(true);
  });

  describe('neededLookups', () => {
    const CASES: ReadonlyArray<{ name: string; host: string; request: Partial<PolicyFacts>; needs: string[] }> = [
      { name: 'the checks of the action key', host: 'wks01', request: create({ user: 'alice' }), needs: ['containerNames', 'bindSources'] },
      { name: 'the union over the caller’s policies', host: 'wks01', request: create({ user: 'bob' }), needs: ['containerNames', 'bindSources'] },
      { name: 'the namespace key', host: 'wks01', request: { user: 'alice', action: 'containersStop', method: 'POST' }, needs: ['containerNames'] },
      { name: 'the run-as user for User', host: 'wks01', request: { user: 'alice', action: 'execCreate', namespace: 'exec', method: 'POST' }, needs: ['runAsUser'] },
      { name: 'nothing when the default decides', host: 'wks01', request: create({ user: 'carol' }), needs: [] },
      { name: 'nothing when a policy only allows', host: 'srv01', request: create({ user: 'rda' }), needs: [] },
      { name: 'nothing when no rule set applies', host: 'laptop', request: create({ user: 'alice' }), needs: [] },
    ];
    for (const { name, host, request, needs } of CASES) {
      it(name, () => {
        expect([...neededLookups(CONFIG, host, facts(request))]).to.deep.equal(needs);
      });
    }
  });
});
