import { envelopeBytes } from '../envelope';
import { expect } from 'chai';
import pino from 'pino';
import { Enforcer } from '../../../src/actions/enforcer';
import { Stopper } from '../../../src/actions/stopper';
import { loadConfig } from '../../../src/config';
import { DockerError, type DockerClient } from '../../../src/docker/client';
import type { Evaluator, RuleGroup } from '../../../src/engine/judge';
import { ContainerInspector } from '../../../src/facts/inspector';
import { createMetrics } from '../../../src/metrics';
import { fakeDocker } from '../fake-docker';
import { AuthzService } from '../../../src/modes/authz';
import type { SelfProtectionSettings } from '../../../src/policies/self-protection';
import type { RuleSet } from '../../../src/rules/rule-set';
import type { EvaluationJob, JobResult } from '../../../src/rules/sandbox';
import { DetectionStore } from '../../../src/store/detections';

const log = pino({ level: 'silent' });
const SELF_ID = 'f'.repeat(64);
const WEB_ID = 'b'.repeat(64);

/** dockerd's view: the enforcer's container (`enforcer-self`) and `web`, by name, full id or id prefix. */
async function inspect(ref: string) {
  if (ref === 'enforcer-self' || SELF_ID.startsWith(ref)) return { Id: SELF_ID, Name: '/enforcer-self', HostConfig: {} };
  if (ref === 'web' || WEB_ID.startsWith(ref)) return { Id: WEB_ID, Name: '/web', HostConfig: {} };
  throw new DockerError('inspect', 'no such container', 404);
}

function client(overrides: Partial<DockerClient> = {}): DockerClient {
  return fakeDocker({
    inspect,
    execContainer: async (id) => (id === 'self-exec' ? SELF_ID : WEB_ID),
    pluginName: async (ref) => {
      if ('9c0ffee'.startsWith(ref)) return 'enforcer:latest';
      throw new DockerError('plugin_inspect', 'plugin not found', 404);
    },
    ...overrides,
  });
}

const compliant: Evaluator = { evaluate: async (jobs: readonly EvaluationJob[]): Promise<JobResult[]> => jobs.map(() => ({ outcomes: [{ kind: 'value', value: false }], read: [] })) };
const group = (): RuleGroup => ({ handle: 0, rules: [] });
const rules: RuleSet = { containerRules: group(), whitelistRules: group(), requestRules: group(), files: [], evaluator: compliant, close: () => undefined };

/** The service as the daemon wires it: settings from the config, the id as the daemon learnt it. */
function service(env: Record<string, string>, docker: DockerClient = client(), settings: Partial<SelfProtectionSettings> = {}) {
  const config = loadConfig({ RULES_PATH: '/etc/de/rules/rules.ts', SELF_CONTAINER: 'enforcer-self', SELF_PROTECTION_ADMINS: 'admin', ...env }, '/', 'test');
  const metrics = createMetrics('test');
  const store = new DetectionStore({ capacity: 100 });
  const enforcer = new Enforcer({ log, metrics, store, stopper: new Stopper(docker, 0, log, metrics) });
  const inspector = new ContainerInspector({ docker, log, cacheParams: false, disableParams: false, disableMetrics: true, cacheTrusted: () => false });
  const judgeOptions = { whiteList: config.whiteList, imageWhiteList: config.imageWhiteList, stopOnFirstViolation: true, defaultMode: config.mode };
  const selfProtection = (): SelfProtectionSettings => ({ selfContainerId: SELF_ID, selfContainerNames: ['enforcer-self'], pluginNames: config.selfPluginNames, protectedPaths: ['/etc/de/rules'], admins: config.selfProtectionAdmins, ...settings });
  const authz = new AuthzService({ config, log, metrics, docker, inspector, enforcer, judgeOptions, snapshot: () => ({ rules, policies: undefined }), selfProtection });
  return { authz, store };
}

const envelope = (method: string, uri: string, body?: unknown, user = 'mallory'): Buffer => envelopeBytes(method, uri, body, user);

describe('AuthZ service: self-protection', () => {
  it('denies a stop of its own container by name, id prefix or full id even in WARN mode, and records it', async () => {
    const { authz, store } = service({ MODE: 'WARN' });
    for (const ref of ['enforcer-self', SELF_ID.slice(0, 12), SELF_ID]) {
      const reply = await authz.authorize(envelope('POST', `/v1.41/containers/${ref}/stop`));
      expect(reply, ref).to.deep.equal({ Allow: false, Msg: "self-protection: docker stop of the enforcer's own container is reserved to SELF_PROTECTION_ADMINS" });
    }
    const recorded = store.list().find((d) => d.owner === 'mallory');
    expect(recorded).to.deep.include({ source: 'authz', action: 'denied', mode: 'KILL' });
    expect(recorded?.id).to.match(/^self-protection:mallory:/);
  });

  it('allows the same to a listed admin, and everything to everybody with SELF_PROTECTION=False', async () => {
    expect(await service({}).authz.authorize(envelope('POST', '/v1.41/containers/enforcer-self/stop', undefined, 'admin'))).to.deep.equal({ Allow: true });
    expect(await service({ SELF_PROTECTION: 'False', MODE: 'KILL' }).authz.authorize(envelope('POST', '/v1.41/containers/enforcer-self/stop'))).to.deep.equal({ Allow: true });
    expect(await service({ SELF_PROTECTION: 'False', MODE: 'KILL' }).authz.authorize(envelope('POST', '/v1.41/containers/create', { Image: 'x', HostConfig: { Binds: ['/:/host'] } }))).to.deep.equal({ Allow: true });
  });

  it('leaves other containers to the rules (an id prefix of another container is not the enforcer)', async () => {
    const { authz } = service({ MODE: 'KILL' });
    for (const ref of ['web', WEB_ID.slice(0, 8), 'ghost']) expect(await authz.authorize(envelope('POST', `/v1.41/containers/${ref}/kill`)), ref).to.deep.equal({ Allow: true });
  });

  it('judges an exec start by the exec\u2019s container', async () => {
    const { authz } = service({});
    expect((await authz.authorize(envelope('POST', '/v1.41/exec/self-exec/start', { Detach: false }))).Allow).to.equal(false);
    expect((await authz.authorize(envelope('POST', '/v1.41/exec/web-exec/start', { Detach: false }))).Allow).to.equal(true);
  });

  it('resolves a plugin id prefix through dockerd', async () => {
    const { authz } = service({});
    expect((await authz.authorize(envelope('POST', '/v1.41/plugins/9c0f/disable'))).Msg).to.include('docker plugin disable');
    expect(await authz.authorize(envelope('POST', '/v1.41/plugins/abcd/disable'))).to.deep.equal({ Allow: true });
  });

  it('fails closed when dockerd cannot say what a protected action names, whatever MODE says', async () => {
    const slow = client({
      inspect: async () => {
        throw new DockerError('inspect', 'no answer within 30000 ms', undefined);
      },
    });
    const reply = await service({ MODE: 'WARN' }, slow).authz.authorize(envelope('POST', '/v1.41/containers/web/stop'));
    expect(reply.Allow).to.equal(false);
    expect(reply.Msg).to.include('no answer within 30000 ms');
    // A request self-protection does not guard asks dockerd nothing and is not affected.
    expect(await service({ MODE: 'WARN' }, slow).authz.authorize(envelope('GET', '/v1.41/containers/web/json'))).to.deep.equal({ Allow: true });
  });

  it('denies binding a folder above its rules, and names the folder', async () => {
    const reply = await service({}).authz.authorize(envelope('POST', '/v1.41/containers/create?name=x', { Image: 'busybox', HostConfig: { Binds: ['/etc:/x'] } }));
    expect(reply).to.deep.equal({ Allow: false, Msg: "self-protection: a bind of /etc exposes the enforcer's folder /etc/de/rules and is reserved to SELF_PROTECTION_ADMINS" });
  });

  it('protects nothing of a container when it knows none (SELF_CONTAINER unset, not in a container)', async () => {
    const { authz } = service({ SELF_CONTAINER: '' }, client(), { selfContainerId: undefined, selfContainerNames: [] });
    expect(await authz.authorize(envelope('POST', '/v1.41/containers/enforcer-self/stop'))).to.deep.equal({ Allow: true });
  });
});
