import { expect } from 'chai';
import { parseEnvelope } from '../../../src/facts/envelope';
import { requestFacts } from '../../../src/facts/request';
import { bindDevice, normaliseHostPath, policyFacts, type SubjectLookups } from '../../../src/facts/subjects';
import type { LookupFact, PolicyFacts } from '../../../src/policies/policy-facts';

const ALL: ReadonlySet<LookupFact> = new Set(['containerNames', 'bindSources', 'runAsUser']);

/** dockerd's view in these tables: containers web (id abc123…) and db, an exec, a bind volume and a plain one. */
const lookups: SubjectLookups = {
  containerName: async (ref) => ({ abc123: '/web', web: '/web', db: '/db' } as Record<string, string>)[ref],
  containerUser: async (ref) => ({ web: 'www-data', abc123: 'www-data' } as Record<string, string>)[ref],
  execContainer: async (id) => (id === 'e1' ? 'abc123' : undefined),
  volumeBindSource: async (name) => (name === 'etcvol' ? '/etc/' : undefined),
  imageUser: async (ref) => (ref === 'app:1' ? 'app' : ''),
};

async function factsOf(method: string, uri: string, body?: unknown, user = ''): Promise<PolicyFacts> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const envelope = parseEnvelope(
    Buffer.from(JSON.stringify({ User: user, RequestMethod: method, RequestUri: uri, RequestHeaders: { 'Content-Type': 'application/json' }, ...(text ? { RequestBody: Buffer.from(text).toString('base64') } : {}) })),
  );
  if (!envelope.ok) throw new Error(envelope.problem);
  return policyFacts(requestFacts(envelope.value), ALL, lookups);
}

describe('facts: what a request acts on, for policies', () => {
  it('normalises host paths', () => {
    const table: Array<[string, string]> = [
      ['/home/alice/../../etc', '/etc'],
      ['/home//alice/./x/', '/home/alice/x'],
      ['/', '/'],
      ['etc', '/etc'],
    ];
    for (const [input, output] of table) expect(normaliseHostPath(input), input).to.equal(output);
    expect(bindDevice('local', { type: 'none', o: 'bind', device: '/etc' })).to.equal('/etc');
    expect(bindDevice('', { o: 'ro,rbind', device: '/srv/' })).to.equal('/srv');
    expect(bindDevice('local', { type: 'tmpfs', device: 'tmpfs' })).to.equal(undefined);
    expect(bindDevice('other', { o: 'bind', device: '/etc' })).to.equal(undefined);
  });

  it('finds every host path a create binds: -v, --mount bind, a bind volume by name, an inline bind volume, .. tricks', async () => {
    const facts = await factsOf('POST', '/v1.41/containers/create?name=alice-web', {
      Image: 'app:1',
      HostConfig: {
        Binds: ['/home/alice/../../etc:/a', 'etcvol:/b', 'data:/c:ro'],
        Mounts: [
          { Type: 'bind', Source: '/var/run/', Target: '/d' },
          { Type: 'volume', Source: 'newvol', Target: '/e', VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/root' } } } },
        ],
      },
    }, 'alice');
    expect(facts.bindSources).to.have.members(['/etc', '/var/run', '/root']);
    expect(facts.volumeNames).to.have.members(['etcvol', 'data', 'newvol']);
    expect(facts).to.deep.include({ user: 'alice', containerNames: ['alice-web'], imageNames: ['app:1'], privileged: false, runAsUser: 'app' });
  });

  it('reads top-level HostConfig fields too (old API shapes)', async () => {
    const facts = await factsOf('POST', '/containers/create', '{"Image":"x","Privileged":true,"Binds":["/etc:/h"]}');
    expect(facts).to.deep.include({ privileged: true, bindSources: ['/etc'], containerNames: [''], user: 'Anonymous', runAsUser: '' });
  });

  it('names the real container behind an id, a prefix or an exec', async () => {
    expect((await factsOf('GET', '/v1.41/containers/abc123/logs')).containerNames).to.deep.equal(['web']);
    expect((await factsOf('POST', '/v1.41/exec/e1/start', { Detach: true })).containerNames).to.deep.equal(['web']);
    expect((await factsOf('DELETE', '/containers/ghost')).containerNames).to.deep.equal(['ghost']);
    expect((await factsOf('GET', '/containers/json')).containerNames).to.deep.equal([]);
    const exec = await factsOf('POST', '/containers/abc123/exec', { Cmd: ['id'] });
    expect(exec).to.deep.include({ containerNames: ['web'], runAsUser: 'www-data', privileged: false });
  });

  it('names the images a request touches', async () => {
    const table: Array<[string, string, unknown, string[]]> = [
      ['POST', '/images/create?fromImage=registry.example%3A5000%2Fteam%2Fapp&tag=1.0', undefined, ['registry.example:5000/team/app:1.0']],
      ['POST', '/images/create?fromImage=busybox%40sha256%3Aabc&tag=x', undefined, ['busybox@sha256:abc']],
      ['POST', '/images/app/push?tag=2', undefined, ['app:2']],
      ['POST', '/images/app:1/tag?repo=alice%2Fapp&tag=3', undefined, ['app:1', 'alice/app:3']],
      ['POST', '/build?t=a%3A1&t=b', undefined, ['a:1', 'b']],
      ['POST', '/commit?container=web&repo=alice%2Fsnap&tag=t', {}, ['alice/snap:t']],
      ['DELETE', '/images/registry.example:5000/x:1', undefined, ['registry.example:5000/x:1']],
      ['POST', '/images/prune', undefined, []],
    ];
    for (const [method, uri, body, images] of table) expect((await factsOf(method, uri, body)).imageNames, uri).to.deep.equal(images);
  });

  it('finds the bind a volume create asks for, and names volumes acted on', async () => {
    const create = await factsOf('POST', '/volumes/create', { Name: 'v', DriverOpts: { type: 'none', o: 'bind', device: '/etc/../etc/' } });
    expect(create).to.deep.include({ volumeNames: ['v'], bindSources: ['/etc'] });
    expect((await factsOf('DELETE', '/volumes/v2')).volumeNames).to.deep.equal(['v2']);
  });

  it('makes only the lookups asked for', async () => {
    const envelope = parseEnvelope(Buffer.from(JSON.stringify({ RequestMethod: 'GET', RequestUri: '/containers/abc123/json', RequestHeaders: {} })));
    if (!envelope.ok) throw new Error(envelope.problem);
    let asked = 0;
    const counting: SubjectLookups = { ...lookups, containerName: async (ref) => (asked++, lookups.containerName(ref)) };
    expect((await policyFacts(requestFacts(envelope.value), new Set(), counting)).containerNames).to.deep.equal([]);
    expect(asked).to.equal(0);
  });
});
