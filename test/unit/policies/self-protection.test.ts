import { envelopeBytes } from '../envelope';
import { expect } from 'chai';
import { parseEnvelope } from '../../../src/facts/envelope';
import { requestFacts, type RequestFacts } from '../../../src/facts/request';
import { policyFacts, type SubjectLookups } from '../../../src/facts/subjects';
import { enforcerFolders, exposes, hostPathsOfMounts, namesPlugin, selfProtectionVerdict, type SelfProtectionContext, type SelfProtectionSettings } from '../../../src/policies/self-protection';

const SELF_ID = 'a'.repeat(64);
const RULES = '/etc/docker-enforcer/rules';
const POLICIES = '/etc/docker-enforcer/policies';

const SETTINGS: SelfProtectionSettings = {
  selfContainerId: SELF_ID,
  selfContainerNames: ['enforcer-self'],
  pluginNames: ['enforcer'],
  protectedPaths: [RULES, POLICIES],
  admins: ['admin'],
};

/** An envelope as dockerd sends it: a TLS caller has a name, the unix socket's has none. */
function factsOf(method: string, uri: string, body?: unknown, user = 'mallory'): RequestFacts {
  const envelope = parseEnvelope(envelopeBytes(method, uri, body, user));
  if (!envelope.ok) throw new Error(envelope.problem);
  return requestFacts(envelope.value);
}

/** dockerd's view of named volumes: one binds the policies folder, one binds elsewhere. */
const lookups: SubjectLookups = {
  containerName: async () => undefined,
  containerUser: async () => undefined,
  execContainer: async () => undefined,
  volumeBindSource: async (name) => ({ policiesvol: `${POLICIES}/`, datavol: '/srv/data' } as Record<string, string>)[name],
  imageUser: async () => undefined,
};

/** The verdict with the bind sources the facts layer computes (named bind volumes resolved). */
async function judgeBinds(facts: RequestFacts, settings: SelfProtectionSettings = SETTINGS) {
  const { bindSources } = await policyFacts(facts, new Set(['bindSources']), lookups);
  return selfProtectionVerdict(facts, { ...settings, resolvesToSelf: false, bindSources });
}

const judge = (facts: RequestFacts, extra: Partial<SelfProtectionContext> = {}) => selfProtectionVerdict(facts, { ...SETTINGS, resolvesToSelf: false, ...extra });

/** Every protected action on a container named `ref`: [method, uri, body, the CLI verb the reason names]. */
const containerActions = (ref: string): Array<[string, string, unknown, string]> => [
  ['POST', `/v1.41/containers/${ref}/stop`, undefined, 'docker stop'],
  ['POST', `/v1.41/containers/${ref}/kill?signal=KILL`, undefined, 'docker kill'],
  ['POST', `/v1.41/containers/${ref}/restart`, undefined, 'docker restart'],
  ['POST', `/v1.41/containers/${ref}/pause`, undefined, 'docker pause'],
  ['DELETE', `/v1.41/containers/${ref}?force=1`, undefined, 'docker rm'],
  ['POST', `/v1.41/containers/${ref}/update`, { CpuShares: 2 }, 'docker update'],
  ['POST', `/v1.41/containers/${ref}/rename?name=other`, undefined, 'docker rename'],
  ['POST', `/v1.41/containers/${ref}/exec`, { Cmd: ['sh'] }, 'docker exec'],
  ['GET', `/v1.41/containers/${ref}/archive?path=/etc`, undefined, 'docker cp'],
  ['HEAD', `/v1.41/containers/${ref}/archive?path=/etc`, undefined, 'docker cp'],
  ['PUT', `/v1.41/containers/${ref}/archive?path=/tmp`, undefined, 'docker cp'],
  ['POST', `/v1.23/containers/${ref}/copy`, { Resource: '/etc' }, 'docker cp'],
  ['GET', `/v1.41/containers/${ref}/export`, undefined, 'docker export'],
  ['POST', `/v1.41/containers/${ref}/attach?stream=1&stdin=1`, undefined, 'docker attach'],
  ['POST', `/v1.41/containers/${ref}/checkpoints`, { CheckpointID: 'c1' }, 'docker checkpoint create'],
  ['POST', `/v1.41/commit?container=${ref}&repo=copy`, {}, 'docker commit'],
];

describe('self-protection: the enforcer\u2019s own container', () => {
  it('denies each protected action that dockerd resolves to the enforcer (KILL, naming the action)', () => {
    for (const [method, uri, body, verb] of containerActions('4f2a')) {
      const verdict = judge(factsOf(method, uri, body), { resolvesToSelf: true });
      expect(verdict, `${method} ${uri}`).to.deep.equal({
        source: 'self-protection',
        allow: false,
        mode: 'KILL',
        reasons: [`self-protection: ${verb} of the enforcer's own container is reserved to SELF_PROTECTION_ADMINS`],
      });
    }
  });

  it('allows each of them to a listed admin over TLS, not to the same name without TLS nor to the unix socket', () => {
    for (const [method, uri, body] of containerActions('enforcer-self')) {
      expect(judge(factsOf(method, uri, body, 'admin'), { resolvesToSelf: true }), uri).to.deep.include({ allow: true, reasons: [] });
      expect(judge(factsOf(method, uri, body, ''), { resolvesToSelf: true })?.allow, uri).to.equal(false);
    }
    const plainAdmin = parseEnvelope(Buffer.from(JSON.stringify({ User: 'admin', RequestMethod: 'POST', RequestUri: '/v1.41/containers/enforcer-self/stop' })));
    if (!plainAdmin.ok) throw new Error(plainAdmin.problem);
    expect(judge(requestFacts(plainAdmin.value))?.allow).to.equal(false);
  });

  it('leaves other containers alone', () => {
    for (const [method, uri, body] of containerActions('web')) expect(judge(factsOf(method, uri, body)), uri).to.equal(undefined);
  });

  it('knows its container by full id and by SELF_CONTAINER name without dockerd, never by an id prefix alone', () => {
    expect(judge(factsOf('POST', `/v1.41/containers/${SELF_ID}/stop`))?.allow).to.equal(false);
    expect(judge(factsOf('POST', '/v1.41/containers/enforcer-self/stop'))?.allow).to.equal(false);
    expect(judge(factsOf('POST', '/v1.41/containers//enforcer-self/stop'))?.allow).to.equal(false);
    // A prefix is the enforcer only if dockerd says so (a container may be named like one).
    expect(judge(factsOf('POST', `/v1.41/containers/${SELF_ID.slice(0, 12)}/stop`))).to.equal(undefined);
  });

  it('judges an exec start by the container dockerd says the exec belongs to', () => {
    expect(judge(factsOf('POST', '/v1.41/exec/e1/start', { Detach: false }), { resolvesToSelf: true })?.reasons).to.deep.equal(["self-protection: docker exec of the enforcer's own container is reserved to SELF_PROTECTION_ADMINS"]);
    expect(judge(factsOf('POST', '/v1.41/exec/e1/start', { Detach: false }))).to.equal(undefined);
  });

  it('lets through what cannot stop, enter or copy it (inspect, logs, start, unpause, wait, top, stats)', () => {
    const harmless: Array<[string, string]> = [
      ['GET', '/v1.41/containers/enforcer-self/json'],
      ['GET', '/v1.41/containers/enforcer-self/logs?stdout=1'],
      ['POST', '/v1.41/containers/enforcer-self/start'],
      ['POST', '/v1.41/containers/enforcer-self/unpause'],
      ['POST', '/v1.41/containers/enforcer-self/wait'],
      ['GET', '/v1.41/containers/enforcer-self/top'],
      ['GET', '/v1.41/containers/enforcer-self/stats?stream=0'],
    ];
    for (const [method, uri] of harmless) expect(judge(factsOf(method, uri), { resolvesToSelf: true }), uri).to.equal(undefined);
  });

  it('protects no container when it does not know its own (not in a container, SELF_CONTAINER unset)', () => {
    const outside = { ...SETTINGS, selfContainerId: undefined, selfContainerNames: [] };
    expect(selfProtectionVerdict(factsOf('POST', '/v1.41/containers/enforcer-self/stop'), { ...outside, resolvesToSelf: true })).to.equal(undefined);
  });

  it('fails closed when dockerd could not say what the request names, except for an admin', () => {
    const verdict = judge(factsOf('POST', '/v1.41/containers/4f2a/stop'), { unresolved: 'inspect: no answer within 30000 ms' });
    expect(verdict?.allow).to.equal(false);
    expect(verdict?.reasons[0]).to.match(/^self-protection: cannot tell whether containersStop touches .*no answer within 30000 ms.*SELF_PROTECTION_ADMINS$/);
    expect(judge(factsOf('POST', '/v1.41/containers/4f2a/stop', undefined, 'admin'), { unresolved: 'x' })?.allow).to.equal(true);
  });
});

describe('self-protection: the enforcer\u2019s plugin', () => {
  const denied = (facts: RequestFacts, extra: Partial<SelfProtectionContext> = {}) => judge(facts, extra)?.reasons ?? [];

  it('denies disabling, removing, configuring and upgrading it, under every spelling dockerd reads as its name', () => {
    for (const name of ['enforcer', 'enforcer:latest', 'library/enforcer', 'docker.io/library/enforcer:latest']) {
      expect(denied(factsOf('POST', `/v1.41/plugins/${name}/disable`)), name).to.deep.equal(["self-protection: docker plugin disable of the enforcer's own plugin is reserved to SELF_PROTECTION_ADMINS"]);
    }
    expect(denied(factsOf('DELETE', '/v1.41/plugins/enforcer?force=1'))[0]).to.include('docker plugin rm');
    expect(denied(factsOf('POST', '/v1.41/plugins/enforcer/set', ['DEBUG=1']))[0]).to.include('docker plugin set');
    expect(denied(factsOf('POST', '/v1.41/plugins/enforcer/upgrade?remote=evil/authz', []))[0]).to.include('docker plugin upgrade');
  });

  it('denies installing or creating a plugin under its name (dockerd would prefer that plugin to it)', () => {
    expect(denied(factsOf('POST', '/v1.41/plugins/pull?remote=evil/authz&name=enforcer', []))).to.deep.equal(["self-protection: docker plugin install under the enforcer's plugin name is reserved to SELF_PROTECTION_ADMINS"]);
    expect(denied(factsOf('POST', '/v1.41/plugins/pull?remote=enforcer:latest', []))[0]).to.include('docker plugin install');
    expect(denied(factsOf('POST', '/v1.41/plugins/create?name=enforcer'))[0]).to.include('docker plugin create');
    expect(judge(factsOf('POST', '/v1.41/plugins/pull?remote=evil/authz', []))).to.equal(undefined);
  });

  it('judges a plugin id (prefix) by what dockerd resolves it to, and allows admins', () => {
    expect(judge(factsOf('POST', '/v1.41/plugins/5d1f/disable'))).to.equal(undefined);
    expect(judge(factsOf('POST', '/v1.41/plugins/5d1f/disable'), { resolvesToSelf: true })?.allow).to.equal(false);
    expect(judge(factsOf('POST', '/v1.41/plugins/enforcer/disable', undefined, 'admin'))).to.deep.include({ allow: true });
  });

  it('leaves other plugins, other tags, enabling and an empty SELF_PLUGIN_NAMES alone', () => {
    expect(judge(factsOf('POST', '/v1.41/plugins/vieux/sshfs/disable'))).to.equal(undefined);
    expect(judge(factsOf('POST', '/v1.41/plugins/enforcer:v2/disable'))).to.equal(undefined);
    expect(judge(factsOf('POST', '/v1.41/plugins/enforcer/enable'))).to.equal(undefined);
    expect(judge(factsOf('POST', '/v1.41/plugins/enforcer/disable'), { pluginNames: [] })).to.equal(undefined);
  });

  it('compares plugin names as dockerd does', () => {
    expect(namesPlugin('docker.io/library/enforcer', ['enforcer'])).to.equal(true);
    expect(namesPlugin('enforcer@sha256:' + 'b'.repeat(64), ['enforcer:latest'])).to.equal(true);
    expect(namesPlugin('registry.local:5000/enforcer', ['enforcer'])).to.equal(false);
    expect(namesPlugin('Enforcer', ['enforcer'])).to.equal(false);
  });
});

describe('self-protection: binding its folders', () => {
  const create = (hostConfig: Record<string, unknown>, user = 'mallory') => factsOf('POST', '/v1.41/containers/create?name=x', { Image: 'busybox', HostConfig: hostConfig }, user);

  it('denies a bind at, below or above a protected folder, however it is written', async () => {
    const exposing: Array<[string, Record<string, unknown>, string]> = [
      ['exact', { Binds: [`${RULES}:/x`] }, RULES],
      ['below', { Binds: [`${RULES}/sub:/x:ro`] }, `${RULES}/sub`],
      ['above', { Binds: ['/etc:/host-etc'] }, '/etc'],
      ['the root', { Binds: ['/:/host'] }, '/'],
      ['with .. and //', { Binds: [`/srv/..//etc/docker-enforcer/rules/:/x`] }, RULES],
      ['--mount', { Mounts: [{ Type: 'bind', Source: '/etc/docker-enforcer', Target: '/x' }] }, '/etc/docker-enforcer'],
      ['a named bind volume', { Binds: ['policiesvol:/x'] }, POLICIES],
    ];
    for (const [how, hostConfig, source] of exposing) {
      const verdict = await judgeBinds(create(hostConfig));
      expect(verdict?.allow, how).to.equal(false);
      expect(verdict?.mode, how).to.equal('KILL');
      expect(verdict?.reasons[0], how).to.match(new RegExp(`^self-protection: a bind of ${source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} exposes the enforcer's folder /etc/docker-enforcer/(rules|policies) and is reserved to SELF_PROTECTION_ADMINS$`));
    }
  });

  it('allows unrelated binds, a sibling folder sharing the prefix, and named volumes that bind elsewhere', async () => {
    for (const binds of [['/srv/data:/data'], ['/etc/docker-enforcer-old:/x'], ['/etc/docker-enforcer/rulesets:/x'], ['datavol:/x', 'plainvol:/y']]) {
      expect(await judgeBinds(create({ Binds: binds })), binds.join(' ')).to.equal(undefined);
    }
  });

  it('judges legacy starts, services and bind volumes too; admins may bind', async () => {
    expect((await judgeBinds(factsOf('POST', '/v1.23/containers/x/start', { Binds: ['/etc:/h'] })))?.allow).to.equal(false);
    const service = { Name: 's', TaskTemplate: { ContainerSpec: { Image: 'busybox', Mounts: [{ Type: 'bind', Source: RULES, Target: '/x' }] } } };
    expect((await judgeBinds(factsOf('POST', '/v1.41/services/create', service)))?.allow).to.equal(false);
    const volume = { Name: 'v', Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/etc/docker-enforcer' } };
    expect((await judgeBinds(factsOf('POST', '/v1.41/volumes/create', volume)))?.allow).to.equal(false);
    expect(await judgeBinds(create({ Binds: ['/:/host'] }, 'admin'))).to.deep.include({ allow: true, reasons: [] });
  });

  it('says what path comparisons mean', () => {
    expect(exposes('/etc', '/etc/docker-enforcer/rules')).to.equal(true);
    expect(exposes('/etc/docker-enforcer/rules/x', '/etc/docker-enforcer/rules')).to.equal(true);
    expect(exposes('/etc/docker-enforcer/r', '/etc/docker-enforcer/rules')).to.equal(false);
    expect(exposes('/', '/anything')).to.equal(true);
    expect(enforcerFolders(['/etc/de/rules/rules.ts', '/etc/de/rules/whitelist_rules.ts', '/etc/de/policies/policies.yml', '/rules.ts'])).to.deep.equal(['/etc/de/rules', '/etc/de/policies', '/']);
  });

  it('maps its folders to the host through its own container\u2019s mounts', () => {
    const mounts = [
      { Type: 'bind', Source: '/srv/enforcer-rules', Destination: '/opt/docker-enforcer/rules' },
      { Type: 'bind', Source: '/srv/enforcer-etc/', Destination: '/etc/de' },
      { Type: 'bind', Source: '/var/run', Destination: '/var/run' },
    ];
    expect(hostPathsOfMounts(['/opt/docker-enforcer/rules', '/etc/de/policies', '/opt/docker-enforcer/request_rules'], mounts)).to.deep.equal(['/srv/enforcer-rules', '/srv/enforcer-etc/policies']);
  });
});
