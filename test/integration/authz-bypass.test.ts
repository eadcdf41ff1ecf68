/**
 * Each known way past a KILL-mode gate, tried through a real dockerd with the plugin on, with rules
 * written the way the README teaches. Every test asserts what dockerd actually did (inspect, list),
 * not only the HTTP status.
 */
import { execFile } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { detections, getJson, startEnforcer, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { createdId, rawDocker } from './raw-docker';
import { testEngine } from './setup';

const plugin = tcpPlugin('bypass', 7);
const PLUGIN = plugin.name;
const PORT = plugin.port;
const IMAGE = 'enforcer-test:busybox';

const RULES = `export const rules: ContainerRule[] = [
  { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
  { name: 'no host /etc', rule: (c) => (c.params.HostConfig?.Binds ?? []).some((b) => b.startsWith('/etc')) || (c.params.HostConfig?.Mounts ?? []).some((m) => (m.Source ?? '').startsWith('/etc')) },
  { name: 'cpu shares at most 1024', rule: (c) => (c.params.HostConfig?.CpuShares ?? 0) > 1024 },
  { name: 'pids limit required', rule: (c) => c.name.startsWith('pids-') && !((c.params.HostConfig?.PidsLimit ?? 0) > 0) },
];`;
const REQUEST_RULES = `export const requestRules: RequestRule[] = [
  { name: 'no exec as root', rule: (r) => r.action === 'execCreate' && (r.body as any)?.User === 'root' },
  { name: 'no volumes bound to /etc', rule: (r) => r.action === 'volumesCreate' && String((r.body as any)?.DriverOpts?.device ?? '').startsWith('/etc') },
  { name: 'no services mounting /etc', rule: (r) => (r.action === 'servicesCreate' || r.action === 'servicesUpdate') && ((r.body as any)?.TaskTemplate?.ContainerSpec?.Mounts ?? []).some((m: any) => String(m.Source).startsWith('/etc')) },
  { name: 'no debug endpoints', rule: (r) => r.namespace === 'debug' },
  { name: 'no builds', rule: (r) => r.action === 'imagesBuild' },
];`;

const priv = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ Image: IMAGE, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none', Privileged: true }, ...extra });

async function containerNames(): Promise<string[]> {
  return (await testEngine().docker.listContainers({ all: true })).map((c) => (c.Names[0] ?? '').replace(/^\//, ''));
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/docker', ['-H', `unix://${testEngine().socketPath}`, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) });
    });
  });
}

/** The heap after a full collection: what is still referenced, not garbage waiting for the collector. */
function liveHeapBytes(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('AuthZ bypasses stay closed (KILL mode, README-style rules, through dockerd)', function () {
  this.timeout(180_000);
  let enforcer: RunningEnforcer | undefined;

  async function useEnforcer(env: Record<string, string> = {}): Promise<RunningEnforcer> {
    await enforcer?.stop();
    enforcer = await startEnforcer(testEngine(), { HTTP_PORT: String(PORT), RUN_PERIODIC: 'False', MODE: 'KILL', ...env }, { rules: RULES, requestRules: REQUEST_RULES });
    return enforcer;
  }

  before(async () => {
    await useEnforcer();
    await plugin.register();
  });

  after(async () => {
    await plugin.unregister();
    await testEngine().removeAllContainers();
    await enforcer?.stop();
  });

  it('1. key folding: a look-alike key Go ignores can neither override Privileged nor mask HostConfig', async () => {
    const bodies = [
      '{"Image":"enforcer-test:busybox","HostConfig":{"NetworkMode":"none","Privileged":true,"Prıvileged":false}}',
      '{"Image":"enforcer-test:busybox","HostConfig":{"NetworkMode":"none","Binds":["/etc:/h"]},"HostConfıg":{}}',
      '{"Image":"enforcer-test:busybox","HostConfig":{"NetworkMode":"none","Privileged":true,"privileged":null}}',
      '{"Image":"enforcer-test:busybox","HostConfig":{"NetworkMode":"none"},"hoſtconfig":{"Privileged":true}}',
    ];
    for (const [i, body] of bodies.entries()) {
      const response = await rawDocker('POST', `/v1.41/containers/create?name=fold-${i}`, body);
      expect(response.status, body).to.equal(403);
    }
    expect((await containerNames()).filter((name) => name.startsWith('fold-'))).to.deep.equal([]);
  });

  it('2. old request shapes: top-level HostConfig fields at create, a HostConfig body at start (API < 1.24)', async () => {
    const topLevel = await rawDocker('POST', '/v1.41/containers/create?name=toplevel', { Image: IMAGE, NetworkMode: 'none', Privileged: true, Binds: ['/etc:/h'] });
    expect(topLevel.status).to.equal(403);
    expect(topLevel.text).to.include('no privileged containers');
    const created = await rawDocker('POST', '/v1.23/containers/create?name=legacy-start', { Image: IMAGE, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none' } });
    expect(created.status).to.equal(201);
    const start = await rawDocker('POST', '/v1.23/containers/legacy-start/start', { Privileged: true, Binds: ['/etc:/h'], NetworkMode: 'none' });
    expect(start.status).to.equal(403);
    const info = await testEngine().docker.getContainer('legacy-start').inspect();
    expect([info.State.Running, info.HostConfig.Privileged, info.HostConfig.Binds ?? []]).to.deep.equal([false, false, []]);
    expect((await rawDocker('POST', '/v1.23/containers/legacy-start/start')).status).to.equal(204);
    expect(await containerNames()).to.not.include('toplevel');
  });

  it('3. the version prefix: 1.41.0, a percent-encoded dot, and the stock CLI with DOCKER_API_VERSION=1.41.0', async () => {
    expect((await rawDocker('POST', '/v1.41.0/containers/create?name=v1', priv())).status).to.equal(403);
    expect((await rawDocker('POST', '/v1%2E41/containers/create?name=v2', priv())).status).to.equal(403);
    const run = await cli(['run', '--rm', '--privileged', '--network', 'none', '--name', 'v3', IMAGE, 'true'], { DOCKER_API_VERSION: '1.41.0' });
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.include('no privileged containers');
    expect((await containerNames()).filter((name) => /^v[123]$/.test(name))).to.deep.equal([]);
  });

  it('4. bodies read raw: exec with a lower-case user, a lower-case service spec', async () => {
    await testEngine().runContainer({ name: 'exec-target' });
    const root = await rawDocker('POST', '/v1.41/containers/exec-target/exec', '{"user":"root","cmd":["id","-u"]}');
    expect(root.status).to.equal(403);
    expect(root.text).to.include('no exec as root');
    const nobody = await rawDocker('POST', '/v1.41/containers/exec-target/exec', '{"user":"nobody","cmd":["id","-u"]}');
    expect(nobody.status).to.equal(201);

    expect((await rawDocker('POST', '/v1.41/swarm/init', { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' })).status).to.equal(200);
    try {
      const service = await rawDocker(
        'POST',
        '/v1.41/services/create',
        '{"name":"etc-reader","tasktemplate":{"containerspec":{"image":"enforcer-test:busybox","command":["sleep","60"],"mounts":[{"type":"bind","source":"/etc","target":"/h"}]}}}',
      );
      expect(service.status).to.equal(403);
      expect(service.text).to.include('no services mounting /etc');
      expect(JSON.parse((await rawDocker('GET', '/v1.41/services')).text)).to.deep.equal([]);
    } finally {
      await rawDocker('POST', '/v1.41/swarm/leave?force=1');
    }
  });

  it("5. the body guard's reach: a chunked create over 1 MiB, a chunked bind-backed volume", async () => {
    const padding = 'x'.repeat(1_200_000);
    const big = await rawDocker('POST', '/v1.41/containers/create?name=chunked-big', priv({ Labels: { padding } }), { chunked: true });
    expect(big.status).to.equal(403);
    expect(big.text).to.include('without a body');
    const volume = { Name: 'etc-vol', Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/etc' } };
    // Over 1 MiB, chunked: dockerd never forwards it, and the envelope shows neither length nor encoding.
    const chunked = await rawDocker('POST', '/v1.41/volumes/create', { ...volume, Labels: { padding } }, { chunked: true });
    expect(chunked.status).to.equal(403);
    expect(chunked.text).to.include('volumesCreate request without Content-Length');
    // Small bodies reach the plugin (chunked or not) and the rule reads them.
    for (const options of [{}, { chunked: true }]) {
      const small = await rawDocker('POST', '/v1.41/volumes/create', volume, options);
      expect(small.status).to.equal(403);
      expect(small.text).to.include('no volumes bound to /etc');
    }
    expect((await testEngine().docker.listVolumes()).Volumes?.map((v) => v.Name) ?? []).to.not.include('etc-vol');
    expect(await containerNames()).to.not.include('chunked-big');
  });

  it('6. under the default DEFAULT_ACTION_ALLOW=True, bodies dockerd reads are read too: trailing data, deep nesting', async () => {
    const trailing = await rawDocker('POST', '/v1.41/containers/create?name=trailing', `${JSON.stringify(priv())} {"HostConfig":{"Privileged":false}}`);
    expect(trailing.status).to.equal(403);
    const deep = await rawDocker('POST', '/v1.41/containers/create?name=deep', `{"Junk":${'['.repeat(300)}${']'.repeat(300)},${JSON.stringify(priv()).slice(1)}`);
    expect(deep.status).to.equal(403);
    const garbage = await rawDocker('POST', '/v1.41/containers/create?name=garbage', '{"Image":"enforcer-test:busybox","HostConfig":{"Privileged":tru}}');
    expect(garbage.status).to.not.equal(201);
    expect((await containerNames()).filter((name) => ['trailing', 'deep', 'garbage'].includes(name))).to.deep.equal([]);
  });

  it('7. the enforcer is spared by id, not by a name anyone can take', async () => {
    expect((await rawDocker('POST', '/v1.41/containers/create?name=docker_enforcer', priv())).status).to.equal(403);
    const id = createdId(await rawDocker('POST', '/v1.41/containers/create?name=innocent', { Image: IMAGE, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none' } }));
    expect(id).to.be.a('string');
    expect((await rawDocker('POST', '/v1.41/containers/innocent/rename?name=docker-enforcer')).status).to.equal(204);
    const update = await rawDocker('POST', '/v1.41/containers/docker-enforcer/update', { CpuShares: 4096 });
    expect(update.status).to.equal(403);
    expect((await testEngine().docker.getContainer(id!).inspect()).HostConfig.CpuShares).to.not.equal(4096);

    // Periodic: the named impostor is stopped, the container named by SELF_CONTAINER is not.
    await testEngine().writeDaemonConfig({});
    await testEngine().removeAllContainers();
    const self = await testEngine().runContainer({ name: 'the-real-enforcer', cpuShares: 2048 });
    await testEngine().runContainer({ name: 'docker_enforcer', cpuShares: 2048 });
    const scanning = await useEnforcer({ SELF_CONTAINER: self, RUN_PERIODIC: 'True' });
    await scanning.daemon.scanNow('test');
    await testEngine().waitFor(async () => !(await testEngine().isRunning('docker_enforcer')), 20_000, 'the impostor to be stopped');
    expect(await testEngine().isRunning(self)).to.equal(true);
    await testEngine().removeAllContainers();
    await useEnforcer();
    await testEngine().writeDaemonConfig({ 'authorization-plugins': [PLUGIN] });
  });

  it('8. update semantics: PidsLimit 0 means unlimited, so it is judged as unlimited', async () => {
    const id = createdId(await rawDocker('POST', '/v1.41/containers/create?name=pids-box', { Image: IMAGE, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none', PidsLimit: 100 } }));
    expect(id).to.be.a('string');
    const update = await rawDocker('POST', '/v1.41/containers/pids-box/update', '{"PidsLimit":0}');
    expect(update.status).to.equal(403);
    expect(update.text).to.include('pids limit required');
    expect((await testEngine().docker.getContainer(id!).inspect()).HostConfig.PidsLimit).to.equal(100);
    expect((await rawDocker('POST', '/v1.41/containers/pids-box/update', '{"PidsLimit":200}')).status).to.equal(200);
  });

  it('9. who may call the plugin: loopback by default; others get 403 and are counted; the TCP endpoints can be off', async () => {
    const envelope = JSON.stringify({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create?name=forged', RequestHeaders: {}, RequestBody: Buffer.from(JSON.stringify(priv())).toString('base64') });
    const socket = `/run/docker/plugins/${PLUGIN}-peers.sock`;
    const narrow = await useEnforcer({ AUTHZ_ALLOWED_PEERS: '10.9.9.9', AUTHZ_SOCKET: socket });
    try {
      await testEngine().writeDaemonConfig({ 'authorization-plugins': [`${PLUGIN}-peers`] });
      const refused = await fetch(`${narrow.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: envelope });
      expect(refused.status).to.equal(403);
      expect((await detections(narrow)).map((d) => d.name)).to.not.include('forged');
      const metrics = await (await fetch(`${narrow.url}/metrics`)).text();
      // dockerd itself may have called the old TCP spec meanwhile: at least our call was counted.
      expect(metrics).to.match(/^docker_enforcer_authz_refused_total [1-9]\d*$/m);
      // dockerd still reaches it over the socket.
      expect((await rawDocker('POST', '/v1.41/containers/create?name=over-socket', priv())).status).to.equal(403);
      const off = await useEnforcer({ AUTHZ_ON_HTTP_PORT: 'False', AUTHZ_SOCKET: socket });
      expect((await fetch(`${off.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: envelope })).status).to.equal(404);
      expect((await getJson(`${off.url}/health`)).status).to.be.oneOf([200, 503]);
    } finally {
      await useEnforcer();
      await testEngine().writeDaemonConfig({ 'authorization-plugins': [PLUGIN] });
    }
  });

  it('10. routes nobody judged: /debug/* on any method, OPTIONS, and an action this enforcer does not know', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const vars = await rawDocker(method, '/debug/vars');
      expect(vars.status, method).to.equal(403);
      expect(vars.text).to.include('no debug endpoints');
    }
    expect((await rawDocker('GET', '/debug/pprof/cmdline')).status).to.equal(403);
    expect((await rawDocker('OPTIONS', '/v1.41/containers/json')).status).to.equal(200);
    const unknown = await fetch(`${enforcer!.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: JSON.stringify({ RequestMethod: 'POST', RequestUri: '/v1.41/brand/new/route', RequestHeaders: {} }) });
    const reply = (await unknown.json()) as { Allow: boolean; Msg: string };
    expect(reply.Allow).to.equal(false);
    expect(reply.Msg).to.include('AUTHZ_ALLOW_UNKNOWN');
  });

  it('11. credentials never reach a log line, a detection or a trigger', async () => {
    const seen: unknown[] = [];
    const logged = await useEnforcer({ LOG_AUTHZ_REQUESTS: 'True' });
    logged.daemon.violations.onViolation((report) => seen.push(report.subject));
    const remote = encodeURIComponent('https://builder:TOKEN123@127.0.0.1:9/repo.git');
    const buildargs = encodeURIComponent(JSON.stringify({ PASSWORD: 'hunter2' }));
    const build = await rawDocker('POST', `/v1.41/build?remote=${remote}&buildargs=${buildargs}&t=x`, Buffer.alloc(0), { headers: { 'content-type': 'application/x-tar' } });
    expect(build.status).to.equal(403);
    const everything = JSON.stringify(logged.logs) + JSON.stringify(seen);
    expect(logged.logged('authz decision').length).to.be.greaterThan(0);
    expect(seen.length).to.equal(1);
    expect(everything).to.not.include('TOKEN123');
    expect(everything).to.not.include('hunter2');
    expect(everything).to.include('builder:***');
  });

  it('12. a flood of denied creates with huge labels keeps the store and the heap bounded', async () => {
    const flooded = await useEnforcer({ MAX_DETECTION_BYTES: '1048576' });
    const labels: Record<string, string> = {};
    for (let i = 0; i < 200; i++) labels[`label-${i}`] = 'v'.repeat(1000);
    const heapBefore = liveHeapBytes();
    for (let i = 0; i < 1500; i++) {
      const body = Buffer.from(JSON.stringify({ ...priv(), Labels: labels })).toString('base64');
      const envelope = JSON.stringify({ RequestMethod: 'POST', RequestUri: `/v1.41/containers/create?name=flood-${i}-${'n'.repeat(300)}`, RequestHeaders: { 'Content-Type': 'application/json' }, RequestBody: body });
      const reply = (await (await fetch(`${flooded.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: envelope })).json()) as { Allow: boolean };
      expect(reply.Allow, `request ${i}: ${JSON.stringify(reply)}`).to.equal(false);
    }
    expect(flooded.daemon.store.sizeBytes).to.be.at.most(1_048_576);
    const found = await detections(flooded, '?show_image_and_labels=1');
    expect(found.length).to.be.greaterThan(0);
    expect(found.every((d) => (d as unknown as { truncated?: boolean }).truncated === true)).to.equal(true);
    // 1,500 x 200 KB of labels passed through (300 MB); what stays is a bounded fraction of it.
    const retained = liveHeapBytes() - heapBefore;
    expect(retained, `${Math.round(retained / 1048576)} MiB retained`).to.be.lessThan(48 * 1024 * 1024);
    await useEnforcer();
  });

  it('13. a fault never becomes an allow: async rules are refused at load, a rule that blows memory denies and costs the daemon nothing', async () => {
    const refused = await startEnforcer(testEngine(), { HTTP_PORT: '0', RUN_PERIODIC: 'False', MODE: 'KILL' }, { rules: "export const rules: ContainerRule[] = [{ name: 'async', rule: (async () => false) as never }];" }).then(
      async (started) => {
        await started.stop();
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    expect(refused?.message).to.include('rules[0].rule is an async function');

    const hog = await startEnforcer(
      testEngine(),
      { HTTP_PORT: '0', RUN_PERIODIC: 'False', MODE: 'KILL', DEFAULT_ACTION_ALLOW: 'True' },
      { rules: "export const rules: ContainerRule[] = [{ name: 'hog', rule: (c) => c.name === 'hog' && new Uint8Array(2 ** 31).fill(1)[7] === 2 }];" },
    );
    try {
      const rssBefore = process.memoryUsage().rss;
      const envelope = (name: string): string => JSON.stringify({ RequestMethod: 'POST', RequestUri: `/v1.41/containers/create?name=${name}`, RequestHeaders: { 'Content-Type': 'application/json' }, RequestBody: Buffer.from('{"Image":"x"}').toString('base64') });
      for (let i = 0; i < 3; i++) {
        const reply = (await (await fetch(`${hog.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: envelope('hog') })).json()) as { Allow: boolean; Msg: string };
        expect(reply.Allow).to.equal(false);
        expect(reply.Msg).to.match(/class: Rule(Memory|Timeout)Error/);
      }
      expect(((await (await fetch(`${hog.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: envelope('fine') })).json()) as { Allow: boolean }).Allow).to.equal(true);
      // The gigabytes were the rule host's; the daemon (this process) never held them.
      expect(process.memoryUsage().rss - rssBefore).to.be.lessThan(256 * 1024 * 1024);
    } finally {
      await hog.stop();
    }
  });

  it('14. a request whose rule backtracks does not hold the others: they are answered first', async () => {
    const slow = await startEnforcer(
      testEngine(),
      { HTTP_PORT: '0', RUN_PERIODIC: 'False', MODE: 'KILL', RULE_TIMEOUT_MS: '1000' },
      { rules: "export const rules: ContainerRule[] = [{ name: 'label format', rule: (c) => !/^(a+)+$/.test(c.params.Config?.Labels?.['fmt'] ?? 'a') }];" },
    );
    try {
      const envelope = (fmt: string): string =>
        JSON.stringify({ RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestHeaders: { 'Content-Type': 'application/json' }, RequestBody: Buffer.from(JSON.stringify({ Image: 'x', Labels: { fmt } })).toString('base64') });
      const order: string[] = [];
      const ask = (label: string, fmt: string): Promise<{ Allow: boolean }> =>
        fetch(`${slow.url}/AuthZPlugin.AuthZReq`, { method: 'POST', body: envelope(fmt) })
          .then((response) => response.json() as Promise<{ Allow: boolean }>)
          .then((reply) => {
            order.push(label);
            return reply;
          });
      const attack = ask('attacker', `${'a'.repeat(40)}!`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const others = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(`other-${i}`, 'aaa')));
      const attacker = await attack;
      expect(others.every((reply) => reply.Allow)).to.equal(true);
      expect(attacker.Allow).to.equal(false);
      expect(order.at(-1)).to.equal('attacker');
    } finally {
      await slow.stop();
    }
  });
});
