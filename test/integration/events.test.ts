import { expect } from 'chai';
import { detections, getJson, startEnforcer, type RunningEnforcer } from './enforcer';
import { testEngine } from './setup';
import { mapLimit } from '../../src/util/concurrency';

const RULES = `export const rules: ContainerRule[] = [
  { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
  { name: 'name must not start with bad', rule: (c) => c.name.startsWith('bad') },
  { name: 'cpu shares at most 1024', rule: (c) => (c.params.HostConfig?.CpuShares ?? 0) > 1024 },
];`;
const LIMIT = 64 * 1024 * 1024;

describe('events mode against a real engine', function () {
  this.timeout(180_000);
  let enforcer: RunningEnforcer | undefined;

  async function start(env: Record<string, string>): Promise<RunningEnforcer> {
    enforcer = await startEnforcer(testEngine(), { RUN_PERIODIC: 'False', MODE: 'KILL', ...env }, { rules: RULES });
    await testEngine().waitFor(async () => enforcer!.logged('docker event stream connected').length > 0, 10_000, 'the event stream');
    return enforcer;
  }

  async function stoppedWithin(name: string, ms: number): Promise<void> {
    await testEngine().waitFor(async () => !(await testEngine().isRunning(name)), ms, `${name} to be stopped within ${ms} ms`);
  }

  afterEach(async () => {
    await enforcer?.stop();
    enforcer = undefined;
    await testEngine().removeAllContainers();
  });

  it('stops a violating container within 2 s of its start and leaves a compliant one running', async () => {
    await start({ RUN_START_EVENTS: 'True' });
    const engine = testEngine();
    await engine.runContainer({ name: 'compliant', memory: LIMIT });
    const started = Date.now();
    const id = await engine.runContainer({ name: 'no-limit' });
    await stoppedWithin('no-limit', 2000);
    const info = await engine.docker.getContainer(id).inspect();
    const stoppedAfter = Date.parse(info.State.FinishedAt) - Date.parse(info.State.StartedAt);
    expect(stoppedAfter, 'ms from start to stop').to.be.below(2000);
    expect(Date.now() - started).to.be.below(5000);
    expect(await engine.isRunning('compliant')).to.equal(true);
    const found = await detections(enforcer!);
    expect(found.map((d) => [d.name, d.source, d.action])).to.deep.equal([['no-limit', 'event', 'stopped']]);
  });

  it('computes the position only when a rule reads it: a fourth container is stopped at start', async () => {
    const engine = testEngine();
    for (const name of ['one', 'two', 'three']) await engine.runContainer({ name, memory: LIMIT });
    enforcer = await startEnforcer(engine, { RUN_PERIODIC: 'False', MODE: 'KILL', RUN_START_EVENTS: 'True' }, {
      rules: "export const rules: ContainerRule[] = [{ name: 'no more than 3 containers', rule: (c) => c.position >= 3 }];",
    });
    await engine.waitFor(async () => enforcer!.logged('docker event stream connected').length > 0, 10_000, 'the event stream');
    await engine.runContainer({ name: 'four', memory: LIMIT });
    await stoppedWithin('four', 5000);
    for (const name of ['one', 'two', 'three']) expect(await engine.isRunning(name), name).to.equal(true);
  });

  it('re-judges a renamed container (RUN_RENAME_EVENTS alone)', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'good-name', memory: LIMIT });
    await start({ RUN_RENAME_EVENTS: 'True' });
    await engine.docker.getContainer('good-name').rename({ name: 'bad-name' });
    await stoppedWithin('bad-name', 5000);
    expect((await detections(enforcer!)).map((d) => [d.name, d.violated_rule])).to.deep.equal([['bad-name', 'name must not start with bad']]);
  });

  it('re-judges an updated container (RUN_UPDATE_EVENTS alone)', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'cpu-box', memory: LIMIT, cpuShares: 512 });
    await start({ RUN_UPDATE_EVENTS: 'True' });
    expect(await engine.isRunning('cpu-box')).to.equal(true);
    await engine.docker.getContainer('cpu-box').update({ CpuShares: 4096 });
    await stoppedWithin('cpu-box', 5000);
    expect((await detections(enforcer!)).map((d) => d.violated_rule)).to.deep.equal(['cpu shares at most 1024']);
  });

  it('survives a dockerd restart: a violator started right after the engine is back is still stopped', async () => {
    await start({ RUN_START_EVENTS: 'True' });
    const engine = testEngine();
    await engine.restart();
    // Start it at once, before or while the enforcer reconnects.
    await engine.runContainer({ name: 'after-restart' });
    await stoppedWithin('after-restart', 20_000);
    expect(enforcer!.logged('docker event stream disconnected; reconnecting').length).to.be.at.least(1);
    expect(enforcer!.logged('docker event stream connected').length).to.be.at.least(2);
    const metrics = await (await fetch(`${enforcer!.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_event_stream_reconnects_total [1-9]\d*$/m);
    await engine.waitFor(async () => (await getJson(`${enforcer!.url}/health`)).status === 200, 15_000, 'health to recover');
    const health = await getJson(`${enforcer!.url}/health`);
    expect((health.body['event_stream'] as Record<string, unknown>)['state']).to.equal('connected');
  });

  it('judges a burst of 200 containers: exactly the violating half is stopped', async () => {
    await start({ RUN_START_EVENTS: 'True' });
    const engine = testEngine();
    const names = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    // 20 starts in flight: a realistic burst for a 2-core host, and dockerd stays responsive for the checks.
    await mapLimit(names, 20, (name, i) => engine.runContainer({ name, memory: i % 2 === 0 ? LIMIT : undefined }));
    const violators = names.filter((_, i) => i % 2 === 1);
    const compliant = names.filter((_, i) => i % 2 === 0);
    for (const name of violators) await stoppedWithin(name, 60_000);
    const notRunning: string[] = [];
    for (const name of compliant) {
      const info = await engine.docker.getContainer(name).inspect();
      if (!info.State.Running) notRunning.push(`${name} ${JSON.stringify(info.State)} Memory=${info.HostConfig.Memory}`);
    }
    const why = notRunning.length > 0 ? JSON.stringify(await detections(enforcer!)) : '';
    expect(notRunning, `compliant containers that are not running; detections: ${why}`).to.deep.equal([]);
    expect((await detections(enforcer!)).map((d) => d.name).sort()).to.deep.equal([...violators].sort());
  });
});
