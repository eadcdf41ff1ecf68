/**
 * The calling host through AuthZ (AUTHZ_TLS_PORT): the rule set chosen for it, r.host and c.host,
 * the detection and the request counter; local callers stay HOST_NAME. With DOCKER_SOCKET=none what
 * needs the caller's engine is a fault: denied in KILL mode, saying why.
 */
import { expect } from 'chai';
import pino from 'pino';
import { Enforcer } from '../../../src/actions/enforcer';
import { Stopper } from '../../../src/actions/stopper';
import { loadConfig } from '../../../src/config';
import type { DockerClient } from '../../../src/docker/client';
import { NoEngineClient } from '../../../src/docker/no-engine';
import type { Evaluator, RuleGroup } from '../../../src/engine/judge';
import { ContainerInspector } from '../../../src/facts/inspector';
import { createMetrics } from '../../../src/metrics';
import { AuthzService } from '../../../src/modes/authz';
import type { LoadedPolicies } from '../../../src/policies/loaded';
import type { RuleSet } from '../../../src/rules/rule-set';
import type { EvaluationJob, JobResult } from '../../../src/rules/sandbox';
import { DetectionStore } from '../../../src/store/detections';
import { fakeDocker } from '../fake-docker';
import { loaded, yaml } from '../policies/leash/helpers';

const log = pino({ level: 'silent' });

const POLICIES = yaml(
  '- description: fleet a',
  '  hosts: [+^host-a]',
  '  default: Deny',
  '  policies:',
  '    - members: ["*", Anonymous]',
  '      rules:',
  '        containers:',
  '          Allow:',
  '- description: fleet b',
  '  hosts: [+^host-b]',
  '  default: Deny',
  '  policies:',
  '    - members: ["*", Anonymous]',
  '      rules:',
  '        containers:',
  '          ReadOnly:',
  '- description: the server itself',
  '  hosts: [+^central$]',
  '  default: Allow',
);

interface Built {
  readonly authz: AuthzService;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly store: DetectionStore;
  /** Every argument rules were called with (requests and containers). */
  readonly seen: unknown[];
}

function build(env: Record<string, string>, options: { docker?: DockerClient; policies?: string; violates?: boolean; evaluator?: Evaluator } = {}): Built {
  const config = loadConfig({ RULES_PATH: '/nonexistent.ts', HOST_NAME: 'central', MODE: 'KILL', ...env }, '/', 'test');
  const metrics = createMetrics('test');
  const docker = options.docker ?? fakeDocker();
  const store = new DetectionStore({ capacity: 100 });
  const enforcer = new Enforcer({ log, metrics, store, stopper: new Stopper(docker, 0, log, metrics) });
  const inspector = new ContainerInspector({ docker, log, cacheParams: false, disableParams: false, disableMetrics: true, cacheTrusted: () => false });
  const judgeOptions = { whiteList: config.whiteList, imageWhiteList: config.imageWhiteList, stopOnFirstViolation: true, defaultMode: config.mode };
  const seen: unknown[] = [];
  const evaluator: Evaluator = options.evaluator ?? {
    evaluate: async (jobs: readonly EvaluationJob[]): Promise<JobResult[]> =>
      jobs.map((job) => {
        seen.push(...job.args);
        const outcomes = (job.indices ?? [0]).map(() => ({ kind: 'value' as const, value: options.violates === true }));
        return { outcomes, read: [] };
      }),
  };
  const group = (names: readonly string[]): RuleGroup => ({ handle: 0, rules: names.map((name, index) => ({ name, mode: undefined, index })) });
  const rules: RuleSet = { containerRules: group(['c rule']), whitelistRules: group([]), requestRules: group(['r rule']), files: [], evaluator, close: () => undefined };
  const policies: LoadedPolicies | undefined = options.policies !== undefined ? { config: loaded(options.policies), files: [] } : undefined;
  const authz = new AuthzService({ config, log, metrics, docker, inspector, enforcer, judgeOptions, snapshot: () => ({ rules, policies }) });
  return { authz, metrics, store, seen };
}

const envelope = (method: string, uri: string, body?: unknown): Buffer =>
  Buffer.from(JSON.stringify({ RequestMethod: method, RequestUri: uri, RequestHeaders: { 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { RequestBody: Buffer.from(JSON.stringify(body)).toString('base64') }) }));

const CREATE = envelope('POST', '/v1.41/containers/create?name=web', { Image: 'busybox', HostConfig: { NetworkMode: 'none' } });

describe('fleet: the calling host through AuthZ', () => {
  it('chooses the policy rule set for the calling host, not HOST_NAME', async () => {
    const { authz } = build({}, { policies: POLICIES });
    expect(await authz.authorize(CREATE, undefined, { host: 'host-a' })).to.deep.equal({ Allow: true });
    const b = await authz.authorize(CREATE, undefined, { host: 'host-b' });
    expect(b.Allow).to.equal(false);
    expect(b.Msg).to.include('fleet b');
    const c = await authz.authorize(CREATE, undefined, { host: 'host-c' });
    expect(c.Allow).to.equal(false);
    expect(c.Msg).to.include('no policy rule set applies to host "host-c"');
  });

  it('judges local callers (no caller host) for HOST_NAME', async () => {
    const { authz } = build({}, { policies: POLICIES });
    expect(await authz.authorize(CREATE)).to.deep.equal({ Allow: true });
    const { policy } = await authz.explain(CREATE);
    expect(policy?.ruleSet?.name).to.equal('the server itself');
  });

  it('shows rules the host as r.host and c.host', async () => {
    const { authz, seen } = build({});
    await authz.authorize(CREATE, undefined, { host: 'host-a' });
    const hosts = seen.map((arg) => (arg as { host?: unknown }).host);
    expect(hosts).to.have.length.greaterThanOrEqual(2);
    expect(hosts.every((host) => host === 'host-a'), JSON.stringify(hosts)).to.equal(true);
    seen.length = 0;
    await authz.authorize(CREATE);
    expect(seen.map((arg) => (arg as { host?: unknown }).host).every((host) => host === 'central')).to.equal(true);
  });

  it('records the host on detections and keeps one name on two hosts apart', async () => {
    const { authz, store } = build({}, { violates: true });
    await authz.authorize(CREATE, undefined, { host: 'host-a' });
    await authz.authorize(CREATE, undefined, { host: 'host-b' });
    const detections = store.list();
    expect(detections.map((d) => [d.name, d.host])).to.have.deep.members([
      ['web', 'host-a'],
      ['web', 'host-b'],
    ]);
  });

  it('records the host on policy denials', async () => {
    const { authz, store } = build({}, { policies: POLICIES });
    await authz.authorize(CREATE, undefined, { host: 'host-b' });
    expect(store.list().map((d) => d.host)).to.deep.equal(['host-b']);
  });

  it('counts requests by host (HOST_NAME for local callers)', async () => {
    const { authz, metrics } = build({});
    await authz.authorize(CREATE, undefined, { host: 'host-a' });
    await authz.authorize(CREATE);
    const text = await metrics.registry.getSingleMetricAsString('docker_enforcer_authz_requests_total');
    expect(text).to.include('decision="allow",host="host-a"} 1');
    expect(text).to.include('decision="allow",host="central"} 1');
  });
});

describe('fleet: DOCKER_SOCKET=none (the server profile)', () => {
  const none = { DOCKER_SOCKET: 'none' };

  it('judges what the body tells without an engine', async () => {
    const { authz } = build(none, { policies: POLICIES, docker: new NoEngineClient() });
    expect(await authz.authorize(CREATE, undefined, { host: 'host-a' })).to.deep.equal({ Allow: true });
  });

  it('denies in KILL mode what needs the calling host (a container behind an id), saying why', async () => {
    const policies = yaml('- hosts: [+.*]', '  default: Deny', '  policies:', '    - members: ["*", Anonymous]', '      rules:', '        containers:', '          ContainerName: [^web]');
    const { authz } = build(none, { docker: new NoEngineClient(), policies });
    const reply = await authz.authorize(envelope('POST', '/v1.41/containers/0123abcd/stop'), undefined, { host: 'host-a' });
    expect(reply.Allow).to.equal(false);
    expect(reply.Msg).to.include('no Docker engine here (DOCKER_SOCKET=none)');
    expect(reply.Msg).to.include('cannot be looked up on the calling host');
  });

  it('denies in KILL mode a rule that reads c.position', async () => {
    const evaluator: Evaluator = {
      evaluate: async (jobs: readonly EvaluationJob[]): Promise<JobResult[]> => jobs.map((job) => ({ outcomes: (job.indices ?? [0]).map(() => ({ kind: 'value' as const, value: false })), read: job.watch?.includes('position') ? ['position'] : [] })),
    };
    const { authz } = build(none, { docker: new NoEngineClient(), evaluator });
    const reply = await authz.authorize(CREATE, undefined, { host: 'host-a' });
    expect(reply.Allow).to.equal(false);
    expect(reply.Msg).to.include('the running containers (c.position) cannot be looked up on the calling host');
  });
});
