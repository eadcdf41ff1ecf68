import { expect } from 'chai';
import pino from 'pino';
import { Enforcer } from '../../../src/actions/enforcer';
import { Stopper } from '../../../src/actions/stopper';
import { loadConfig } from '../../../src/config';
import { DockerError, type DockerClient } from '../../../src/docker/client';
import type { Evaluator, RuleGroup } from '../../../src/engine/judge';
import { ContainerInspector } from '../../../src/facts/inspector';
import { createMetrics } from '../../../src/metrics';
import { AuthzService } from '../../../src/modes/authz';
import { fakeDocker } from '../fake-docker';
import type { RuleSet } from '../../../src/rules/rule-set';
import type { EvaluationJob, JobResult } from '../../../src/rules/sandbox';
import { DetectionStore } from '../../../src/store/detections';

const log = pino({ level: 'silent' });

const docker = (inspect: DockerClient['inspect']): DockerClient => fakeDocker({ inspect });

const group = (names: string[]): RuleGroup => ({ handle: 0, rules: names.map((name, index) => ({ name, mode: undefined, index })) });

function ruleSet(evaluator: Evaluator): RuleSet {
  return { containerRules: group(['no privileged']), whitelistRules: group([]), requestRules: group(['no exec as root']), files: [], evaluator, close: () => undefined };
}

function service(env: Record<string, string>, evaluator: Evaluator, inspect: DockerClient['inspect'] = async () => ({ Id: 'c1', Name: '/web', HostConfig: {} })): { authz: AuthzService; metrics: ReturnType<typeof createMetrics> } {
  const config = loadConfig({ RULES_PATH: '/nonexistent.ts', ...env }, '/', 'test');
  const metrics = createMetrics('test');
  const client = docker(inspect);
  const store = new DetectionStore({ capacity: 100 });
  const enforcer = new Enforcer({ log, metrics, store, stopper: new Stopper(client, 0, log, metrics) });
  const inspector = new ContainerInspector({ docker: client, log, cacheParams: false, disableParams: false, disableMetrics: true, cacheTrusted: () => false });
  const judgeOptions = { whiteList: config.whiteList, imageWhiteList: config.imageWhiteList, stopOnFirstViolation: true, defaultMode: config.mode };
  const rules = ruleSet(evaluator);
  return { authz: new AuthzService({ config, log, metrics, docker: client, inspector, enforcer, judgeOptions, snapshot: () => ({ rules, policies: undefined }) }), metrics };
}

const compliant: Evaluator = { evaluate: async (jobs: readonly EvaluationJob[]): Promise<JobResult[]> => jobs.map(() => ({ outcomes: [{ kind: 'value', value: false }], read: [] })) };
const dying: Evaluator = { evaluate: async () => Promise.reject(new Error('the rule engine is gone')) };

const envelope = (method: string, uri: string, body?: unknown): Buffer =>
  Buffer.from(JSON.stringify({ RequestMethod: method, RequestUri: uri, RequestHeaders: { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { RequestBody: Buffer.from(JSON.stringify(body)).toString('base64') }) }));

describe('AuthZ service: a fault never becomes an allow', () => {
  it('denies in KILL mode when the rule engine fails, even with DEFAULT_ACTION_ALLOW=True', async () => {
    const { authz, metrics } = service({ MODE: 'KILL', DEFAULT_ACTION_ALLOW: 'True' }, dying);
    const reply = await authz.authorize(envelope('POST', '/v1.41/containers/create', { Image: 'x' }));
    expect(reply.Allow).to.equal(false);
    expect(reply.Msg).to.include('the rule engine is gone');
    expect((await metrics.registry.getSingleMetricAsString('docker_enforcer_authz_unjudgeable_total'))).to.include('kind="fault"} 1');
  });

  it('allows and reports in WARN mode', async () => {
    const { authz } = service({ MODE: 'WARN' }, dying);
    expect(await authz.authorize(envelope('GET', '/v1.41/containers/json'))).to.deep.equal({ Allow: true });
  });

  it('denies in KILL mode when the container being updated cannot be inspected (not a 404)', async () => {
    const { authz } = service({ MODE: 'KILL' }, compliant, async () => {
      throw new DockerError('inspect', 'no answer within 30000 ms', undefined);
    });
    const reply = await authz.authorize(envelope('POST', '/v1.41/containers/web/update', { CpuShares: 512 }));
    expect(reply.Allow).to.equal(false);
    expect(reply.Msg).to.match(/cannot inspect container "web"/);
  });

  it('leaves a missing container to dockerd (it answers 404 itself)', async () => {
    const { authz } = service({ MODE: 'KILL' }, compliant, async () => {
      throw new DockerError('inspect', 'no such container', 404);
    });
    expect(await authz.authorize(envelope('POST', '/v1.41/containers/ghost/update', { CpuShares: 512 }))).to.deep.equal({ Allow: true });
  });

  it('keeps DEFAULT_ACTION_ALLOW for envelopes that are not Docker requests', async () => {
    expect(await service({ MODE: 'KILL', DEFAULT_ACTION_ALLOW: 'True' }, compliant).authz.authorize(Buffer.from('{not json'))).to.deep.equal({ Allow: true });
    const denied = await service({ MODE: 'KILL', DEFAULT_ACTION_ALLOW: 'False' }, compliant).authz.authorize(Buffer.from('{not json'));
    expect(denied.Allow).to.equal(false);
    expect(denied.Msg).to.match(/^Denied as default action: malformed AuthZ request/);
  });

  it('answers a fault, not the default action, when the handler has to give up', () => {
    const { authz } = service({ MODE: 'KILL', DEFAULT_ACTION_ALLOW: 'True' }, compliant);
    expect(authz.faultReply('metrics registry gone').Allow).to.equal(false);
  });
});
