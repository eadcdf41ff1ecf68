import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'chai';
import { detections, startEnforcer, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { rawDocker } from './raw-docker';
import { testEngine } from './setup';

const plugin = tcpPlugin('test', 0);
const PLUGIN = plugin.name;
const PORT = plugin.port;

const RULES = `export const rules: ContainerRule[] = [
  { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
  { name: 'cpu shares at most 1024', rule: (c) => (c.params.HostConfig?.CpuShares ?? 0) > 1024 },
];`;
const REQUEST_RULES = `export const requestRules: RequestRule[] = [
  { name: 'no docker cp into test containers', rule: (r) => r.action === 'containersArchive' && r.method === 'PUT' && (r.container?.name ?? '').startsWith('test') },
];`;

function tarOf(file: string, content: string): Buffer {
  const dir = path.join('/tmp', `de-tar-${process.pid}`);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('sh', ['-c', `printf %s "$1" > "$2"`, 'sh', content, path.join(dir, file)]);
  const tar = execFileSync('tar', ['-C', dir, '-c', file]);
  execFileSync('rm', ['-rf', dir]);
  return tar;
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err: unknown) {
    return String((err as Error).message);
  }
  return 'no error';
}

describe('AuthZ plugin mode through a real dockerd', function () {
  this.timeout(120_000);
  let enforcer: RunningEnforcer | undefined;

  async function useEnforcer(env: Record<string, string>): Promise<RunningEnforcer> {
    await enforcer?.stop();
    enforcer = await startEnforcer(
      testEngine(),
      { HTTP_PORT: String(PORT), RUN_PERIODIC: 'False', MODE: 'KILL', WHITE_LIST: 'docker-enforcer,allowed-.*', ...env },
      { rules: RULES, requestRules: REQUEST_RULES },
    );
    return enforcer;
  }

  before(async () => {
    await useEnforcer({});
    await plugin.register();
  });

  after(async () => {
    await plugin.unregister();
    await testEngine().removeAllContainers();
    await enforcer?.stop();
  });

  it('refuses a privileged container create with the rule name, and lets a compliant one through its whole life', async () => {
    const docker = testEngine().docker;
    const message = await errorOf(docker.createContainer({ name: 'bad-priv', Image: testEngine().image, Cmd: ['sleep', '60'], HostConfig: { Privileged: true, NetworkMode: 'none' } }));
    expect(message).to.include('no privileged containers');
    expect(message).to.match(/authorization denied by plugin/i);

    const ok = await docker.createContainer({ name: 'good-one', Image: testEngine().image, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none' } });
    await ok.start();
    expect(await testEngine().isRunning('good-one')).to.equal(true);
    await ok.stop({ t: 0 });
    await ok.remove();

    const found = await detections(enforcer!);
    expect(found.map((d) => [d.name, d.source, d.action, d.violated_rule])).to.deep.include(['bad-priv', 'authz_plugin', 'denied', 'no privileged containers']);
  });

  it('refuses a raw create with lower-case keys (the case-variant bypass)', async () => {
    const response = await rawDocker('POST', '/v1.41/containers/create?name=sneaky', { image: testEngine().image, hostconfig: { privileged: true, networkmode: 'none' } });
    expect(response.status).to.equal(403);
    expect(response.text).to.include('no privileged containers');
    const duplicate = await rawDocker('POST', '/v1.41/containers/create?name=sneaky2', { Image: testEngine().image, HostConfig: { Privileged: true }, hostconfig: { NetworkMode: 'none' } });
    expect(duplicate.status).to.equal(403);
  });

  it('refuses docker cp into containers named test*, and accepts it for others', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'other-box' });
    const testBox = await engine.runContainer({ name: 'test-box' });
    const denied = await errorOf(engine.docker.getContainer('test-box').putArchive(tarOf('hello.txt', 'hi'), { path: '/tmp' }));
    expect(denied).to.include('no docker cp into test containers');
    // Addressed by an id prefix, it is still the container named test-box.
    const byId = await errorOf(engine.docker.getContainer(testBox.slice(0, 12)).putArchive(tarOf('hello.txt', 'hi'), { path: '/tmp' }));
    expect(byId).to.include('no docker cp into test containers');
    await engine.docker.getContainer('other-box').putArchive(tarOf('hello.txt', 'hi'), { path: '/tmp' });
    const exec = await engine.docker.getContainer('other-box').exec({ Cmd: ['cat', '/tmp/hello.txt'], AttachStdout: true });
    const stream = await exec.start({});
    const output = await new Promise<string>((resolve) => {
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      stream.on('end', () => resolve(text));
    });
    expect(output).to.include('hi');
    await engine.removeAllContainers();
  });

  it('allows a whitelisted name despite the violation', async () => {
    const container = await testEngine().docker.createContainer({ name: 'allowed-priv', Image: testEngine().image, Cmd: ['sleep', '60'], HostConfig: { Privileged: true, NetworkMode: 'none' } });
    expect(container.id).to.match(/^[0-9a-f]{64}$/);
    await container.remove({ force: true });
  });

  it('refuses an update that would break a rule (the original let updates through)', async () => {
    const engine = testEngine();
    await engine.runContainer({ name: 'cpu-box', cpuShares: 512 });
    const message = await errorOf(engine.docker.getContainer('cpu-box').update({ CpuShares: 4096 }));
    expect(message).to.include('cpu shares at most 1024');
    const info = await engine.docker.getContainer('cpu-box').inspect();
    expect(info.HostConfig.CpuShares).to.equal(512);
    await engine.docker.getContainer('cpu-box').update({ CpuShares: 1000 });
    expect((await engine.docker.getContainer('cpu-box').inspect()).HostConfig.CpuShares).to.equal(1000);
    await engine.removeAllContainers();
  });

  it('WARN mode allows and records', async () => {
    await useEnforcer({ MODE: 'WARN' });
    const container = await testEngine().docker.createContainer({ name: 'warned-priv', Image: testEngine().image, Cmd: ['sleep', '60'], HostConfig: { Privileged: true, NetworkMode: 'none' } });
    await container.remove({ force: true });
    const found = await detections(enforcer!);
    expect(found.map((d) => [d.name, d.source, d.action, d.mode])).to.deep.equal([['warned-priv', 'authz_plugin', 'warned', 'WARN']]);
  });

  it('answers a malformed envelope with the default action, for both settings', async () => {
    const post = async (body: string): Promise<Record<string, unknown>> => {
      const response = await fetch(`${enforcer!.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
      expect(response.status).to.equal(200);
      return (await response.json()) as Record<string, unknown>;
    };
    await useEnforcer({ DEFAULT_ACTION_ALLOW: 'True' });
    expect(await post('{not json')).to.deep.equal({ Allow: true });
    await useEnforcer({ DEFAULT_ACTION_ALLOW: 'False' });
    const denied = await post('{not json');
    expect(denied['Allow']).to.equal(false);
    expect(String(denied['Msg'])).to.match(/^Denied as default action: malformed AuthZ request: envelope is not JSON/);
    const badBase64 = await post(JSON.stringify({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestBody: '@@@@' }));
    expect(String(badBase64['Msg'])).to.include('RequestBody is not valid base64');
    // A Docker request whose body cannot be read is not a malformed envelope: denied in KILL mode whatever the default.
    await useEnforcer({ DEFAULT_ACTION_ALLOW: 'True' });
    const notJsonBody = await post(JSON.stringify({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestHeaders: { 'Content-Type': 'application/json' }, RequestBody: Buffer.from('nope').toString('base64') }));
    expect(notJsonBody['Allow']).to.equal(false);
    expect(String(notJsonBody['Msg'])).to.include('is not valid JSON');
    const activate = await fetch(`${enforcer!.url}/Plugin.Activate`, { method: 'POST' });
    expect(await activate.json()).to.deep.equal({ Implements: ['authz'] });
    await useEnforcer({});
  });

  it('dockerd fails calls while the enforcer is down, and works again once it is back', async () => {
    await enforcer!.stop();
    enforcer = undefined;
    const down = await rawDocker('GET', '/v1.41/containers/json');
    expect(down.status).to.be.at.least(500);
    expect(down.text).to.match(/plugin/i);
    await useEnforcer({});
    await testEngine().waitFor(async () => (await rawDocker('GET', '/v1.41/containers/json')).status === 200, 60_000, 'dockerd to use the restarted plugin');
  });

  it('works over AUTHZ_SOCKET without a spec file', async () => {
    const name = `de-sock-${process.pid}`;
    const socket = `/run/docker/plugins/${name}.sock`;
    await useEnforcer({ AUTHZ_SOCKET: socket });
    try {
      await testEngine().writeDaemonConfig({ 'authorization-plugins': [name] });
      const message = await errorOf(
        testEngine().docker.createContainer({ name: 'sock-priv', Image: testEngine().image, Cmd: ['sleep', '60'], HostConfig: { Privileged: true, NetworkMode: 'none' } }),
      );
      expect(message).to.include('no privileged containers');
    } finally {
      await testEngine().writeDaemonConfig({ 'authorization-plugins': [PLUGIN] });
    }
  });
});
