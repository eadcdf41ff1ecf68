/**
 * Self-protection through a real dockerd whose users connect with TLS client certificates: admin
 * (listed in SELF_PROTECTION_ADMINS) and mallory. `enforcer-self` stands for the enforcer's own
 * container (SELF_CONTAINER); like the real one it runs before the plugin is registered. Every case
 * asserts what dockerd did, not only the status.
 */
import { rm } from 'node:fs/promises';
import { expect } from 'chai';
import { detections, startEnforcer, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { rawDocker } from './raw-docker';
import { startTlsTestEngine, type TlsTestEngine } from './tls';

const SELF = 'enforcer-self';
const UNRELATED = `/tmp/de-selfprot-data-${process.pid}`;

describe('self-protection through a real dockerd with TLS users', function () {
  this.timeout(180_000);
  let engine: TlsTestEngine;
  let enforcer: RunningEnforcer;
  const plugin = tcpPlugin('selfprot', 41, () => engine);

  before(async () => {
    engine = await startTlsTestEngine(['admin', 'mallory']);
    await engine.runContainer({ name: SELF, cmd: ['sleep', '600'] });
    enforcer = await startEnforcer(
      engine,
      { HTTP_PORT: String(plugin.port), RUN_PERIODIC: 'False', MODE: 'KILL', RELOAD_ON_CHANGE: 'False', SELF_CONTAINER: SELF, SELF_PROTECTION_ADMINS: 'admin', SELF_PLUGIN_NAMES: plugin.name },
      { rules: 'export const rules: ContainerRule[] = [];' },
    );
    await plugin.register();
  });

  after(async () => {
    await plugin.unregister().catch(() => undefined);
    await enforcer?.stop();
    await engine?.stop();
    await rm(UNRELATED, { recursive: true, force: true });
  });

  it('refuses mallory a stop or kill of the enforcer\u2019s container, by name or id prefix, and it keeps running', async () => {
    const stop = await engine.cliAs('mallory', ['stop', '-t', '0', SELF]);
    expect(stop.code).to.not.equal(0);
    expect(stop.stderr).to.include("self-protection: docker stop of the enforcer's own container is reserved to SELF_PROTECTION_ADMINS");
    const id = (await engine.docker.getContainer(SELF).inspect()).Id;
    const kill = await engine.cliAs('mallory', ['kill', id.slice(0, 10)]);
    expect(kill.code).to.not.equal(0);
    expect(kill.stderr).to.include('self-protection: docker kill');
    expect(await engine.isRunning(SELF)).to.equal(true);
  });

  it('refuses mallory an exec into it and a docker cp out of it', async () => {
    const exec = await engine.cliAs('mallory', ['exec', SELF, 'touch', '/tmp/mallory-was-here']);
    expect(exec.code).to.not.equal(0);
    expect(exec.stderr).to.include('self-protection: docker exec');
    const copy = await engine.cliAs('mallory', ['cp', `${SELF}:/etc/hostname`, `${UNRELATED}-copied`]);
    expect(copy.code).to.not.equal(0);
    expect(copy.stderr).to.include('self-protection: docker cp');
    // Nothing ran inside: the file the exec would have made is not there.
    const changes = await rawDocker('GET', `/v1.41/containers/${SELF}/changes`, undefined, { socketPath: engine.socketPath });
    expect(changes.status).to.equal(200);
    expect(((JSON.parse(changes.text) as Array<{ Path: string }> | null) ?? []).map((change) => change.Path)).to.not.include('/tmp/mallory-was-here');
  });

  it('refuses mallory a container binding the rules folder or a folder above it, not an unrelated folder', async () => {
    for (const source of [enforcer.dir, '/tmp']) {
      const run = await engine.cliAs('mallory', ['run', '--rm', '--network', 'none', '-v', `${source}:/x`, engine.image, 'true']);
      expect(run.code, source).to.not.equal(0);
      expect(run.stderr, source).to.include(`self-protection: a bind of ${source} exposes the enforcer's folder ${enforcer.dir}`);
    }
    const unrelated = await engine.cliAs('mallory', ['create', '--network', 'none', '--name', 'mallory-data', '-v', `${UNRELATED}:/x`, engine.image, 'true']);
    expect(unrelated.code, unrelated.stderr).to.equal(0);
    const names = (await engine.docker.listContainers({ all: true })).map((c) => (c.Names[0] ?? '').replace(/^\//, ''));
    expect(names.sort()).to.deep.equal([SELF, 'mallory-data']);
  });

  it('refuses mallory disabling the enforcer\u2019s plugin (dockerd would otherwise answer for itself)', async () => {
    const disable = await engine.cliAs('mallory', ['plugin', 'disable', plugin.name]);
    expect(disable.code).to.not.equal(0);
    expect(disable.stderr).to.include("self-protection: docker plugin disable of the enforcer's own plugin");
  });

  it('records each denial with mallory as the owner', async () => {
    const found = (await detections(enforcer)).filter((d) => d.owner === 'mallory');
    expect(found.map((d) => d.name)).to.include(SELF);
    for (const detection of found) {
      expect(detection).to.deep.include({ source: 'authz_plugin', action: 'denied', mode: 'KILL' });
      expect([detection.violated_rule].flat().join(' ')).to.include('self-protection: ');
    }
  });

  it('lets admin stop it over TLS', async () => {
    const stop = await engine.cliAs('admin', ['stop', '-t', '0', SELF]);
    expect(stop.code, stop.stderr).to.equal(0);
    expect(await engine.isRunning(SELF)).to.equal(false);
  });
});
