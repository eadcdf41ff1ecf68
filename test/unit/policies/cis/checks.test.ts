import { expect } from 'chai';
import { containersFromCreate, readContainerWrapper } from '../../../../src/facts/container-create';
import { CIS_CATALOG } from '../../../../src/policies/cis/catalog';
import { checkLogic, CIS_CHECKS } from '../../../../src/policies/cis/checks';
import type { CisFinding, ContainerSubject, ExecSubject } from '../../../../src/policies/cis/model';
import type { ContainerParams } from '../../../../src/rules/api';

type Json = Record<string, unknown>;

const PASS: CisFinding = { result: 'pass' };
const NOT_APPLICABLE: CisFinding = { result: 'not_applicable' };
const fail = (detail: string): CisFinding => ({ result: 'fail', detail });

const DIGEST = 'sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7';

/** What `docker create busybox` (CLI 20.10) posts, the defaults it always sends included. */
const CLI_BODY: Json = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: [],
  Cmd: null,
  Image: 'busybox',
  Volumes: {},
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: {},
  HostConfig: {
    Binds: null,
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: 'default',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    VolumesFrom: null,
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: '',
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 0,
    ConsoleSize: [0, 0],
    Isolation: '',
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: -1,
    OomKillDisable: false,
    Ulimits: null,
    MaskedPaths: null,
    ReadonlyPaths: null,
  },
  NetworkingConfig: { EndpointsConfig: {} },
};

/** `docker run` with the CLI's defaults and these HostConfig / Config fields. */
function cliBody(hostConfig: Json, configFields: Json = {}): Json {
  return { ...CLI_BODY, ...configFields, HostConfig: { ...(CLI_BODY['HostConfig'] as Json), ...hostConfig } };
}

/** The admission form of a create body, read as the AuthZ path reads it. */
function admission(body: Json, imageHealthcheck?: boolean): ContainerSubject {
  const params = containersFromCreate(readContainerWrapper(body), '')[0]!;
  return { form: 'admission', params, ...(imageHealthcheck !== undefined ? { imageHealthcheck } : {}) };
}

/** `docker inspect` of `docker run -d --name web busybox sleep 1d` on dockerd 20.10 (AppArmor host, cgroup v2). */
const INSPECT: Json = {
  Id: '5f0a1d5e8f7c2c7d1a4c0b4f3b9e6a1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f',
  Created: '2024-03-01T10:00:00.123456789Z',
  Path: 'sleep',
  Args: ['1d'],
  State: { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 4242, ExitCode: 0, Error: '', StartedAt: '2024-03-01T10:00:00.5Z', FinishedAt: '0001-01-01T00:00:00Z' },
  Image: DIGEST,
  ResolvConfPath: '/var/lib/docker/containers/5f0a/resolv.conf',
  Name: '/web',
  RestartCount: 0,
  Driver: 'overlay2',
  Platform: 'linux',
  MountLabel: '',
  ProcessLabel: '',
  AppArmorProfile: 'docker-default',
  ExecIDs: null,
  HostConfig: {
    Binds: null,
    ContainerIDFile: '',
    LogConfig: { Type: 'json-file', Config: {} },
    NetworkMode: 'default',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    VolumesFrom: null,
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: 'private',
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: 'private',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 67108864,
    Runtime: 'runc',
    ConsoleSize: [0, 0],
    Isolation: '',
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: '',
    BlkioWeight: 0,
    CpuPeriod: 0,
    CpuQuota: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    KernelMemory: 0,
    KernelMemoryTCP: 0,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: null,
    OomKillDisable: false,
    PidsLimit: null,
    Ulimits: null,
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
    ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  },
  Mounts: [],
  Config: {
    Hostname: '5f0a1d5e8f7c',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Cmd: ['sleep', '1d'],
    Image: 'busybox',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: {},
  },
  NetworkSettings: {
    Bridge: '',
    SandboxID: '3c1e9d0b2a5f',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: {},
    SandboxKey: '/var/run/docker/netns/3c1e9d0b2a5f',
    Gateway: '172.17.0.1',
    IPAddress: '172.17.0.2',
    IPPrefixLen: 16,
    MacAddress: '02:42:ac:11:00:02',
    Networks: {
      bridge: { IPAMConfig: null, Links: null, Aliases: null, NetworkID: '8e2b6c1f0a3d', EndpointID: '7d1c0b9a8f6e', Gateway: '172.17.0.1', IPAddress: '172.17.0.2', IPPrefixLen: 16, MacAddress: '02:42:ac:11:00:02', DriverOpts: null },
    },
  },
};

/** The inspect above with these top-level fields replaced and these HostConfig / Config / State / NetworkSettings fields merged in. */
function inspect(changes: { HostConfig?: Json; Config?: Json; State?: Json; NetworkSettings?: Json; [field: string]: unknown }): ContainerSubject {
  const { HostConfig, Config, State, NetworkSettings, ...top } = changes;
  const params = {
    ...INSPECT,
    ...top,
    HostConfig: { ...(INSPECT['HostConfig'] as Json), ...HostConfig },
    Config: { ...(INSPECT['Config'] as Json), ...Config },
    State: { ...(INSPECT['State'] as Json), ...State },
    NetworkSettings: { ...(INSPECT['NetworkSettings'] as Json), ...NetworkSettings },
  };
  return { form: 'runtime', params: params as ContainerParams };
}

const bindMount = (source: string, destination: string, rw: boolean, extra: Json = {}): Json => ({ Type: 'bind', Source: source, Destination: destination, Mode: rw ? '' : 'ro', RW: rw, Propagation: 'rprivate', ...extra });

type Case = readonly [why: string, subject: ContainerSubject, expected: CisFinding];

const TABLES: Record<string, readonly Case[]> = {
  'apparmor-unconfined': [
    ['admission: docker run busybox', admission(CLI_BODY), PASS],
    ['admission: a profile of its own', admission(cliBody({ SecurityOpt: ['apparmor=my-profile'] })), PASS],
    ['admission: apparmor=unconfined', admission(cliBody({ SecurityOpt: ['apparmor=unconfined'] })), fail('SecurityOpt apparmor=unconfined')],
    ['admission: the deprecated apparmor:unconfined', admission(cliBody({ SecurityOpt: ['apparmor:unconfined'] })), fail('SecurityOpt apparmor=unconfined')],
    ['admission: privileged runs unconfined', admission(cliBody({ Privileged: true })), fail('Privileged: runs without an AppArmor profile')],
    ['runtime: docker-default', inspect({}), PASS],
    ['runtime: a custom profile', inspect({ AppArmorProfile: 'my-profile', HostConfig: { SecurityOpt: ['apparmor=my-profile'] } }), PASS],
    ['runtime: unconfined by option', inspect({ AppArmorProfile: 'unconfined', HostConfig: { SecurityOpt: ['apparmor=unconfined'] } }), fail('SecurityOpt apparmor=unconfined')],
    ['runtime: privileged', inspect({ AppArmorProfile: 'unconfined', HostConfig: { Privileged: true } }), fail('Privileged: runs without an AppArmor profile')],
    ['runtime: an unconfined profile whatever the reason', inspect({ AppArmorProfile: 'unconfined' }), fail('AppArmorProfile unconfined')],
    ['runtime: a host without AppArmor leaves the profile empty', inspect({ AppArmorProfile: '' }), NOT_APPLICABLE],
    ['runtime: without AppArmor, apparmor=unconfined still fails (as at admission)', inspect({ AppArmorProfile: '', HostConfig: { SecurityOpt: ['apparmor=unconfined'] } }), fail('SecurityOpt apparmor=unconfined')],
  ],
  'selinux-options-missing': [
    ['admission: a label type', admission(cliBody({ SecurityOpt: ['label=type:svirt_apache_t'] })), PASS],
    ['admission: the deprecated label: form', admission(cliBody({ SecurityOpt: ['label:level:s0:c100,c200'] })), PASS],
    ['admission: no security options', admission(CLI_BODY), fail('SecurityOpt has no label option')],
    ['admission: options, but no label', admission(cliBody({ SecurityOpt: ['no-new-privileges'] })), fail('SecurityOpt has no label option')],
    ['admission: label=disable', admission(cliBody({ SecurityOpt: ['label=disable'] })), fail('SecurityOpt label=disable')],
    ['admission: label:disable', admission(cliBody({ SecurityOpt: ['label:disable'] })), fail('SecurityOpt label=disable')],
    ['admission: a bare disable is label=disable to dockerd', admission(cliBody({ SecurityOpt: ['disable'] })), fail('SecurityOpt label=disable')],
    ['runtime: a label level', inspect({ HostConfig: { SecurityOpt: ['label=level:s0:c1,c2'] } }), PASS],
    ['runtime: SecurityOpt null', inspect({}), fail('SecurityOpt has no label option')],
    ['runtime: label=disable', inspect({ HostConfig: { SecurityOpt: ['label=disable'] } }), fail('SecurityOpt label=disable')],
  ],
  'capabilities-added': [
    ['admission: no CapAdd', admission(CLI_BODY), PASS],
    ['admission: a default capability in lower case', admission(cliBody({ CapAdd: ['chown'] })), PASS],
    ['admission: default capabilities with and without CAP_', admission(cliBody({ CapAdd: ['CAP_NET_BIND_SERVICE', 'setuid', 'Cap_Kill'] })), PASS],
    ['admission: CapDrop ALL and a default one back', admission(cliBody({ CapDrop: ['ALL'], CapAdd: ['CHOWN'] })), PASS],
    ['admission: CAP_NET_ADMIN', admission(cliBody({ CapAdd: ['CAP_NET_ADMIN'] })), fail('CapAdd: NET_ADMIN')],
    ['admission: ALL', admission(cliBody({ CapAdd: ['ALL'] })), fail('CapAdd: ALL')],
    ['admission: sys_admin among defaults', admission(cliBody({ CapAdd: ['sys_admin', 'CHOWN', 'SYS_ADMIN'] })), fail('CapAdd: SYS_ADMIN')],
    ['admission: dropping one does not excuse adding another', admission(cliBody({ CapAdd: ['SYS_PTRACE'], CapDrop: ['NET_RAW'] })), fail('CapAdd: SYS_PTRACE')],
    ['admission: a bare string (Go strslice)', admission({ Image: 'busybox', HostConfig: { CapAdd: 'SYS_MODULE' } }), fail('CapAdd: SYS_MODULE')],
    ['runtime: CapAdd as inspect shows it (CAP_ prefix)', inspect({ HostConfig: { CapAdd: ['CAP_CHOWN', 'CAP_SETGID'] } }), PASS],
    ['runtime: CAP_NET_ADMIN', inspect({ HostConfig: { CapAdd: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'] } }), fail('CapAdd: NET_ADMIN, SYS_TIME')],
    ['runtime: ALL', inspect({ HostConfig: { CapAdd: ['ALL'] } }), fail('CapAdd: ALL')],
  ],
  'privileged-container': [
    ['admission: docker run busybox', admission(CLI_BODY), PASS],
    ['admission: --privileged', admission({ Image: 'busybox', HostConfig: { Privileged: true } }), fail('Privileged: true')],
    ['admission: a top-level Privileged (read by engines up to 26)', admission({ Image: 'busybox', Privileged: true }), fail('Privileged: true')],
    ['runtime: not privileged', inspect({}), PASS],
    ['runtime: privileged', inspect({ HostConfig: { Privileged: true } }), fail('Privileged: true')],
  ],
  'sensitive-host-dir-mounted': [
    ['admission: -v /etc:/x:ro', admission(cliBody({ Binds: ['/etc:/x:ro'] })), PASS],
    ['admission: -v /etc:/x', admission(cliBody({ Binds: ['/etc:/x'] })), fail('/etc mounted read-write')],
    ['admission: -v /etc:/x:rw', admission(cliBody({ Binds: ['/etc:/x:rw'] })), fail('/etc mounted read-write')],
    ['admission: -v /etc:/x:z (an SELinux relabel is not read-only)', admission(cliBody({ Binds: ['/etc:/x:z'] })), fail('/etc mounted read-write')],
    ['admission: -v /etc:/x:ro,rslave', admission(cliBody({ Binds: ['/etc:/x:ro,rslave'] })), PASS],
    ['admission: /etc/ with a trailing slash', admission(cliBody({ Binds: ['/etc/:/x'] })), fail('/etc mounted read-write')],
    ['admission: //etc', admission(cliBody({ Binds: ['//etc:/x'] })), fail('/etc mounted read-write')],
    ['admission: /./usr/lib/../../etc', admission(cliBody({ Binds: ['/./usr/lib/../../etc:/x'] })), fail('/etc mounted read-write')],
    ['admission: the root', admission(cliBody({ Binds: ['/:/host'] })), fail('/ mounted read-write')],
    ['admission: several', admission(cliBody({ Binds: ['/proc:/p', '/sys:/s:ro', '/boot:/b'] })), fail('/proc mounted read-write, /boot mounted read-write')],
    ['admission: a directory below /etc', admission(cliBody({ Binds: ['/etc/nginx:/etc/nginx'] })), PASS],
    ['admission: a named volume called etc', admission(cliBody({ Binds: ['etc:/x'] })), PASS],
    ['admission: an anonymous volume', admission(cliBody({ Binds: ['/etc'] })), PASS],
    ['admission: --mount type=bind,src=/etc,dst=/x,readonly', admission(cliBody({ Mounts: [{ Type: 'bind', Source: '/etc', Target: '/x', ReadOnly: true }] })), PASS],
    ['admission: --mount type=bind,src=/etc,dst=/x', admission(cliBody({ Mounts: [{ Type: 'bind', Source: '/etc', Target: '/x' }] })), fail('/etc mounted read-write')],
    ['admission: --mount type=bind,src=/usr/,dst=/u', admission(cliBody({ Mounts: [{ Type: 'bind', Source: '/usr/', Target: '/u', ReadOnly: false }] })), fail('/usr mounted read-write')],
    ['admission: --mount type=volume,src=etc,dst=/x', admission(cliBody({ Mounts: [{ Type: 'volume', Source: 'etc', Target: '/x' }] })), PASS],
    ['runtime: a read-only bind of /etc', inspect({ Mounts: [bindMount('/etc', '/x', false)] }), PASS],
    ['runtime: a read-write bind of /etc', inspect({ Mounts: [bindMount('/etc', '/x', true)] }), fail('/etc mounted read-write')],
    ['runtime: /etc/ as the source was written', inspect({ Mounts: [bindMount('/etc/', '/x', true)] }), fail('/etc mounted read-write')],
    ['runtime: a mount that omits RW is taken as writable', inspect({ Mounts: [{ Type: 'bind', Source: '/dev', Destination: '/dev' }] }), fail('/dev mounted read-write')],
    ['runtime: a bind below /usr', inspect({ Mounts: [bindMount('/usr/share/zoneinfo', '/usr/share/zoneinfo', true)] }), PASS],
    [
      'runtime: a named volume (shown by its data directory)',
      inspect({ Mounts: [{ Type: 'volume', Name: 'etc', Source: '/var/lib/docker/volumes/etc/_data', Destination: '/x', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }] }),
      PASS,
    ],
    ['runtime: an inspect without Mounts is read from its binds', inspect({ Mounts: undefined, HostConfig: { Binds: ['/lib:/l'] } }), fail('/lib mounted read-write')],
  ],
  'privileged-port-mapped': [
    ['admission: -p 8080:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } })), PASS],
    ['admission: -p 1025:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '1025' }] } })), PASS],
    ['admission: -p 80 (an ephemeral host port)', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } })), PASS],
    ['admission: -p 80:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '80' }] } })), fail('host port 80 (80/tcp)')],
    ['admission: -p 1024:8080 (below 1025, as docker-bench)', admission(cliBody({ PortBindings: { '8080/tcp': [{ HostIp: '', HostPort: '1024' }] } })), fail('host port 1024 (8080/tcp)')],
    ['admission: a host port range starting low', admission(cliBody({ PortBindings: { '53/udp': [{ HostIp: '127.0.0.1', HostPort: '1000-1010' }] } })), fail('host port 1000-1010 (53/udp)')],
    ['runtime: published on 8080', inspect({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '443/tcp': null } } }), PASS],
    ['runtime: published on 80 (IPv4 and IPv6)', inspect({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '80' }] } }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '80' }, { HostIp: '::', HostPort: '80' }] } } }), fail('host port 80 (80/tcp)')],
    ['runtime: a stopped container, judged on what it asks for', inspect({ State: { Status: 'exited', Running: false }, HostConfig: { PortBindings: { '443/tcp': [{ HostIp: '', HostPort: '443' }] } }, NetworkSettings: { Ports: {} } }), fail('host port 443 (443/tcp)')],
  ],
  'ports-published': [
    ['admission: no ports', admission(CLI_BODY), PASS],
    ['admission: EXPOSE only', admission(cliBody({}, { ExposedPorts: { '80/tcp': {} } })), PASS],
    ['admission: -p 8080:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } })), fail('host port 8080 (80/tcp)')],
    ['admission: -p 80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } })), fail('ephemeral host port (80/tcp)')],
    ['admission: -P', admission(cliBody({ PublishAllPorts: true })), fail('PublishAllPorts')],
    ['runtime: exposed, not published', inspect({ NetworkSettings: { Ports: { '80/tcp': null } } }), PASS],
    ['runtime: -p 8080:80', inspect({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } } }), fail('host port 8080 (80/tcp)')],
    ['runtime: -P', inspect({ HostConfig: { PublishAllPorts: true }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }, { HostIp: '::', HostPort: '49153' }] } } }), fail('host port 49153 (80/tcp), PublishAllPorts')],
  ],
  'host-network': [
    ['admission: the default network', admission(CLI_BODY), PASS],
    ['admission: --network host', admission(cliBody({ NetworkMode: 'host' })), fail('NetworkMode host')],
    ['runtime: a user network', inspect({ HostConfig: { NetworkMode: 'backend' } }), PASS],
    ['runtime: host', inspect({ HostConfig: { NetworkMode: 'host' } }), fail('NetworkMode host')],
  ],
  'memory-unlimited': [
    ['admission: -m 256m', admission(cliBody({ Memory: 268435456 })), PASS],
    ['admission: a top-level Memory merged by engines up to 26', admission({ Image: 'busybox', Memory: 268435456, HostConfig: { Memory: 0 } }), PASS],
    ['admission: no limit', admission(CLI_BODY), fail('Memory 0 (no limit)')],
    ['runtime: a limit', inspect({ HostConfig: { Memory: 536870912 } }), PASS],
    ['runtime: a pre-1.19 inspect with Config.Memory', inspect({ HostConfig: { Memory: undefined }, Config: { Memory: 1048576 } }), PASS],
    ['runtime: no limit', inspect({}), fail('Memory 0 (no limit)')],
  ],
  'cpu-unlimited': [
    ['admission: --cpu-shares 512', admission(cliBody({ CpuShares: 512 })), PASS],
    ['admission: --cpus 1.5', admission(cliBody({ NanoCpus: 1500000000 })), PASS],
    ['admission: --cpu-quota 50000', admission(cliBody({ CpuPeriod: 100000, CpuQuota: 50000 })), PASS],
    ['admission: none of them', admission(CLI_BODY), fail('CpuShares 0, NanoCpus 0, CpuQuota 0 (no CPU weight or limit)')],
    ['admission: CpuPeriod alone sets no limit', admission(cliBody({ CpuPeriod: 100000 })), fail('CpuShares 0, NanoCpus 0, CpuQuota 0 (no CPU weight or limit)')],
    ['runtime: NanoCpus', inspect({ HostConfig: { NanoCpus: 2000000000 } }), PASS],
    ['runtime: none', inspect({}), fail('CpuShares 0, NanoCpus 0, CpuQuota 0 (no CPU weight or limit)')],
    ['runtime: CpuQuota -1 is no quota', inspect({ HostConfig: { CpuQuota: -1 } }), fail('CpuShares 0, NanoCpus 0, CpuQuota 0 (no CPU weight or limit)')],
  ],
  'rootfs-writable': [
    ['admission: --read-only', admission(cliBody({ ReadonlyRootfs: true })), PASS],
    ['admission: writable', admission(CLI_BODY), fail('ReadonlyRootfs false')],
    ['admission: not named at all', admission({ Image: 'busybox' }), fail('ReadonlyRootfs false')],
    ['runtime: read-only', inspect({ HostConfig: { ReadonlyRootfs: true } }), PASS],
    ['runtime: writable', inspect({}), fail('ReadonlyRootfs false')],
  ],
  'ports-bound-to-all-interfaces': [
    ['admission: no ports', admission(CLI_BODY), PASS],
    ['admission: -p 127.0.0.1:8080:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } })), PASS],
    ['admission: -p [::1]:8080:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '::1', HostPort: '8080' }] } })), PASS],
    ['admission: -p 8080:80 (no host IP)', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } })), fail('host port 8080 (80/tcp) on all interfaces')],
    ['admission: -p 0.0.0.0:8080:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } })), fail('host port 8080 (80/tcp) on all interfaces')],
    ['admission: -p [::]:8080:80', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '::', HostPort: '8080' }] } })), fail('host port 8080 (80/tcp) on all interfaces')],
    ['admission: the all-zero IPv6 address spelt out', admission(cliBody({ PortBindings: { '80/tcp': [{ HostIp: '0:0:0:0:0:0:0:0', HostPort: '8080' }] } })), fail('host port 8080 (80/tcp) on all interfaces')],
    ['admission: -P', admission(cliBody({ PublishAllPorts: true })), fail('PublishAllPorts on all interfaces')],
    ['runtime: bound to loopback', inspect({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } } }), PASS],
    ['runtime: 0.0.0.0 and ::', inspect({ HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }] } } }), fail('host port 8080 (80/tcp) on all interfaces')],
    ['runtime: :: only', inspect({ NetworkSettings: { Ports: { '443/tcp': [{ HostIp: '::', HostPort: '8443' }] } } }), fail('host port 8443 (443/tcp) on all interfaces')],
  ],
  'restart-retries-over-5': [
    ['admission: --restart no', admission(CLI_BODY), PASS],
    ['admission: on-failure:5', admission(cliBody({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 } })), PASS],
    ['admission: always (no count)', admission(cliBody({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } })), PASS],
    ['admission: unless-stopped', admission(cliBody({ RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } })), PASS],
    ['admission: on-failure with no count (as docker-bench: the count only)', admission(cliBody({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 0 } })), PASS],
    ['admission: on-failure:10', admission(cliBody({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 10 } })), fail('RestartPolicy on-failure:10')],
    ['admission: a count with always (dockerd refuses it, the check reads the count)', admission(cliBody({ RestartPolicy: { Name: 'always', MaximumRetryCount: 6 } })), fail('RestartPolicy always:6')],
    ['admission: a count with no', admission(cliBody({ RestartPolicy: { Name: 'no', MaximumRetryCount: 6 } })), PASS],
    ['runtime: on-failure:3', inspect({ HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } }), PASS],
    ['runtime: on-failure:6', inspect({ HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 6 } } }), fail('RestartPolicy on-failure:6')],
  ],
  'host-pid': [
    ['admission: own namespace', admission(CLI_BODY), PASS],
    ['admission: another container', admission(cliBody({ PidMode: 'container:web' })), PASS],
    ['admission: --pid host', admission(cliBody({ PidMode: 'host' })), fail('PidMode host')],
    ['runtime: own namespace', inspect({}), PASS],
    ['runtime: host', inspect({ HostConfig: { PidMode: 'host' } }), fail('PidMode host')],
  ],
  'host-ipc': [
    ['admission: shareable', admission(cliBody({ IpcMode: 'shareable' })), PASS],
    ['admission: --ipc host', admission(cliBody({ IpcMode: 'host' })), fail('IpcMode host')],
    ['runtime: private', inspect({}), PASS],
    ['runtime: host', inspect({ HostConfig: { IpcMode: 'host' } }), fail('IpcMode host')],
  ],
  'host-devices': [
    ['admission: no devices', admission(CLI_BODY), PASS],
    ['admission: --device /dev/sda:/dev/xvda:rwm', admission(cliBody({ Devices: [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'rwm' }] })), fail('Devices: /dev/sda')],
    ['admission: --device-cgroup-rule', admission(cliBody({ DeviceCgroupRules: ['c 1:3 mr'] })), fail('DeviceCgroupRules: c 1:3 mr')],
    ['admission: --gpus all', admission(cliBody({ DeviceRequests: [{ Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} }] })), fail('DeviceRequests: gpu')],
    ['runtime: Devices []', inspect({}), PASS],
    ['runtime: /dev/fuse', inspect({ HostConfig: { Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }] } }), fail('Devices: /dev/fuse')],
    ['runtime: an nvidia request', inspect({ HostConfig: { DeviceRequests: [{ Driver: 'nvidia', Count: 1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} }] } }), fail('DeviceRequests: nvidia')],
  ],
  'ulimits-default': [
    ['admission: --ulimit nofile=1024:2048', admission(cliBody({ Ulimits: [{ Name: 'nofile', Hard: 2048, Soft: 1024 }] })), PASS],
    ['admission: none', admission(CLI_BODY), fail('no Ulimits (daemon defaults)')],
    ['runtime: nproc', inspect({ HostConfig: { Ulimits: [{ Name: 'nproc', Hard: 512, Soft: 512 }] } }), PASS],
    ['runtime: null', inspect({}), fail('no Ulimits (daemon defaults)')],
    ['runtime: []', inspect({ HostConfig: { Ulimits: [] } }), fail('no Ulimits (daemon defaults)')],
  ],
  'mount-propagation-shared': [
    ['admission: a bind with the default propagation', admission(cliBody({ Binds: ['/srv/data:/data'] })), PASS],
    ['admission: rslave', admission(cliBody({ Binds: ['/srv/data:/data:rslave'] })), PASS],
    ['admission: rshared', admission(cliBody({ Binds: ['/srv/data:/data:rshared'] })), fail('/srv/data propagation rshared')],
    ['admission: ro,shared', admission(cliBody({ Binds: ['/srv/:/srv:ro,shared'] })), fail('/srv propagation shared')],
    ['admission: --mount bind-propagation=shared', admission(cliBody({ Mounts: [{ Type: 'bind', Source: '/mnt', Target: '/mnt', BindOptions: { Propagation: 'shared' } }] })), fail('/mnt propagation shared')],
    ['admission: --mount bind-propagation=rprivate', admission(cliBody({ Mounts: [{ Type: 'bind', Source: '/mnt', Target: '/mnt', BindOptions: { Propagation: 'rprivate' } }] })), PASS],
    ['runtime: rprivate', inspect({ Mounts: [bindMount('/srv/data', '/data', true)] }), PASS],
    ['runtime: rshared', inspect({ Mounts: [bindMount('/mnt', '/mnt', true, { Mode: 'rshared', Propagation: 'rshared' })] }), fail('/mnt propagation rshared')],
    ['runtime: shared', inspect({ Mounts: [bindMount('/mnt', '/mnt', false, { Mode: 'ro,shared', Propagation: 'shared' })] }), fail('/mnt propagation shared')],
  ],
  'host-uts': [
    ['admission: own namespace', admission(CLI_BODY), PASS],
    ['admission: --uts host', admission(cliBody({ UTSMode: 'host' })), fail('UTSMode host')],
    ['runtime: own namespace', inspect({}), PASS],
    ['runtime: host', inspect({ HostConfig: { UTSMode: 'host' } }), fail('UTSMode host')],
  ],
  'seccomp-unconfined': [
    ['admission: the default profile', admission(CLI_BODY), PASS],
    ['admission: a profile of its own', admission(cliBody({ SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ERRNO"}'] })), PASS],
    ['admission: seccomp=unconfined', admission(cliBody({ SecurityOpt: ['seccomp=unconfined'] })), fail('SecurityOpt seccomp=unconfined')],
    ['admission: seccomp:unconfined', admission(cliBody({ SecurityOpt: ['seccomp:unconfined'] })), fail('SecurityOpt seccomp=unconfined')],
    ['runtime: the default profile', inspect({}), PASS],
    ['runtime: seccomp=unconfined', inspect({ HostConfig: { SecurityOpt: ['label=disable', 'seccomp=unconfined'] } }), fail('SecurityOpt seccomp=unconfined')],
  ],
  'cgroup-parent-set': [
    ['admission: the default cgroup', admission(CLI_BODY), PASS],
    ['admission: --cgroup-parent /custom', admission(cliBody({ CgroupParent: '/custom' })), fail('CgroupParent /custom')],
    ['runtime: the default cgroup', inspect({}), PASS],
    ['runtime: a systemd slice', inspect({ HostConfig: { CgroupParent: 'custom.slice' } }), fail('CgroupParent custom.slice')],
  ],
  'new-privileges-allowed': [
    ['admission: no-new-privileges', admission(cliBody({ SecurityOpt: ['no-new-privileges'] })), PASS],
    ['admission: no-new-privileges:true', admission(cliBody({ SecurityOpt: ['no-new-privileges:true'] })), PASS],
    ['admission: no-new-privileges=true', admission(cliBody({ SecurityOpt: ['no-new-privileges=true'] })), PASS],
    ['admission: none', admission(CLI_BODY), fail('SecurityOpt has no no-new-privileges')],
    ['admission: no-new-privileges=false', admission(cliBody({ SecurityOpt: ['no-new-privileges=false'] })), fail('SecurityOpt has no no-new-privileges')],
    ['admission: the last option wins', admission(cliBody({ SecurityOpt: ['no-new-privileges', 'no-new-privileges=false'] })), fail('SecurityOpt has no no-new-privileges')],
    ['runtime: set', inspect({ HostConfig: { SecurityOpt: ['no-new-privileges:true'] } }), PASS],
    ['runtime: not set', inspect({}), fail('SecurityOpt has no no-new-privileges')],
  ],
  'healthcheck-missing': [
    ['admission: --health-cmd', admission(cliBody({}, { Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- localhost || exit 1'], Interval: 30000000000, Timeout: 0, StartPeriod: 0, Retries: 3 } })), PASS],
    ['admission: the image has one', admission(CLI_BODY, true), PASS],
    ['admission: --health-interval only: the image test is inherited', admission(cliBody({}, { Healthcheck: { Interval: 5000000000 } }), true), PASS],
    ['admission: --no-healthcheck', admission(cliBody({}, { Healthcheck: { Test: ['NONE'] } })), fail('Healthcheck disabled (NONE)')],
    ['admission: --no-healthcheck on an image that has one', admission(cliBody({}, { Healthcheck: { Test: ['NONE'] } }), true), fail('Healthcheck disabled (NONE)')],
    ['admission: none in the body or the image', admission(CLI_BODY, false), fail('no health check in the body or the image')],
    ['admission: the image could not be looked up', admission(CLI_BODY), fail('no health check in the body or the image')],
    ['runtime: healthy', inspect({ State: { Health: { Status: 'healthy', FailingStreak: 0, Log: [{ Start: '2024-03-01T10:00:30Z', End: '2024-03-01T10:00:30.1Z', ExitCode: 0, Output: '' }] } } }), PASS],
    ['runtime: unhealthy still has a check', inspect({ State: { Health: { Status: 'unhealthy', FailingStreak: 3, Log: [] } } }), PASS],
    ['runtime: no State.Health', inspect({}), fail('no health check (State.Health absent)')],
  ],
  'image-not-pinned': [
    ['admission: by digest', admission(cliBody({}, { Image: `busybox@${DIGEST}` })), PASS],
    ['admission: by tag and digest', admission(cliBody({}, { Image: `docker.io/library/busybox:1.36@${DIGEST}` })), PASS],
    ['admission: by full image id', admission(cliBody({}, { Image: DIGEST })), PASS],
    ['admission: by name', admission(CLI_BODY), fail('Image busybox not pinned by digest')],
    ['admission: by tag', admission(cliBody({}, { Image: 'nginx:1.25' })), fail('Image nginx:1.25 not pinned by digest')],
    ['runtime: by digest', inspect({ Config: { Image: `busybox@${DIGEST}` } }), PASS],
    ['runtime: by name', inspect({}), fail('Image busybox not pinned by digest')],
  ],
  'pids-unlimited': [
    ['admission: --pids-limit 100', admission(cliBody({ PidsLimit: 100 })), PASS],
    ['admission: not sent', admission(CLI_BODY), fail('PidsLimit unset')],
    ['admission: null', admission(cliBody({ PidsLimit: null })), fail('PidsLimit unset')],
    ['admission: 0', admission(cliBody({ PidsLimit: 0 })), fail('PidsLimit 0')],
    ['admission: -1', admission(cliBody({ PidsLimit: -1 })), fail('PidsLimit -1')],
    ['runtime: 200', inspect({ HostConfig: { PidsLimit: 200 } }), PASS],
    ['runtime: null', inspect({}), fail('PidsLimit unset')],
    ['runtime: 0', inspect({ HostConfig: { PidsLimit: 0 } }), fail('PidsLimit 0')],
  ],
  'default-bridge': [
    ['admission: a user network', admission(cliBody({ NetworkMode: 'backend' })), PASS],
    ['admission: no network', admission(cliBody({ NetworkMode: 'none' })), PASS],
    ['admission: the default', admission(CLI_BODY), fail('NetworkMode default: default bridge')],
    ['admission: --network bridge', admission(cliBody({ NetworkMode: 'bridge' })), fail('NetworkMode bridge: default bridge')],
    ['runtime: a user network', inspect({ HostConfig: { NetworkMode: 'backend' }, NetworkSettings: { Networks: { backend: { NetworkID: '1a2b3c' } } } }), PASS],
    ['runtime: the default', inspect({}), fail('NetworkMode default: default bridge')],
    ['runtime: connected to bridge after the create', inspect({ HostConfig: { NetworkMode: 'backend' }, NetworkSettings: { Networks: { backend: { NetworkID: '1a2b3c' }, bridge: { NetworkID: '8e2b6c1f0a3d' } } } }), fail('connected to the default bridge network')],
  ],
  'host-userns': [
    ['admission: the daemon default', admission(CLI_BODY), PASS],
    ['admission: --userns host', admission(cliBody({ UsernsMode: 'host' })), fail('UsernsMode host')],
    ['runtime: the daemon default', inspect({}), PASS],
    ['runtime: host', inspect({ HostConfig: { UsernsMode: 'host' } }), fail('UsernsMode host')],
  ],
  'docker-socket-mounted': [
    ['admission: an application directory', admission(cliBody({ Binds: ['/srv/app:/app'] })), PASS],
    ['admission: a file mounted where the socket would be inside', admission(cliBody({ Binds: ['/srv/fake.sock:/var/run/docker.sock'] })), PASS],
    ['admission: -v /var/run/docker.sock:/var/run/docker.sock', admission(cliBody({ Binds: ['/var/run/docker.sock:/var/run/docker.sock'] })), fail('/var/run/docker.sock mounted')],
    ['admission: read-only does not help', admission(cliBody({ Binds: ['/run/docker.sock:/sock:ro'] })), fail('/run/docker.sock mounted')],
    ['admission: the directory that holds it', admission(cliBody({ Binds: ['/var/run:/host-run:ro'] })), fail('/var/run mounted (holds docker.sock)')],
    ['admission: --mount of /run/', admission(cliBody({ Mounts: [{ Type: 'bind', Source: '/run/', Target: '/r', ReadOnly: true }] })), fail('/run mounted (holds docker.sock)')],
    ['admission: a volume named docker.sock', admission(cliBody({ Binds: ['docker.sock:/x'] })), fail('docker.sock mounted')],
    ['runtime: an application directory', inspect({ Mounts: [bindMount('/srv/app', '/app', true)] }), PASS],
    ['runtime: the socket', inspect({ Mounts: [bindMount('/var/run/docker.sock', '/var/run/docker.sock', true)] }), fail('/var/run/docker.sock mounted')],
    ['runtime: the root', inspect({ Mounts: [bindMount('/', '/host', false)] }), fail('/ mounted (holds docker.sock)')],
  ],
};

describe('CIS checks: the logic behind the catalogue', () => {
  it('has one logic per catalogue entry, with the same ids in the same order', () => {
    expect(CIS_CHECKS.map((check) => check.id)).to.deep.equal(CIS_CATALOG.map((entry) => entry.id));
  });

  it('implements the form of each entry’s scope, and only that', () => {
    for (const entry of CIS_CATALOG) {
      const logic = checkLogic(entry.id)!;
      const forms = [logic.container && 'container', logic.exec && 'exec', logic.request && 'swarm'].filter(Boolean);
      expect(forms, entry.id).to.deep.equal([entry.scope]);
    }
  });

  it('finds a check by slug or CIS number, and nothing for 5.7 or an unknown key', () => {
    expect(checkLogic('privileged-container')?.id).to.equal('privileged-container');
    expect(checkLogic('5.32')?.id).to.equal('docker-socket-mounted');
    expect(checkLogic('5.7')).to.equal(undefined);
    expect(checkLogic('sshd-running')).to.equal(undefined);
  });

  it('has a table for every container check with a pass and a fail in both forms', () => {
    const containerChecks = CIS_CATALOG.filter((entry) => entry.scope === 'container').map((entry) => entry.id);
    expect(Object.keys(TABLES).sort()).to.deep.equal([...containerChecks].sort());
    for (const [id, cases] of Object.entries(TABLES)) {
      for (const form of ['admission', 'runtime'] as const) {
        for (const result of ['pass', 'fail'] as const) {
          expect(
            cases.some(([, subject, expected]) => subject.form === form && expected.result === result),
            `${id}: a ${form} case that should ${result}`,
          ).to.equal(true);
        }
      }
    }
  });

  for (const entry of CIS_CATALOG.filter((catalogued) => catalogued.scope === 'container')) {
    describe(`${entry.cis} ${entry.id}`, () => {
      for (const [why, subject, expected] of TABLES[entry.id] ?? []) {
        it(`${expected.result}: ${why}`, () => {
          expect(checkLogic(entry.id)!.container!(subject)).to.deep.equal(expected);
        });
      }
    });
  }

  it('reads both engine views of a create the same way (the top-level and nested HostConfig)', () => {
    const views = containersFromCreate(readContainerWrapper({ Image: 'busybox', Binds: ['/etc:/x'], HostConfig: { Binds: ['/etc:/x:ro'] } }), '');
    // Engines up to 26 merge only five top-level fields, so both views use the nested Binds here.
    expect(views.map((params) => checkLogic('5.6')!.container!({ form: 'admission', params }))).to.deep.equal([PASS]);
    const legacyOnly = containersFromCreate(readContainerWrapper({ Image: 'busybox', Binds: ['/etc:/x'] }), '');
    expect(legacyOnly.map((params) => checkLogic('5.6')!.container!({ form: 'admission', params }))).to.deep.equal([fail('/etc mounted read-write'), PASS]);
  });
});

describe('CIS exec checks', () => {
  const exec = (form: ExecSubject['form'], user: string, privileged = false): ExecSubject => ({ form, user, privileged });
  const PRIVILEGED: ReadonlyArray<readonly [ExecSubject, CisFinding]> = [
    [exec('admission', ''), PASS],
    [exec('admission', 'root', true), fail('exec Privileged: true')],
    [exec('runtime', '1000'), PASS],
    [exec('runtime', '', true), fail('exec Privileged: true')],
  ];
  for (const [subject, expected] of PRIVILEGED) {
    it(`5.23 ${subject.form}: privileged ${subject.privileged} -> ${expected.result}`, () => {
      expect(checkLogic('exec-privileged')!.exec!(subject)).to.deep.equal(expected);
    });
  }

  const USERS: ReadonlyArray<readonly [user: string, fails: boolean]> = [
    ['', false],
    ['nobody', false],
    ['1000', false],
    ['1000:0', false],
    ['rootless', false],
    ['app:root', false],
    ['root', true],
    ['0', true],
    ['0:0', true],
    ['root:root', true],
    ['root:0', true],
    ['0:1000', true],
    ['00', true],
  ];
  for (const form of ['admission', 'runtime'] as const) {
    for (const [user, fails] of USERS) {
      it(`5.24 ${form}: --user '${user}' -> ${fails ? 'fail' : 'pass'}`, () => {
        expect(checkLogic('exec-as-root')!.exec!(exec(form, user))).to.deep.equal(fails ? fail(`exec User ${user}`) : PASS);
      });
    }
  }
});

describe('CIS request checks', () => {
  const ACTIONS: ReadonlyArray<readonly [action: string, expected: CisFinding]> = [
    ['swarmInit', fail('POST /swarm/init enables swarm mode')],
    ['swarmJoin', fail('POST /swarm/join enables swarm mode')],
    ['swarmLeave', NOT_APPLICABLE],
    ['swarmInspect', NOT_APPLICABLE],
    ['containersCreate', NOT_APPLICABLE],
  ];
  for (const [action, expected] of ACTIONS) {
    it(`5.1 ${action} -> ${expected.result}`, () => {
      expect(checkLogic('swarm-mode-enabled')!.request!(action)).to.deep.equal(expected);
    });
  }
});
