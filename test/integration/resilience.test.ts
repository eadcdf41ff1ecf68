/**
 * Every Docker call fails while the plugin is down, so the enforcer's availability is the host's:
 * it must ride out a dockerd that freezes or restarts, and keep answering and enforcing afterwards.
 */
import { expect } from 'chai';
import { getJson, startEnforcer, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { rawDocker } from './raw-docker';
import { testEngine } from './setup';

const plugin = tcpPlugin('resilience', 13);
const RULES = `export const rules: ContainerRule[] = [
  { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
  // Judged at start only, so the create goes through and the events path has something to stop.
  { name: 'no bad names at run time', rule: (c) => c.checkSource !== 'authz' && c.name.startsWith('bad') },
];`;
const privileged = JSON.stringify({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create?name=p', RequestHeaders: { 'Content-Type': 'application/json' }, RequestBody: Buffer.from('{"Image":"i","HostConfig":{"Privileged":true}}').toString('base64') });

describe('riding out dockerd freezes and restarts in AuthZ and events mode', function () {
  this.timeout(180_000);
  let enforcer: RunningEnforcer | undefined;

  before(async () => {
    enforcer = await startEnforcer(testEngine(), { HTTP_PORT: String(plugin.port), RUN_PERIODIC: 'False', RUN_START_EVENTS: 'True', MODE: 'KILL', DOCKER_REQ_TIMEOUT_S: '3' }, { rules: RULES });
    await plugin.register();
  });

  after(async () => {
    await plugin.unregister();
    await testEngine().removeAllContainers();
    await enforcer?.stop();
  });

  it('a 15 s freeze: decisions keep coming, /health says why, and enforcement resumes', async () => {
    const running = enforcer!;
    const answers: boolean[] = [];
    const freezing = testEngine().freeze(15_000);
    // While dockerd is frozen: the plugin still decides (a create needs no Docker call) and the API answers.
    const deadline = Date.now() + 14_000;
    while (Date.now() < deadline) {
      const reply = (await (await fetch(`${running.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: privileged })).json()) as { Allow: boolean };
      answers.push(reply.Allow);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const health = await getJson(`${running.url}/health`);
    await freezing;
    expect(answers.length).to.be.greaterThan(20);
    expect(answers.every((allow) => allow === false)).to.equal(true);
    expect(health.status).to.equal(503);
    expect(JSON.stringify(health.body)).to.match(/docker unreachable|no answer/);

    await testEngine().waitFor(async () => (await rawDocker('GET', '/v1.41/containers/json')).status === 200, 30_000, 'dockerd calls to work again');
    await testEngine().runContainer({ name: 'bad-after-freeze' });
    await testEngine().waitFor(async () => !(await testEngine().isRunning('bad-after-freeze')), 30_000, 'the violator to be stopped after the freeze');
    expect((await rawDocker('POST', '/v1.41/containers/create?name=priv-after-freeze', { Image: testEngine().image, HostConfig: { Privileged: true, NetworkMode: 'none' } })).status).to.equal(403);
  });

  it('a restart: the plugin is activated again, decisions and events work', async () => {
    await testEngine().restart();
    await testEngine().waitFor(async () => (await rawDocker('GET', '/v1.41/containers/json')).status === 200, 30_000, 'dockerd to answer through the plugin after its restart');
    expect((await rawDocker('POST', '/v1.41/containers/create?name=priv-after-restart', { Image: testEngine().image, HostConfig: { Privileged: true, NetworkMode: 'none' } })).status).to.equal(403);
    await testEngine().runContainer({ name: 'bad-after-restart' });
    await testEngine().waitFor(async () => !(await testEngine().isRunning('bad-after-restart')), 30_000, 'the violator to be stopped after the restart');
    expect((await getJson(`${enforcer!.url}/health`)).status).to.be.oneOf([200, 503]);
  });
});
