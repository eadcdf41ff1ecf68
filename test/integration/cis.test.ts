/**
 * The built-in CIS Docker Benchmark §5 pack (`cis-docker` in PACKS_PATH) through a real dockerd.
 * One table: for every enforceable container check, a create body built to fail it and one built to
 * pass it, on a base that passes every check of the table (so a row fails only its own check).
 *  - Admission (the enforcer as dockerd's AuthZ plugin, MODE KILL): per row the pack is `mode: off`
 *    with only the row's check KILL; the failing create is refused naming `CIS 5.x` (and no other
 *    check), the passing one is created and started. Plus the exec (5.23, 5.24) and swarm (5.1)
 *    checks, an update, 5.6's read-only binds through the CLI, and exclusions.
 *  - Runtime, plugin not registered: every row's failing and passing containers are started directly
 *    and judged by the start-event watcher (all checks WARN: recorded, left running) and by the
 *    periodic scan (all checks KILL: stopped), both with the exclusions of the pack.
 *
 * What this engine cannot show at runtime (covered there by the unit tests of checks.ts):
 *  - 5.5: runc in this VM cannot apply a privileged container's capability set, so a privileged
 *    container never starts: admission only.
 *  - 5.2 / 5.3: the host has neither AppArmor nor SELinux, so dockerd applies no profile or label.
 *    The runtime rows judge what dockerd records (SecurityOpt); AppArmorProfile stays empty, which
 *    the check answers not_applicable (the profile dockerd would assign is unit-tested).
 *  - 5.8 / 5.14: dockerd runs with --bridge=none and containers with --network none, so no port is
 *    ever published and `docker port` (NetworkSettings.Ports) stays empty. dockerd still creates and
 *    starts such a container and keeps its HostConfig.PortBindings, which the runtime form reads for
 *    ports `docker port` does not show: the runtime rows test that path; a published port's
 *    NetworkSettings.Ports is unit-tested.
 *  - 5.31: no user-namespace remapping here; UsernsMode host is accepted and recorded, which is all
 *    the check reads.
 * Informational checks (5.9, 5.18, 5.19, 5.28, 5.30) are never enforced (their mode is always off)
 * and are not in the table; 5.7 (sshd) is not part of the pack.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { cisCheck } from '../../src/policies/cis/catalog';
import type { CisCheckResult } from '../../src/policies/cis/model';
import { mapLimit } from '../../src/util/concurrency';
import { detections, startEnforcer, type DetectionJson, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { rawDocker } from './raw-docker';
import { testEngine } from './setup';
import { runCommand, type CliResult } from './tls';

const IMAGE = 'enforcer-test:busybox';
const OPS_IMAGE = 'cis-ops/monitor:1';
const NO_RULES = 'export const rules: ContainerRule[] = [];';
const MIB = 1024 * 1024;
/** A bind source made a shared mount point, so a bind may ask for shared propagation (5.20). */
const SHARED_DIR = `/tmp/de-cis-shared-${process.pid}`;
const CGROUP_PARENT = `/de-cis-${process.pid}`;
const run = promisify(execFile);

type Body = Readonly<Record<string, unknown>> & { readonly HostConfig?: Readonly<Record<string, unknown>> };

/** Passes every check of the table (no-new-privileges and a label option, limits, health check, read-only root). */
const SECURE_OPTIONS = ['no-new-privileges', 'label=level:s0:c100,c200'];

/** A create body: the compliant base with `over`'s top-level fields and HostConfig fields on top (undefined drops a field). */
function body(over: Body = {}): Record<string, unknown> {
  const { HostConfig: hostConfig = {}, ...config } = over;
  return {
    Image: IMAGE,
    Cmd: ['sleep', '600'],
    Healthcheck: { Test: ['CMD', 'true'], Interval: 30_000_000_000 },
    ...config,
    HostConfig: { NetworkMode: 'none', Memory: 64 * MIB, CpuShares: 512, ReadonlyRootfs: true, PidsLimit: 100, SecurityOpt: SECURE_OPTIONS, ...hostConfig },
  };
}

interface Row {
  /** Part of the containers' names: cis-<mode>-<key>-fail / -pass. */
  readonly key: string;
  readonly cis: string;
  /** What the failing body does. */
  readonly what: string;
  readonly fail: Body;
  readonly pass: Body;
  /** Why the failing container cannot run on this engine (admission only); absent: every mode. */
  readonly admissionOnly?: string;
}

const ROWS: readonly Row[] = [
  { key: '5-2', cis: '5.2', what: 'apparmor=unconfined', fail: { HostConfig: { SecurityOpt: [...SECURE_OPTIONS, 'apparmor=unconfined'] } }, pass: { HostConfig: { SecurityOpt: [...SECURE_OPTIONS, 'apparmor=docker-default'] } } },
  { key: '5-3', cis: '5.3', what: 'label=disable', fail: { HostConfig: { SecurityOpt: ['no-new-privileges', 'label=disable'] } }, pass: {} },
  { key: '5-3-none', cis: '5.3', what: 'no label option', fail: { HostConfig: { SecurityOpt: ['no-new-privileges'] } }, pass: { HostConfig: { SecurityOpt: ['no-new-privileges', 'label=type:container_t'] } } },
  { key: '5-4', cis: '5.4', what: 'CapAdd SYS_ADMIN', fail: { HostConfig: { CapAdd: ['SYS_ADMIN'] } }, pass: { HostConfig: { CapAdd: ['NET_RAW', 'CAP_CHOWN'] } } },
  { key: '5-5', cis: '5.5', what: 'Privileged', fail: { HostConfig: { Privileged: true } }, pass: { HostConfig: { Privileged: false } }, admissionOnly: 'a privileged container cannot start in this VM' },
  { key: '5-6-bind', cis: '5.6', what: 'Binds /etc read-write', fail: { HostConfig: { Binds: ['/etc:/x'] } }, pass: { HostConfig: { Binds: ['/etc:/x:ro'] } } },
  { key: '5-6-mount', cis: '5.6', what: 'Mounts bind /etc read-write', fail: { HostConfig: { Mounts: [{ Type: 'bind', Source: '/etc', Target: '/x' }] } }, pass: { HostConfig: { Mounts: [{ Type: 'bind', Source: '/etc', Target: '/x', ReadOnly: true }] } } },
  { key: '5-8', cis: '5.8', what: 'host port 80', fail: { ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '80' }] } } }, pass: { ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } } } },
  { key: '5-10', cis: '5.10', what: 'NetworkMode host', fail: { HostConfig: { NetworkMode: 'host' } }, pass: { HostConfig: { NetworkMode: 'none' } } },
  { key: '5-11', cis: '5.11', what: 'no memory limit', fail: { HostConfig: { Memory: 0 } }, pass: { HostConfig: { Memory: 128 * MIB } } },
  { key: '5-12', cis: '5.12', what: 'no CPU shares or limit', fail: { HostConfig: { CpuShares: 0 } }, pass: { HostConfig: { CpuShares: 0, NanoCpus: 500_000_000 } } },
  { key: '5-13', cis: '5.13', what: 'a writable root filesystem', fail: { HostConfig: { ReadonlyRootfs: false } }, pass: { HostConfig: { ReadonlyRootfs: true } } },
  { key: '5-14', cis: '5.14', what: 'a port bound on 0.0.0.0', fail: { ExposedPorts: { '8080/tcp': {} }, HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } } }, pass: { ExposedPorts: { '8080/tcp': {} }, HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } } } },
  { key: '5-15', cis: '5.15', what: 'on-failure:10', fail: { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 10 } } }, pass: { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 } } } },
  { key: '5-16', cis: '5.16', what: 'PidMode host', fail: { HostConfig: { PidMode: 'host' } }, pass: {} },
  { key: '5-17', cis: '5.17', what: 'IpcMode host', fail: { HostConfig: { IpcMode: 'host' } }, pass: { HostConfig: { IpcMode: 'private' } } },
  { key: '5-20-bind', cis: '5.20', what: 'a bind with shared propagation', fail: { HostConfig: { Binds: [`${SHARED_DIR}:/x:shared`] } }, pass: { HostConfig: { Binds: [`${SHARED_DIR}:/x:rslave`] } } },
  { key: '5-20-mount', cis: '5.20', what: 'a mount with rshared propagation', fail: { HostConfig: { Mounts: [{ Type: 'bind', Source: SHARED_DIR, Target: '/x', BindOptions: { Propagation: 'rshared' } }] } }, pass: { HostConfig: { Mounts: [{ Type: 'bind', Source: SHARED_DIR, Target: '/x', BindOptions: { Propagation: 'rprivate' } }] } } },
  { key: '5-21', cis: '5.21', what: 'UTSMode host', fail: { HostConfig: { UTSMode: 'host' } }, pass: {} },
  { key: '5-22', cis: '5.22', what: 'seccomp=unconfined', fail: { HostConfig: { SecurityOpt: [...SECURE_OPTIONS, 'seccomp=unconfined'] } }, pass: {} },
  { key: '5-25', cis: '5.25', what: 'a cgroup parent', fail: { HostConfig: { CgroupParent: CGROUP_PARENT } }, pass: {} },
  { key: '5-26', cis: '5.26', what: 'no no-new-privileges', fail: { HostConfig: { SecurityOpt: ['label=level:s0:c100,c200', 'no-new-privileges=false'] } }, pass: { HostConfig: { SecurityOpt: ['label=level:s0:c100,c200', 'no-new-privileges=true'] } } },
  { key: '5-27', cis: '5.27', what: 'no health check (the image has none)', fail: { Healthcheck: undefined }, pass: {} },
  { key: '5-27-none', cis: '5.27', what: 'Healthcheck NONE', fail: { Healthcheck: { Test: ['NONE'] } }, pass: { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000 } } },
  { key: '5-29', cis: '5.29', what: 'no PIDs limit', fail: { HostConfig: { PidsLimit: 0 } }, pass: { HostConfig: { PidsLimit: 64 } } },
  { key: '5-31', cis: '5.31', what: 'UsernsMode host', fail: { HostConfig: { UsernsMode: 'host' } }, pass: {} },
  {
    key: '5-32',
    cis: '5.32',
    what: "the engine's docker.sock bound",
    // The engine's socket path is known once it runs.
    get fail(): Body {
      return { HostConfig: { Binds: [`${testEngine().socketPath}:/var/run/docker.sock`] } };
    },
    pass: { HostConfig: { Binds: [`${SHARED_DIR}:/data:ro`] } },
  },
];

/** Every check the table tests. */
const TESTED = [...new Set(ROWS.map((row) => row.cis))];
/** The containers whose checks are spared: pack-wide by name or image, and for 5.4 only (patterns anchored with ^). */
const EXCLUDE = `  exclude:
    names: ["^monitoring-"]
    images: ["^cis-ops/"]
    checks:
      "5.4": { names: ["^cis-(az|ev|pd)-spared-cap"] }
`;

function slug(cis: string): string {
  const check = cisCheck(cis);
  if (!check) throw new Error(`no CIS check ${cis}`);
  return check.id;
}

/** The pack off, with only the given checks on in their modes. */
function packsFile(checks: Readonly<Record<string, 'KILL' | 'WARN'>>, exclude = ''): string {
  const lines = Object.entries(checks).map(([cis, mode]) => `    "${cis}": ${mode}\n`);
  return `cis-docker:\n  mode: off\n  checks:\n${lines.join('')}${exclude}`;
}

/** The CIS numbers a text names. */
function cisNumbers(text: string): string[] {
  return [...new Set([...text.matchAll(/CIS (5\.\d+)/g)].map((match) => match[1] ?? ''))].sort();
}

function rulesOf(detection: DetectionJson): string[] {
  return Array.isArray(detection.violated_rule) ? detection.violated_rule : [detection.violated_rule];
}

/** The docker CLI against the throwaway engine, with no host CLI config taking part. */
function docker(...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[name];
  return runCommand('/usr/bin/docker', ['-H', `unix://${testEngine().socketPath}`, ...args], { env: { ...env, DOCKER_CONFIG: path.join(os.tmpdir(), `de-cis-cli-${process.pid}`) }, timeoutMs: 60_000 });
}

async function inspect(name: string): Promise<Record<string, unknown> | undefined> {
  const answer = await rawDocker('GET', `/v1.41/containers/${name}/json`);
  if (answer.status === 404) return undefined;
  expect(answer.status, answer.text).to.equal(200);
  return JSON.parse(answer.text) as Record<string, unknown>;
}

/** Creates and starts a container; dockerd's error when it refuses. */
async function createAndStart(name: string, create: Record<string, unknown>): Promise<void> {
  const created = await rawDocker('POST', `/v1.41/containers/create?name=${name}`, create);
  if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${created.text}`);
  const started = await rawDocker('POST', `/v1.41/containers/${name}/start`);
  if (started.status !== 204) throw new Error(`start ${name}: ${started.status} ${started.text}`);
}

/** dockerd's message of a refused call. */
function messageOf(text: string): string {
  try {
    return String((JSON.parse(text) as { message?: unknown }).message ?? text);
  } catch {
    return text;
  }
}

async function swarmState(): Promise<string> {
  const info = await rawDocker('GET', '/v1.41/info');
  return String((JSON.parse(info.text) as { Swarm?: { LocalNodeState?: string } }).Swarm?.LocalNodeState ?? '');
}

describe('CIS Docker Benchmark §5 pack through a real dockerd', function () {
  this.timeout(120_000);

  before(async () => {
    await mkdir(SHARED_DIR, { recursive: true });
    await run('mount', ['--bind', SHARED_DIR, SHARED_DIR]);
    await run('mount', ['--make-shared', SHARED_DIR]);
    await testEngine().docker.getImage(IMAGE).tag({ repo: 'cis-ops/monitor', tag: '1' });
  });

  after(async () => {
    await testEngine().removeAllContainers();
    await testEngine().docker.getImage(OPS_IMAGE).remove().catch(() => undefined);
    await run('umount', [SHARED_DIR]).catch(() => run('umount', ['-l', SHARED_DIR]).catch(() => undefined));
    await rm(SHARED_DIR, { recursive: true, force: true });
    // dockerd (cgroupfs driver) leaves the parent cgroup of 5.25's containers behind.
    for (const controller of await readdir('/sys/fs/cgroup').catch(() => [])) {
      await rmdir(path.join('/sys/fs/cgroup', controller, CGROUP_PARENT)).catch(() => undefined);
    }
    await rmdir(path.join('/sys/fs/cgroup', CGROUP_PARENT)).catch(() => undefined);
  });

  describe('admission: the enforcer as AuthZ plugin, MODE KILL', () => {
    let enforcer: RunningEnforcer;
    const plugin = tcpPlugin('cis', 47);

    /** Puts `packs` in force (the enforcer does not watch its files here). */
    async function usePacks(packs: string): Promise<void> {
      await writeFile(path.join(enforcer.dir, 'packs.yml'), packs);
      await enforcer.daemon.reload('test');
      const status = enforcer.daemon.reloadStatus();
      expect(status?.result, JSON.stringify(status?.errors)).to.equal('success');
    }

    /** A create the pack refuses: 403 naming exactly `cis` (and `others`), nothing created, the denial recorded. */
    async function expectDenied(name: string, create: Record<string, unknown>, cis: string, others: readonly string[] = []): Promise<string> {
      const denied = await rawDocker('POST', `/v1.41/containers/create?name=${name}`, create);
      const message = messageOf(denied.text);
      expect(denied.status, message).to.equal(403);
      expect(message).to.include(`CIS ${cis} ${slug(cis)}: `);
      expect(cisNumbers(message), message).to.deep.equal([cis, ...others].sort());
      expect(await inspect(name), `${name} exists`).to.equal(undefined);
      const recorded = (await detections(enforcer, '?show_all_violated_rules=true')).find((d) => d.name === name);
      expect(recorded, `detection of ${name}`).to.deep.include({ source: 'authz_plugin', action: 'denied', mode: 'KILL' });
      expect(rulesOf(recorded!).some((rule) => rule.startsWith(`CIS ${cis} ${slug(cis)}: `)), JSON.stringify(recorded)).to.equal(true);
      return message;
    }

    async function expectRunning(name: string, create: Record<string, unknown>): Promise<void> {
      await createAndStart(name, create);
      expect(await testEngine().isRunning(name), `${name} running`).to.equal(true);
    }

    before(async () => {
      enforcer = await startEnforcer(testEngine(), { HTTP_PORT: String(plugin.port), MODE: 'KILL', RUN_PERIODIC: 'False', RUN_START_EVENTS: 'False', RELOAD_ON_CHANGE: 'False' }, { rules: NO_RULES, packs: packsFile({}) });
      await plugin.register();
    });

    after(async () => {
      await plugin.unregister().catch(() => undefined);
      // Should a swarm init ever get through, leave no swarm behind for the suites after this one.
      if ((await swarmState().catch(() => 'inactive')) !== 'inactive') await rawDocker('POST', '/v1.41/swarm/leave?force=true');
      await enforcer?.stop();
      await testEngine().removeAllContainers();
    });

    for (const row of ROWS) {
      it(`CIS ${row.cis} ${slug(row.cis)}: refuses ${row.what}, admits and starts the passing container`, async () => {
        await usePacks(packsFile({ [row.cis]: 'KILL' }));
        await expectDenied(`cis-az-${row.key}-fail`, body(row.fail), row.cis);
        await expectRunning(`cis-az-${row.key}-pass`, body(row.pass));
      });
    }

    it('with every check of the table KILL, each passing body is still admitted (the base passes them all)', async () => {
      await usePacks(packsFile(Object.fromEntries(TESTED.map((cis) => [cis, 'KILL' as const]))));
      for (const row of ROWS) {
        const created = await rawDocker('POST', `/v1.41/containers/create?name=cis-az-all-${row.key}`, body(row.pass));
        expect(created.status, `${row.key}: ${messageOf(created.text)}`).to.equal(201);
      }
      // A privileged container also runs without an AppArmor profile: 5.2 names it too.
      await expectDenied('cis-az-all-5-5-fail', body({ HostConfig: { Privileged: true } }), '5.5', ['5.2']);
    });

    it('CIS 5.6: a read-only bind of /etc passes and a read-write one fails, with -v and with --mount', async () => {
      await usePacks(packsFile({ '5.6': 'KILL' }));
      const cases: Array<[string, string[], boolean]> = [
        ['cis-az-etc-v-ro', ['-v', '/etc:/x:ro'], true],
        ['cis-az-etc-v-rw', ['-v', '/etc:/x'], false],
        ['cis-az-etc-v-rw2', ['-v', '/etc:/x:rw'], false],
        ['cis-az-etc-mount-ro', ['--mount', 'type=bind,src=/etc,dst=/x,readonly'], true],
        ['cis-az-etc-mount-rw', ['--mount', 'type=bind,src=/etc,dst=/x'], false],
        // A subdirectory is not the sensitive directory itself.
        ['cis-az-etc-sub-rw', ['-v', '/etc/ssl:/x'], true],
      ];
      for (const [name, args, allowed] of cases) {
        const result = await docker('run', '-d', '--network', 'none', '--name', name, ...args, IMAGE, 'sleep', '600');
        if (allowed) {
          expect(result.code, `${name}: ${result.stderr}`).to.equal(0);
          expect(await testEngine().isRunning(name), name).to.equal(true);
        } else {
          expect(result.code, name).to.not.equal(0);
          expect(result.stderr, name).to.include('CIS 5.6 sensitive-host-dir-mounted: /etc mounted read-write');
          expect(await inspect(name), name).to.equal(undefined);
        }
      }
      const mounts = (await inspect('cis-az-etc-mount-ro'))?.['Mounts'] as Array<{ Source: string; RW: boolean }>;
      expect(mounts.map((m) => [m.Source, m.RW])).to.deep.equal([['/etc', false]]);
    });

    it('CIS 5.23 / 5.24: refuses docker exec --privileged and exec as root, allows exec -u 1000', async () => {
      await usePacks(packsFile({ '5.23': 'KILL', '5.24': 'KILL' }));
      const name = 'cis-az-exec';
      await expectRunning(name, body());
      // Each exec would leave a file in /dev/shm (the root filesystem is read-only): a refused one leaves none.
      const privileged = await docker('exec', '--privileged', name, 'sh', '-c', 'echo > /dev/shm/privileged');
      expect(privileged.code).to.not.equal(0);
      expect(privileged.stderr).to.include('CIS 5.23 exec-privileged: exec Privileged: true');
      const root = await docker('exec', '-u', 'root', name, 'sh', '-c', 'echo > /dev/shm/root');
      expect(root.code).to.not.equal(0);
      expect(root.stderr).to.include('CIS 5.24 exec-as-root: exec User root');
      const uid0 = await rawDocker('POST', `/v1.41/containers/${name}/exec`, { User: '0:0', Cmd: ['sh', '-c', 'echo > /dev/shm/uid0'] });
      expect(uid0.status).to.equal(403);
      expect(messageOf(uid0.text)).to.include('CIS 5.24 exec-as-root: exec User 0:0');
      const user = await docker('exec', '-u', '1000', name, 'sh', '-c', 'id -u > /dev/shm/uid1000; id -u');
      expect(user.code, user.stderr).to.equal(0);
      expect(user.stdout.trim()).to.equal('1000');
      // No -u: the container's own user, judged when the container was created.
      const own = await docker('exec', name, 'ls', '/dev/shm');
      expect(own.code, own.stderr).to.equal(0);
      expect(own.stdout.trim().split(/\s+/)).to.deep.equal(['uid1000']);
      const recorded = (await detections(enforcer, '?show_all_violated_rules=true')).filter((d) => d.name === name);
      expect(recorded.map((d) => [d.source, d.action, d.mode])).to.deep.equal([['authz_plugin', 'denied', 'KILL']]);
      expect(recorded[0]!.count).to.equal(3);
    });

    it('CIS 5.1: refuses swarm init and join; the engine stays out of swarm mode', async () => {
      await usePacks(packsFile({ '5.1': 'KILL' }));
      const init = await docker('swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377');
      expect(init.code).to.not.equal(0);
      expect(init.stderr).to.include('CIS 5.1 swarm-mode-enabled: POST /swarm/init enables swarm mode');
      const join = await rawDocker('POST', '/v1.41/swarm/join', { ListenAddr: '127.0.0.1:2377', RemoteAddrs: ['127.0.0.1:2378'], JoinToken: 'SWMTKN-1-0-0' });
      expect(join.status).to.equal(403);
      expect(messageOf(join.text)).to.include('CIS 5.1 swarm-mode-enabled: POST /swarm/join enables swarm mode');
      expect(await swarmState()).to.equal('inactive');
    });

    it('judges an update as the container it would leave: on-failure:10 is refused (CIS 5.15), on-failure:3 applied', async () => {
      await usePacks(packsFile({ '5.15': 'KILL' }));
      const name = 'cis-az-update';
      await expectRunning(name, body());
      const refused = await docker('update', '--restart', 'on-failure:10', name);
      expect(refused.code).to.not.equal(0);
      expect(refused.stderr).to.include('CIS 5.15 restart-retries-over-5: RestartPolicy on-failure:10');
      const policy = async (): Promise<unknown> => ((await inspect(name))?.['HostConfig'] as { RestartPolicy?: unknown }).RestartPolicy;
      expect(await policy()).to.deep.include({ MaximumRetryCount: 0 });
      const applied = await docker('update', '--restart', 'on-failure:3', name);
      expect(applied.code, applied.stderr).to.equal(0);
      expect(await policy()).to.deep.equal({ Name: 'on-failure', MaximumRetryCount: 3 });
    });

    it('spares excluded containers: pack-wide by name or image, and one check by name', async () => {
      await usePacks(packsFile({ '5.4': 'KILL', '5.11': 'KILL' }, EXCLUDE));
      const failsBoth = body({ HostConfig: { CapAdd: ['SYS_ADMIN'], Memory: 0 } });
      await expectRunning('monitoring-az', failsBoth);
      await expectRunning('cis-az-ops-image', { ...failsBoth, Image: OPS_IMAGE });
      await expectRunning('cis-az-spared-cap', body({ HostConfig: { CapAdd: ['SYS_ADMIN'] } }));
      // Spared from 5.4 only: its missing memory limit is still refused.
      await expectDenied('cis-az-spared-cap-nomem', failsBoth, '5.11');
      // The pattern is anchored: "monitoring-" inside a name spares nothing.
      await expectDenied('cis-monitoring-az', failsBoth, '5.4', ['5.11']);
    });
  });

  describe('runtime, the plugin not registered: start events (WARN) and the periodic scan (KILL)', () => {
    let enforcer: RunningEnforcer | undefined;
    const runtimeRows = ROWS.filter((row) => row.admissionOnly === undefined);
    const checks = (mode: 'KILL' | 'WARN'): Record<string, 'KILL' | 'WARN'> => Object.fromEntries([...new Set(runtimeRows.map((row) => row.cis))].map((cis) => [cis, mode]));

    interface Launched {
      readonly failing: ReadonlyArray<{ readonly name: string; readonly row: Row }>;
      readonly passing: readonly string[];
      readonly spared: readonly string[];
    }

    /** Every row's failing and passing container, and the excluded ones (failing what they are spared from), started at once. */
    async function launch(prefix: string): Promise<Launched> {
      const failing = runtimeRows.map((row) => ({ name: `cis-${prefix}-${row.key}-fail`, row }));
      const passing = runtimeRows.map((row) => ({ name: `cis-${prefix}-${row.key}-pass`, create: body(row.pass) }));
      const spared = [
        { name: `monitoring-${prefix}`, create: body({ HostConfig: { CapAdd: ['SYS_ADMIN'], Memory: 0, ReadonlyRootfs: false, PidMode: 'host' } }) },
        { name: `cis-${prefix}-spared-cap`, create: body({ HostConfig: { CapAdd: ['SYS_ADMIN'] } }) },
      ];
      await mapLimit([...failing.map(({ name, row }) => ({ name, create: body(row.fail) })), ...passing, ...spared], 8, ({ name, create }) => createAndStart(name, create));
      return { failing, passing: passing.map((c) => c.name), spared: spared.map((c) => c.name) };
    }

    /** The names the CIS report has results for (each container the enforcer judged and still lists). */
    function judged(): Map<string, readonly CisCheckResult[]> {
      return new Map((enforcer?.daemon.cisReport.list() ?? []).map((row) => [row.name, row.results]));
    }

    function expectSpared(launched: Launched): void {
      const report = judged();
      const [everything, oneCheck] = launched.spared;
      expect(report.get(everything!)?.every((result) => result.result === 'excluded'), JSON.stringify(report.get(everything!))).to.equal(true);
      const partly = report.get(oneCheck!) ?? [];
      expect(partly.find((result) => result.id === 'capabilities-added')?.result).to.equal('excluded');
      // Informational checks (mode off) may fail; none of the enforced ones does.
      expect(partly.filter((result) => result.result === 'fail' && result.mode !== 'off')).to.deep.equal([]);
    }

    afterEach(async () => {
      await enforcer?.stop();
      enforcer = undefined;
      await testEngine().removeAllContainers();
    });

    it('start events, every tested check WARN: each failing container is recorded naming its check and keeps running', async () => {
      const engine = testEngine();
      enforcer = await startEnforcer(engine, { MODE: 'WARN', RUN_PERIODIC: 'False', RUN_START_EVENTS: 'True', RELOAD_ON_CHANGE: 'False' }, { rules: NO_RULES, packs: packsFile(checks('WARN'), EXCLUDE) });
      await engine.waitFor(async () => enforcer!.logged('docker event stream connected').length > 0, 10_000, 'the event stream');
      const launched = await launch('ev');
      const all = [...launched.failing.map((c) => c.name), ...launched.passing, ...launched.spared];
      await engine.waitFor(async () => all.every((name) => judged().has(name)), 30_000, 'every started container to be judged');
      const found = await detections(enforcer, '?show_all_violated_rules=true');
      for (const { name, row } of launched.failing) {
        const detection = found.find((d) => d.name === name);
        expect(detection, `${name}: ${JSON.stringify(found.map((d) => d.name))}`).to.deep.include({ source: 'event', action: 'warned', mode: 'WARN' });
        expect(rulesOf(detection!).some((rule) => rule.startsWith(`CIS ${row.cis} ${slug(row.cis)}: `)), `${name}: ${JSON.stringify(detection)}`).to.equal(true);
        expect(await engine.isRunning(name), `${name} running`).to.equal(true);
      }
      for (const name of [...launched.passing, ...launched.spared]) {
        expect(found.find((d) => d.name === name), `${name} recorded`).to.equal(undefined);
        expect(await engine.isRunning(name), `${name} running`).to.equal(true);
      }
      expectSpared(launched);
    });

    it('the periodic scan, every tested check KILL: each failing container is stopped naming its check, the passing and the excluded run on', async () => {
      const engine = testEngine();
      const launched = await launch('pd');
      enforcer = await startEnforcer(
        engine,
        { MODE: 'KILL', RUN_PERIODIC: 'True', IMMEDIATE_PERIODICAL_START: 'True', CHECK_INTERVAL_S: '1', RUN_START_EVENTS: 'False', RELOAD_ON_CHANGE: 'False' },
        { rules: NO_RULES, packs: packsFile(checks('KILL'), EXCLUDE) },
      );
      for (const { name } of launched.failing) await engine.waitFor(async () => !(await engine.isRunning(name)), 30_000, `${name} to be stopped`);
      await engine.waitFor(async () => [...launched.passing, ...launched.spared].every((name) => judged().has(name)), 15_000, 'the running containers to be judged');
      const found = await detections(enforcer, '?show_all_violated_rules=true');
      for (const { name, row } of launched.failing) {
        const detection = found.find((d) => d.name === name);
        expect(detection, name).to.deep.include({ source: 'periodic', action: 'stopped', mode: 'KILL' });
        expect(rulesOf(detection!).some((rule) => rule.startsWith(`CIS ${row.cis} ${slug(row.cis)}: `)), `${name}: ${JSON.stringify(detection)}`).to.equal(true);
      }
      for (const name of [...launched.passing, ...launched.spared]) {
        expect(found.find((d) => d.name === name), `${name} recorded`).to.equal(undefined);
        expect(await engine.isRunning(name), `${name} running`).to.equal(true);
      }
      expectSpared(launched);
    });
  });
});
