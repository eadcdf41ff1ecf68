import { expect } from 'chai';
import { DockerError } from '../../../src/docker/client';
import { createDockerClient, NoEngineClient } from '../../../src/docker/no-engine';
import { DockerodeClient } from '../../../src/docker/client';

describe('NoEngineClient (DOCKER_SOCKET=none)', () => {
  const client = new NoEngineClient();
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['ping', () => client.ping()],
    ['apiVersion', () => client.apiVersion()],
    ['listRunning', () => client.listRunning()],
    ['inspect', () => client.inspect('web')],
    ['stats', () => client.stats('web')],
    ['imageTags', () => client.imageTags('sha256:1')],
    ['imageUser', () => client.imageUser('busybox')],
    ['imageInspect', () => client.imageInspect('busybox')],
    ['volumeInspect', () => client.volumeInspect('v')],
    ['execContainer', () => client.execContainer('e1')],
    ['pluginName', () => client.pluginName('p')],
    ['stop', () => client.stop('web', 0)],
    ['events', () => client.events({ actions: [], signal: new AbortController().signal })],
  ];
  for (const [name, call] of calls) {
    it(`${name} fails with a DockerError that is not "no such object"`, async () => {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DockerError);
      expect((err as DockerError).notFound).to.equal(false);
      expect((err as DockerError).statusCode).to.equal(undefined);
      expect((err as Error).message).to.match(/no Docker engine here \(DOCKER_SOCKET=none\): .+ cannot be looked up on the calling host/);
    });
  }

  it('names what could not be looked up', async () => {
    const err = (await client.inspect('0123abcd').catch((e: unknown) => e)) as Error;
    expect(err.message).to.include('container "0123abcd"');
  });

  it('is what DOCKER_SOCKET=none makes; an engine endpoint makes dockerode', () => {
    expect(createDockerClient({ kind: 'none' }, 1000)).to.be.instanceOf(NoEngineClient);
    expect(createDockerClient({ kind: 'unix', socketPath: '/nonexistent.sock' }, 1000)).to.be.instanceOf(DockerodeClient);
  });
});
