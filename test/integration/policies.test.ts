/**
 * docker-leash policy files through a real dockerd whose users connect with TLS client certificates:
 * alice and bob (users), carol (admin), dave (read-only), and the unix-socket caller (Anonymous).
 * Every case asserts what dockerd did, not only the status.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'chai';
import { detections, getJson, startEnforcer, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { rawDocker } from './raw-docker';
import { startTlsTestEngine, type TlsTestEngine } from './tls';

const IMAGE = 'enforcer-test:busybox';
const HOMES = `/tmp/de-policy-homes-${process.pid}`;

const GROUPS = `---
admins:
  - carol
users:
  - alice
  - bob
readers:
  - dave
anonymous:
  - Anonymous
`;

const policies = (mode = ''): string => `---
- description: Shared build host
  hosts:
    - +.*
  default: Deny
${mode}  policies:
    - members: [admins]
      rules:
        any:
          Allow:
    - members: [users]
      rules:
        containers:
          ContainerName:
            - ^$USER-
          BindMount:
            - -/
            - +${HOMES}/$USER/
          Privileged:
        volumes:
          VolumeName:
            - ^$USER-
          BindMount:
            - -/
            - +${HOMES}/$USER/
        system:
          Allow:
        images:
          ReadOnly:
    - members: [readers]
      rules:
        any:
          ReadOnly:
    - members: [anonymous]
      rules:
        any:
          ReadOnly:
`;

describe('multi-user policies (docker-leash files) through a real dockerd with TLS users', function () {
  this.timeout(180_000);
  let engine: TlsTestEngine;
  let enforcer: RunningEnforcer;
  const fired: Array<{ kind: string; action: string; reasons: readonly string[] }> = [];
  const plugin = tcpPlugin('policies', 23, () => engine);

  const run = (user: string, name: string, ...extra: string[]) => engine.cliAs(user, ['run', '-d', '--network', 'none', '--name', name, ...extra, IMAGE, 'sleep', '60']);
  const names = async (): Promise<string[]> => (await engine.docker.listContainers({ all: true })).map((c) => (c.Names[0] ?? '').replace(/^\//, ''));

  before(async () => {
    engine = await startTlsTestEngine(['alice', 'bob', 'carol', 'dave']);
    for (const user of ['alice', 'bob']) await mkdir(path.join(HOMES, user, 'data'), { recursive: true });
    enforcer = await startEnforcer(engine, { HTTP_PORT: String(plugin.port), RUN_PERIODIC: 'False', MODE: 'KILL', RELOAD_ON_CHANGE: 'False' }, { rules: 'export const rules: ContainerRule[] = [];', policies: policies(), groups: GROUPS });
    enforcer.daemon.violations.onViolation((report) => fired.push({ kind: report.kind, action: report.action, reasons: report.reasons }));
    await plugin.register();
  });

  after(async () => {
    await plugin.unregister().catch(() => undefined);
    await enforcer?.stop();
    await engine?.stop();
    await rm(HOMES, { recursive: true, force: true });
  });

  it('lets users create and start containers named after them, and refuses others\u2019 names', async () => {
    expect((await run('alice', 'alice-web')).code).to.equal(0);
    expect(await engine.isRunning('alice-web')).to.equal(true);
    const denied = await run('alice', 'bob-web');
    expect(denied.code).to.not.equal(0);
    expect(denied.stderr).to.include('ContainerName');
    expect(await names()).to.not.include('bob-web');
  });

  it("refuses a user acting on another's container addressed by id or id prefix", async () => {
    expect((await run('bob', 'bob-db')).code).to.equal(0);
    const id = (await engine.docker.getContainer('bob-db').inspect()).Id;
    for (const ref of [id, id.slice(0, 10)]) {
      const stop = await engine.cliAs('alice', ['stop', '-t', '0', ref]);
      expect(stop.code, ref).to.not.equal(0);
      expect(stop.stderr).to.include('ContainerName');
    }
    expect(await engine.isRunning('bob-db')).to.equal(true);
  });

  it('allows binds under the user\u2019s home and refuses /etc however it is asked for (-v, --mount, .., a bind volume)', async () => {
    expect((await run('alice', 'alice-home', '-v', `${HOMES}/alice/data:/data`)).code).to.equal(0);
    const attempts: Array<[string, Promise<{ code: number; stderr: string }>]> = [
      ['-v', run('alice', 'alice-etc1', '-v', '/etc:/host-etc')],
      ['--mount', run('alice', 'alice-etc2', '--mount', 'type=bind,src=/etc,dst=/host-etc')],
    ];
    for (const [how, attempt] of attempts) {
      const result = await attempt;
      expect(result.code, how).to.not.equal(0);
      expect(result.stderr, how).to.include('BindMount');
    }
    // Sent as written (the CLI would clean the path): the enforcer normalises it.
    const dotdot = await engine.rawAs('alice', 'POST', '/v1.41/containers/create?name=alice-etc3', { Image: IMAGE, HostConfig: { NetworkMode: 'none', Binds: [`${HOMES}/alice/../../../etc:/x`] } });
    expect(dotdot.status).to.equal(403);
    expect(dotdot.text).to.include('BindMount');
    // A volume an admin bound to /etc is /etc when alice mounts it.
    const volume = await engine.cliAs('carol', ['volume', 'create', '--driver', 'local', '--opt', 'type=none', '--opt', 'o=bind', '--opt', 'device=/etc', 'alice-etcvol']);
    expect(volume.code, volume.stderr).to.equal(0);
    const byVolume = await run('alice', 'alice-etc4', '-v', 'alice-etcvol:/x');
    expect(byVolume.code).to.not.equal(0);
    expect(byVolume.stderr).to.include('BindMount');
    // And alice cannot make such a volume herself.
    const own = await engine.cliAs('alice', ['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', 'device=/etc', 'alice-etc']);
    expect(own.code).to.not.equal(0);
    expect(own.stderr).to.include('BindMount');
    expect((await names()).filter((name) => name.startsWith('alice-etc'))).to.deep.equal([]);
  });

  it('refuses a privileged container to users, not to admins', async () => {
    const user = await run('alice', 'alice-priv', '--privileged');
    expect(user.code).to.not.equal(0);
    expect(user.stderr).to.include('Privileged');
    // Created, not run: this sandbox may not grant a privileged container its capabilities.
    const admin = await engine.cliAs('carol', ['create', '--privileged', '--network', 'none', '--name', 'anything-goes', IMAGE, 'true']);
    expect(admin.code, admin.stderr).to.equal(0);
    expect((await engine.docker.getContainer('anything-goes').inspect()).HostConfig.Privileged).to.equal(true);
  });

  it('gives the read-only group and the unix-socket caller (Anonymous) reads only', async () => {
    expect((await engine.cliAs('dave', ['ps', '-a'])).code).to.equal(0);
    const remove = await engine.cliAs('dave', ['rm', '-f', 'alice-web']);
    expect(remove.code).to.not.equal(0);
    expect(await engine.isRunning('alice-web')).to.equal(true);
    const socket = { socketPath: engine.socketPath };
    expect((await rawDocker('GET', '/v1.41/containers/json', undefined, socket)).status).to.equal(200);
    const create = await rawDocker('POST', '/v1.41/containers/create?name=anon', { Image: IMAGE, HostConfig: { NetworkMode: 'none' } }, socket);
    expect(create.status).to.equal(403);
    expect(await names()).to.not.include('anon');
  });

  it('records denials with the user, counts them, and shows the policies on /policies', async () => {
    const found = await detections(enforcer);
    const bobWeb = found.find((d) => d.name === 'bob-web');
    expect(bobWeb).to.deep.include({ owner: 'alice', source: 'authz_plugin', action: 'denied', mode: 'KILL' });
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_policy_decisions_total\{rule_set="1",result="deny"\} [1-9]\d*$/m);
    expect(metrics).to.match(/^docker_enforcer_policy_decisions_total\{rule_set="1",result="allow"\} [1-9]\d*$/m);
    const view = (await getJson(`${enforcer.url}/policies`)).body;
    expect(view).to.deep.include({ enabled: true, format: 'list', applies: { index: 1, name: 'Shared build host' } });
    // Triggers hear of every denial, with the reason that names rule set, policy and check.
    expect(fired.some((report) => report.kind === 'request' && report.action === 'denied' && report.reasons.some((reason) => /rule set "Shared build host", policy 2 .*ContainerName/.test(reason)))).to.equal(true);
  });

  it('a WARN rule set allows and records what it would deny', async () => {
    await writeFile(path.join(enforcer.dir, 'policies.yml'), policies('  mode: WARN\n'));
    await enforcer.daemon.reload('test');
    expect((await getJson(`${enforcer.url}/policies`)).body['rule_sets']).to.have.nested.property('[0].mode', 'WARN');
    expect((await run('alice', 'bob-warned')).code).to.equal(0);
    const warned = (await detections(enforcer)).find((d) => d.name === 'bob-warned');
    expect(warned).to.deep.include({ owner: 'alice', action: 'warned', mode: 'WARN' });
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_policy_decisions_total\{rule_set="1",result="would_deny"\} [1-9]\d*$/m);
  });

  it("reads the older README format unchanged (named policies, groups with policies and members)", async () => {
    await writeFile(
      path.join(enforcer.dir, 'policies.yml'),
      `openbar:\n  any:\n    Allow:\nrestricted:\n  containersCreate:\n    containerNameCheck:\n      startwith:\n        - $USER-\n  containersList:\n    Allow:\nreadonly:\n  any:\n    ReadOnly:\n`,
    );
    await writeFile(path.join(enforcer.dir, 'groups.yml'), `admins:\n  policies: [openbar]\n  members: [carol]\nusers:\n  policies: [restricted]\n  members: [alice]\nall:\n  policies: [readonly]\n  members: ["*"]\n`);
    await enforcer.daemon.reload('test');
    const named = (await getJson(`${enforcer.url}/policies`)).body;
    expect(named, JSON.stringify(named['last_reload'])).to.deep.include({ format: 'named' });
    const alice = engine.dockerAs('alice');
    const created = await alice.createContainer({ name: 'alice-old', Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    expect(created.id).to.match(/^[0-9a-f]{64}$/);
    const denied = await alice.createContainer({ name: 'bob-old', Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }).then(
      () => 'created',
      (err: unknown) => String((err as Error).message),
    );
    expect(denied).to.include('ContainerName');
    expect((await alice.listContainers()).length).to.be.greaterThan(0);
    // No rule for volumes in alice's policy: the older format's default is Deny (reads pass through "all").
    const volume = await alice.createVolume({ Name: 'alice-vol' }).then(
      () => 'created',
      (err: unknown) => String((err as Error).message),
    );
    expect(volume).to.include('denied');
  });

  it('keeps the previous policies when a reload finds a broken file, and says why on /policies', async () => {
    const before = (await getJson(`${enforcer.url}/policies`)).body;
    await writeFile(path.join(enforcer.dir, 'policies.yml'), `- description: broken\n  hosts: [+.*]\n  default: Sometimes\n  policies: []\n`);
    await enforcer.daemon.reload('test');
    const after = (await getJson(`${enforcer.url}/policies`)).body;
    expect(after['rule_sets']).to.deep.equal(before['rule_sets']);
    const reload = after['last_reload'] as { result: string; errors: string[] };
    expect(reload.result).to.equal('failure');
    expect(reload.errors.join('\n')).to.match(/policies\.yml:3:\d+: .*Sometimes/);
    const alice = engine.dockerAs('alice');
    await alice.createContainer({ name: 'alice-still', Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  });
});
