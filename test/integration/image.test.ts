import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { importNodeBaseImage } from './node-image';
import { testEngine } from './setup';

const ROOT = path.resolve(__dirname, '../../..');
const run = promisify(execFile);

describe('the container image', function () {
  this.timeout(600_000);
  let rulesDir = '';

  after(async () => {
    await testEngine().removeAllContainers();
    if (rulesDir) await rm(rulesDir, { recursive: true, force: true });
  });

  it('builds from the Dockerfile, runs in KILL mode with the socket mounted, stops a violator, spares itself and reports healthy', async () => {
    const engine = testEngine();
    const docker = ['-H', `unix://${engine.socketPath}`];
    await importNodeBaseImage(engine.socketPath, 'enforcer-node:base');
    // The legacy builder: dockerd 20.10's BuildKit would need an entitlement for host networking,
    // which the build needs to reach the npm registry (the engine has no bridge network).
    await run('docker', [...docker, 'build', '--network', 'host', '--build-arg', 'BASE_IMAGE=enforcer-node:base', '-t', 'docker-enforcer:test', ROOT], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const labels = (await engine.docker.getImage('docker-enforcer:test').inspect()).Config.Labels ?? {};
    expect(labels['org.opencontainers.image.title']).to.equal('docker-enforcer');

    rulesDir = await mkdtemp(path.join(os.tmpdir(), 'de-image-rules-'));
    await writeFile(path.join(rulesDir, 'rules.ts'), "export const rules = [{ name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory }];\n");
    await engine.runContainer({ name: 'image-victim' });
    const port = 23_000 + (process.pid % 9_000);
    // The README's minimal run, with host networking (the throwaway engine has no bridge) and the
    // engine's socket folder as /var/run. Without --privileged: this machine's sandbox refuses the
    // full capability set ("runc create failed: unable to apply caps: operation not permitted"), and
    // reaching the Docker socket needs no capability.
    await run('docker', [
      ...docker, 'run', '-d', '--name', 'docker_enforcer', '--network', 'host',
      '-v', `${rulesDir}:/opt/docker-enforcer/rules`, '-v', `${path.dirname(engine.socketPath)}:/var/run`,
      '-e', 'MODE=KILL', '-e', 'IMMEDIATE_PERIODICAL_START=True', '-e', 'CHECK_INTERVAL_S=5', '-e', 'STOP_TIMEOUT_S=0',
      '-e', 'HTTP_HOST=127.0.0.1', '-e', `HTTP_PORT=${port}`, 'docker-enforcer:test',
    ]);
    await engine.waitFor(async () => !(await engine.isRunning('image-victim')), 60_000, 'the containerised enforcer to stop the violator');
    expect(await engine.isRunning('docker_enforcer')).to.equal(true);
    await engine.waitFor(async () => (await engine.docker.getContainer('docker_enforcer').inspect()).State.Health?.Status === 'healthy', 90_000, 'the HEALTHCHECK to pass');
    const detections = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { detections: Array<{ name: string }> };
    expect(detections.detections.map((d) => d.name)).to.deep.equal(['image-victim']);
  });
});
