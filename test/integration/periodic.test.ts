import { expect } from 'chai';
import { detections, getJson, startEnforcer, type RunningEnforcer } from './enforcer';
import { testEngine } from './setup';

const MEMORY_RULE = `export const rules: ContainerRule[] = [
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
];`;

describe('periodic mode against a real engine', function () {
  this.timeout(90_000);
  let enforcer: RunningEnforcer | undefined;

  afterEach(async () => {
    await enforcer?.stop();
    enforcer = undefined;
    await testEngine().removeAllContainers();
  });

  async function stopped(name: string): Promise<void> {
    await testEngine().waitFor(async () => !(await testEngine().isRunning(name)), 15_000, `${name} to be stopped`);
  }

  it('KILL stops a container without a memory limit and leaves one with a limit running', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'no-limit' });
    await engine.runContainer({ name: 'with-limit', memory: 64 * 1024 * 1024 });
    enforcer = await startEnforcer(engine, { MODE: 'KILL' }, { rules: MEMORY_RULE });
    await enforcer.daemon.scanNow();
    await stopped('no-limit');
    expect(await engine.isRunning('with-limit')).to.equal(true);
    const found = await detections(enforcer);
    expect(found.map((d) => [d.name, d.violated_rule, d.mode, d.action, d.source])).to.deep.equal([
      ['no-limit', 'must have memory limit', 'KILL', 'stopped', 'periodic'],
    ]);
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    expect(metrics).to.match(/^containers_stopped_total 1$/m);
    expect(metrics).to.match(/^docker_enforcer_violations_total\{rule="must have memory limit",source="periodic",mode="KILL"\} 1$/m);
  });

  it('WARN leaves violators running and records each detection, counting repeats', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'warn-a' });
    await engine.runContainer({ name: 'warn-b' });
    enforcer = await startEnforcer(engine, { MODE: 'WARN' }, { rules: MEMORY_RULE });
    await enforcer.daemon.scanNow();
    await enforcer.daemon.scanNow();
    expect(await engine.isRunning('warn-a')).to.equal(true);
    expect(await engine.isRunning('warn-b')).to.equal(true);
    const found = await detections(enforcer);
    expect(found.map((d) => [d.name, d.action, d.count]).sort()).to.deep.equal([
      ['warn-a', 'warned', 2],
      ['warn-b', 'warned', 2],
    ]);
    expect(enforcer.logged('container violates rules')).to.have.length(4);
  });

  it('name, image, per-rule and custom whitelists each spare a container', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'spared-by-name' });
    await engine.runContainer({ name: 'spared-by-rule-name' });
    await engine.runContainer({ name: 'spared-by-label', labels: { 'enforcer.skip': 'must have memory limit' } });
    await engine.runContainer({ name: 'victim' });
    enforcer = await startEnforcer(
      engine,
      { MODE: 'KILL', WHITE_LIST: 'spared-by-n.*, spared-by-rule-name|must have memory limit' },
      {
        rules: MEMORY_RULE,
        whitelistRules: `export const whitelistRules: WhitelistRule[] = [
  { name: 'skip label', rule: (c, ruleName) => c.params.Config?.Labels?.['enforcer.skip'] === ruleName },
];`,
      },
    );
    await enforcer.daemon.scanNow();
    await stopped('victim');
    for (const name of ['spared-by-name', 'spared-by-rule-name', 'spared-by-label']) expect(await engine.isRunning(name), name).to.equal(true);
    expect((await detections(enforcer)).map((d) => d.name)).to.deep.equal(['victim']);
    await enforcer.stop();

    // The image whitelist: every container here runs the test image.
    await engine.runContainer({ name: 'spared-by-image' });
    enforcer = await startEnforcer(engine, { MODE: 'KILL', IMAGE_WHITE_LIST: 'enforcer-test:.*' }, { rules: MEMORY_RULE });
    await enforcer.daemon.scanNow();
    expect(await engine.isRunning('spared-by-image')).to.equal(true);
    expect(await detections(enforcer)).to.deep.equal([]);
  });

  it('a metrics rule stops a container that fills its /dev/shm and spares an idle one', async () => {
    const engine = testEngine();
    await engine.runContainer({
      name: 'memory-hog',
      shmSize: 256 * 1024 * 1024,
      cmd: ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=96 2>/dev/null; sleep 3600'],
    });
    await engine.runContainer({ name: 'idle' });
    // Let dd finish filling shared memory before the sample is taken.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    enforcer = await startEnforcer(
      engine,
      { MODE: 'KILL' },
      { rules: `export const rules: ContainerRule[] = [
  { name: 'memory usage above 64 MiB', rule: (c) => (c.metrics.memory_stats?.usage ?? 0) > 64 * 1024 * 1024 },
];` },
    );
    await enforcer.daemon.scanNow();
    await stopped('memory-hog');
    expect(await engine.isRunning('idle')).to.equal(true);
    expect((await detections(enforcer)).map((d) => d.name)).to.deep.equal(['memory-hog']);
  });

  it('"no more than 3" stops exactly the newest extra containers', async () => {
    const engine = testEngine();
    for (const name of ['first', 'second', 'third', 'fourth', 'fifth']) await engine.runContainer({ name });
    enforcer = await startEnforcer(engine, { MODE: 'KILL' }, { rules: `export const rules: ContainerRule[] = [
  { name: 'no more than 3 containers', rule: (c) => c.position >= 3 },
];` });
    await enforcer.daemon.scanNow();
    await stopped('fourth');
    await stopped('fifth');
    for (const name of ['first', 'second', 'third']) expect(await engine.isRunning(name), name).to.equal(true);
  });

  it('reports a throwing rule with its reason, cuts off an endless one, and still stops the real violator', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'real-violator' });
    enforcer = await startEnforcer(
      engine,
      { MODE: 'KILL', STOP_ON_FIRST_VIOLATION: 'False', RULE_TIMEOUT_MS: '100' },
      { rules: `export const rules: ContainerRule[] = [
  { name: 'spins forever', rule: () => { while (true) { /* bug */ } }, mode: 'WARN' },
  { name: 'reads a missing field', rule: (c) => (c.params as any).Nope.Deeper === 1, mode: 'WARN' },
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
];` },
    );
    await enforcer.daemon.scanNow();
    await stopped('real-violator');
    const [detection] = await detections(enforcer, '?show_all_violated_rules=1');
    expect(detection?.violated_rule).to.deep.equal([
      'Exception - rule: spins forever, class: RuleTimeoutError, val: did not return within RULE_TIMEOUT_MS=100 ms',
      "Exception - rule: reads a missing field, class: TypeError, val: Cannot read properties of undefined (reading 'Deeper')",
      'must have memory limit',
    ]);
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_rule_errors_total\{rule="spins forever",kind="container"\} 1$/m);
    expect(metrics).to.match(/^docker_enforcer_rule_timeouts_total\{rule="spins forever"\} 1$/m);
    expect(enforcer.logged('rule failed; counted as a violation').map((l) => l['rule'])).to.include.members(['spins forever', 'reads a missing field']);
  });

  it('stops the container whose rule exhausts the rule worker heap, and keeps judging the others', async function () {
    this.timeout(60_000);
    const engine = testEngine();
    await engine.runContainer({ name: 'hog-target' });
    await engine.runContainer({ name: 'bystander' });
    enforcer = await startEnforcer(engine, { MODE: 'KILL', RULE_TIMEOUT_MS: '20000' }, { rules: `export const rules: ContainerRule[] = [
  { name: 'allocates without bound', rule: (c) => { if (c.name !== 'hog-target') return false; const all: string[][] = []; for (;;) all.push(new Array(1e6).fill(c.name)); } },
];` });
    await enforcer.daemon.scanNow();
    await stopped('hog-target');
    expect(await engine.isRunning('bystander')).to.equal(true);
    const [detection] = await detections(enforcer, '?show_all_violated_rules=1');
    expect(detection?.name).to.equal('hog-target');
    expect(detection?.violated_rule).to.have.length(1);
    expect(detection?.violated_rule[0]).to.match(/^Exception - rule: allocates without bound, class: RuleWorkerCrash, val: the rule worker died during this call/);
    // The daemon is unharmed and the next scan runs in a fresh worker.
    await enforcer.daemon.scanNow();
    expect(await engine.isRunning('bystander')).to.equal(true);
  });

  it('a per-rule WARN leaves its violator running under global KILL', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'warn-only', labels: { team: 'none' } });
    enforcer = await startEnforcer(engine, { MODE: 'KILL' }, { rules: `export const rules: ContainerRule[] = [
  { name: 'team label must be set', rule: (c) => c.params.Config?.Labels?.['team'] === 'none', mode: 'WARN' },
];` });
    await enforcer.daemon.scanNow();
    expect(await engine.isRunning('warn-only')).to.equal(true);
    const found = await detections(enforcer, '?show_image_and_labels=1');
    expect(found.map((d) => [d.name, d.mode, d.action, d.image, d.labels])).to.deep.equal([
      ['warn-only', 'WARN', 'warned', 'enforcer-test:busybox', { team: 'none' }],
    ]);
  });

  it('serves config, rules, health and recent detections over HTTP', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'http-violator' });
    enforcer = await startEnforcer(engine, { MODE: 'WARN' }, { rules: MEMORY_RULE });
    await enforcer.daemon.scanNow();
    const config = await getJson(`${enforcer.url}/config`);
    expect(config.body['mode']).to.equal('WARN');
    const rules = await getJson(`${enforcer.url}/rules`);
    expect(JSON.stringify(rules.body)).to.include('must have memory limit');
    await testEngine().waitFor(async () => (await getJson(`${enforcer!.url}/health`)).status === 200, 10_000, 'health to be ok');
    const root = await getJson(`${enforcer.url}/recent`);
    expect(root.body['last_full_check_run_timestamp_start']).to.be.a('string');
    expect((root.body['detections'] as unknown[]).length).to.equal(1);
  });
});
