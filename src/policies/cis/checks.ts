/**
 * The logic of every check in the CIS catalogue (catalog.ts), in each form it supports. A container
 * check reads `docker inspect` at runtime (the fields docker-bench-security reads) and the container
 * a create body asks for at admission (facts/container-create), and both forms answer the same for
 * the same container: AuthZ denies exactly what the periodic scan and the event watcher would stop,
 * so a container that passes admission is not stopped a second later, and one the scan would stop is
 * not let in. Where docker-bench reads something a create body cannot show (a daemon-assigned
 * AppArmor profile, `docker port`, `.State.Health`), the runtime form reads it and the admission form
 * reads what decides it.
 */
import { normaliseHostPath } from '../../facts/subjects';
import type { ContainerParams } from '../../rules/api';
import { cisCheck } from './catalog';
import type { CisCheckLogic, CisFinding, ContainerSubject, ExecSubject } from './model';

type Json = Record<string, unknown>;

const PASS: CisFinding = { result: 'pass' };
const NOT_APPLICABLE: CisFinding = { result: 'not_applicable' };
const fail = (detail: string): CisFinding => ({ result: 'fail', detail });
const failIf = (details: readonly string[]): CisFinding => (details.length > 0 ? fail([...new Set(details)].join(', ')) : PASS);

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The inspect object read loosely: it carries fields ContainerParams does not type (AppArmorProfile, NetworkSettings.Ports, State.Health). */
function raw(params: ContainerParams): Json {
  return params as unknown as Json;
}

function hostConfig(params: ContainerParams): Json {
  return isRecord(params.HostConfig) ? (params.HostConfig as unknown as Json) : {};
}

function config(params: ContainerParams): Json {
  return isRecord(params.Config) ? (params.Config as unknown as Json) : {};
}

// ---------------------------------------------------------------------------------------------
// Security options, read as dockerd's parseSecurityOpt reads them

interface SecurityOptions {
  readonly labels: readonly string[];
  readonly apparmor?: string;
  readonly seccomp?: string;
  readonly noNewPrivileges: boolean;
}

/** strconv.ParseBool: anything else is a create error in dockerd, and grants nothing here. */
function goBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/**
 * `key=value`, or the deprecated `key:value` when there is no `=`; a bare `no-new-privileges` turns
 * it on and a bare `disable` is `label=disable`, as dockerd reads them. The last apparmor, seccomp or
 * no-new-privileges option wins, as each one overwrites the container's setting.
 */
const securityOf = once((subject: ContainerSubject) => securityOptions(hostConfig(subject.params)));

function securityOptions(hc: Json): SecurityOptions {
  const labels: string[] = [];
  let apparmor: string | undefined;
  let seccomp: string | undefined;
  let noNewPrivileges = false;
  for (const option of strings(hc['SecurityOpt'])) {
    if (option === 'no-new-privileges') {
      noNewPrivileges = true;
      continue;
    }
    if (option === 'disable') {
      labels.push('disable');
      continue;
    }
    const separator = option.includes('=') ? '=' : option.includes(':') ? ':' : undefined;
    if (separator === undefined) continue;
    const at = option.indexOf(separator);
    const key = option.slice(0, at);
    const value = option.slice(at + 1);
    if (key === 'label') labels.push(value);
    else if (key === 'apparmor') apparmor = value;
    else if (key === 'seccomp') seccomp = value;
    else if (key === 'no-new-privileges') noNewPrivileges = goBool(value) ?? false;
  }
  return { labels, ...(apparmor !== undefined ? { apparmor } : {}), ...(seccomp !== undefined ? { seccomp } : {}), noNewPrivileges };
}

// ---------------------------------------------------------------------------------------------
// Mounts: one shape for `.Mounts` (runtime) and Binds + HostConfig.Mounts (admission)

interface MountView {
  /** The source as written: a host path, or a volume's name (admission) or data directory (runtime). */
  readonly source: string;
  /** The normalised host directory a bind mounts; undefined for volumes. */
  readonly hostPath?: string;
  readonly readOnly: boolean;
  readonly propagation: string;
}

const PROPAGATIONS = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);

/**
 * The mounts a create asks for. A bind spec is `src:dst[:opts]` (opts comma-separated; read-only only
 * with `ro`, as dockerd's ReadWrite); a source that is not absolute is a named volume. Named volumes
 * are not host directories here, also when the local driver binds one (`-o bind,device=/etc`):
 * resolving that needs a volume lookup, and at runtime `.Mounts` shows such a volume by its data
 * directory under /var/lib/docker too, so both forms agree on it.
 */
function admissionMounts(hc: Json): MountView[] {
  const views: MountView[] = [];
  for (const spec of strings(hc['Binds'])) {
    const parts = spec.split(':');
    // One part is an anonymous volume: nothing from the host.
    if (parts.length < 2) continue;
    const source = parts[0] ?? '';
    const options = (parts[2] ?? '').split(',');
    views.push({
      source,
      ...(source.startsWith('/') ? { hostPath: normaliseHostPath(source) } : {}),
      readOnly: options.includes('ro'),
      propagation: options.find((option) => PROPAGATIONS.has(option)) ?? '',
    });
  }
  for (const mount of records(hc['Mounts'])) {
    const type = text(mount['Type']);
    const source = text(mount['Source']);
    if (type === 'bind' && source !== '') {
      const bindOptions = isRecord(mount['BindOptions']) ? mount['BindOptions'] : {};
      views.push({ source, hostPath: normaliseHostPath(source), readOnly: mount['ReadOnly'] === true, propagation: text(bindOptions['Propagation']) });
    } else if (type === 'volume' && source !== '') {
      views.push({ source, readOnly: mount['ReadOnly'] === true, propagation: '' });
    }
  }
  return views;
}

/**
 * `.Mounts` of `docker inspect` (MountPoint: Type, Source, RW, Propagation). A mount is writable
 * unless RW is false, so an entry that omits RW is not taken for read-only. An inspect without
 * `.Mounts` (engines that only had `.Volumes`/`.VolumesRW`) is read from its HostConfig instead.
 */
function runtimeMounts(params: ContainerParams): MountView[] {
  const mounts = raw(params)['Mounts'];
  if (!Array.isArray(mounts)) return admissionMounts(hostConfig(params));
  return records(mounts).map((mount) => {
    const type = text(mount['Type']);
    const source = text(mount['Source']);
    const isBind = (type === 'bind' || type === '') && source.startsWith('/');
    return { source, ...(isBind ? { hostPath: normaliseHostPath(source) } : {}), readOnly: mount['RW'] === false, propagation: text(mount['Propagation']) };
  });
}

/**
 * Several checks read the same mounts, ports and security options of one subject: each is worked
 * out once per subject (a create decision runs ~25 checks on one subject).
 */
function once<T>(compute: (subject: ContainerSubject) => T): (subject: ContainerSubject) => T {
  const memo = new WeakMap<ContainerSubject, T>();
  return (subject) => {
    if (memo.has(subject)) return memo.get(subject) as T;
    const value = compute(subject);
    memo.set(subject, value);
    return value;
  };
}

const mountsOf = once((subject: ContainerSubject): MountView[] => (subject.form === 'runtime' ? runtimeMounts(subject.params) : admissionMounts(hostConfig(subject.params))));

// ---------------------------------------------------------------------------------------------
// Published ports: HostConfig.PortBindings (both forms) and `docker port` (runtime)

interface PortView {
  /** The container port, `80/tcp`. */
  readonly port: string;
  readonly hostIp: string;
  /** `''` = an ephemeral port dockerd picks; may be a range (`8000-8010`) in a create body. */
  readonly hostPort: string;
}

function bindingsOf(map: unknown): PortView[] {
  if (!isRecord(map)) return [];
  return Object.entries(map).flatMap(([port, bindings]) => records(bindings).map((binding) => ({ port, hostIp: text(binding['HostIp']), hostPort: text(binding['HostPort']) })));
}

/**
 * At runtime, what `docker port` shows (NetworkSettings.Ports, filled while the container runs) and,
 * for container ports it does not show, what HostConfig.PortBindings asks for: a stopped container
 * is judged on the ports it will publish when started, as its create was.
 */
const portsOf = once(portsOfSubject);

function portsOfSubject(subject: ContainerSubject): PortView[] {
  const requested = bindingsOf(hostConfig(subject.params)['PortBindings']);
  if (subject.form === 'admission') return requested;
  const settings = raw(subject.params)['NetworkSettings'];
  const live = isRecord(settings) ? bindingsOf(settings['Ports']) : [];
  const shown = new Set(live.map((view) => view.port));
  return [...live, ...requested.filter((view) => !shown.has(view.port))];
}

function publishAll(subject: ContainerSubject): boolean {
  return hostConfig(subject.params)['PublishAllPorts'] === true;
}

/** The lowest host port of `80` or `8000-8010`; undefined for an ephemeral port. */
function lowestHostPort(hostPort: string): number | undefined {
  const match = /^(\d+)(?:-\d+)?$/.exec(hostPort.trim());
  const port = match ? Number(match[1]) : 0;
  return port > 0 ? port : undefined;
}

/** `''`, `0.0.0.0`, `::` (in any spelling of the all-zero IPv6 address): every host interface. */
function allInterfaces(hostIp: string): boolean {
  const ip = hostIp.trim().replace(/^\[(.*)\]$/, '$1');
  return ip === '' || ip === '0.0.0.0' || (ip.includes(':') && /^[0:]+$/.test(ip));
}

function describePort(view: PortView): string {
  return view.hostPort === '' ? `ephemeral host port (${view.port})` : `host port ${view.hostPort} (${view.port})`;
}

// ---------------------------------------------------------------------------------------------
// The container checks

const DEFAULT_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

const SENSITIVE_DIRECTORIES = new Set(['/', '/boot', '/dev', '/etc', '/lib', '/proc', '/sys', '/usr']);

/**
 * Directories whose mount exposes the Docker socket: the socket's own directories and every one
 * above them. A read-only mount does not help: connecting to a socket is not a write to the mount.
 */
const SOCKET_DIRECTORIES = new Set(['/', '/run', '/var', '/var/run']);

/** Docker's default bridge; the daemon stores `default` for a create that names no network. */
const DEFAULT_BRIDGE_MODES = new Set(['', 'default', 'bridge']);

function capability(name: string): string {
  return name.trim().toUpperCase().replace(/^CAP_/, '');
}

/** A namespace mode (`PidMode`, `IpcMode`, `UTSMode`) that joins the host's namespace. */
function hostNamespace(field: string) {
  return (subject: ContainerSubject): CisFinding => (text(hostConfig(subject.params)[field]) === 'host' ? fail(`${field} host`) : PASS);
}

/**
 * 5.2. dockerd assigns the profile: `unconfined` for a privileged container or `apparmor=unconfined`,
 * else `docker-default` or the named profile — but only on a host with AppArmor; elsewhere every
 * container's AppArmorProfile is empty. Failing on an empty profile (as docker-bench does) would
 * fail every container on such a host while the admission form, which cannot see the host, passed
 * them; so an empty profile is not_applicable, and both forms fail what asks for no confinement:
 * `apparmor=unconfined` and Privileged (unconfined wherever AppArmor exists).
 */
function apparmor(subject: ContainerSubject): CisFinding {
  const hc = hostConfig(subject.params);
  if (securityOf(subject).apparmor === 'unconfined') return fail('SecurityOpt apparmor=unconfined');
  if (hc['Privileged'] === true) return fail('Privileged: runs without an AppArmor profile');
  if (subject.form === 'admission') return PASS;
  const profile = text(raw(subject.params)['AppArmorProfile']);
  if (profile === 'unconfined') return fail('AppArmorProfile unconfined');
  return profile === '' ? NOT_APPLICABLE : PASS;
}

/** 5.3: a label option is required (docker-bench accepts any option: coarser), and `disable` removes the confinement. */
function selinux(subject: ContainerSubject): CisFinding {
  const { labels } = securityOf(subject);
  if (labels.includes('disable')) return fail('SecurityOpt label=disable');
  return labels.length === 0 ? fail('SecurityOpt has no label option') : PASS;
}

/** 5.4: CapDrop is not read (as docker-bench): dropping one capability does not excuse adding another. */
function capabilities(subject: ContainerSubject): CisFinding {
  const added = strings(hostConfig(subject.params)['CapAdd']).map(capability).filter((name) => name !== '' && !DEFAULT_CAPABILITIES.has(name));
  return added.length > 0 ? fail(`CapAdd: ${[...new Set(added)].join(', ')}`) : PASS;
}

function privileged(subject: ContainerSubject): CisFinding {
  return hostConfig(subject.params)['Privileged'] === true ? fail('Privileged: true') : PASS;
}

/** 5.6: a sensitive directory itself, read-write; a subdirectory (/etc/app) or a read-only bind passes. */
function sensitiveDirectories(subject: ContainerSubject): CisFinding {
  return failIf(mountsOf(subject).flatMap((mount) => (mount.hostPath !== undefined && SENSITIVE_DIRECTORIES.has(mount.hostPath) && !mount.readOnly ? [`${mount.hostPath} mounted read-write`] : [])));
}

/** 5.8: below 1025, as docker-bench (`-lt 1025`); an ephemeral port is never privileged. */
function privilegedPorts(subject: ContainerSubject): CisFinding {
  return failIf(
    portsOf(subject).flatMap((view) => {
      const port = lowestHostPort(view.hostPort);
      return port !== undefined && port < 1025 ? [describePort(view)] : [];
    }),
  );
}

/** 5.9: any published port; exposed-only ports (ExposedPorts, a null binding list) are not reachable from outside. */
function publishedPorts(subject: ContainerSubject): CisFinding {
  const details = portsOf(subject).map(describePort);
  if (publishAll(subject)) details.push('PublishAllPorts');
  return failIf(details);
}

function hostNetwork(subject: ContainerSubject): CisFinding {
  return text(hostConfig(subject.params)['NetworkMode']) === 'host' ? fail('NetworkMode host') : PASS;
}

/** 5.11: engines before 1.19 kept the limit in Config.Memory (docker-bench's legacy reading). */
function memory(subject: ContainerSubject): CisFinding {
  const limit = numberOf(hostConfig(subject.params)['Memory']) ?? numberOf(config(subject.params)['Memory']) ?? 0;
  return limit > 0 ? PASS : fail('Memory 0 (no limit)');
}

/** 5.12: a CPU weight (CpuShares), a CPU limit (NanoCpus, `--cpus`) or a CFS quota (CpuQuota, `--cpu-quota`). */
function cpu(subject: ContainerSubject): CisFinding {
  const hc = hostConfig(subject.params);
  const set = (numberOf(hc['CpuShares']) ?? numberOf(config(subject.params)['CpuShares']) ?? 0) > 0 || (numberOf(hc['NanoCpus']) ?? 0) > 0 || (numberOf(hc['CpuQuota']) ?? 0) > 0;
  return set ? PASS : fail('CpuShares 0, NanoCpus 0, CpuQuota 0 (no CPU weight or limit)');
}

function readonlyRootfs(subject: ContainerSubject): CisFinding {
  return hostConfig(subject.params)['ReadonlyRootfs'] === true ? PASS : fail('ReadonlyRootfs false');
}

/**
 * 5.14: `''`, 0.0.0.0 and `::` (docker-bench misses `::`, which listens on IPv4 too unless the host
 * sets bindv6only). PublishAllPorts publishes on the daemon's
 * default bind address, all interfaces unless the daemon's `--ip` says otherwise, which no check can
 * see: it fails in both forms.
 */
function portsOnAllInterfaces(subject: ContainerSubject): CisFinding {
  const details = portsOf(subject)
    .filter((view) => allInterfaces(view.hostIp))
    .map((view) => `${describePort(view)} on all interfaces`);
  if (publishAll(subject)) details.push('PublishAllPorts on all interfaces');
  return failIf(details);
}

/**
 * 5.15: the count only, as docker-bench. dockerd refuses a count with `always`, `unless-stopped` or
 * `no`, so in practice this is `on-failure`; `on-failure` with count 0 (retry forever) passes, as it
 * does in docker-bench.
 */
function restartRetries(subject: ContainerSubject): CisFinding {
  const policy = hostConfig(subject.params)['RestartPolicy'];
  const name = isRecord(policy) ? text(policy['Name']) : '';
  const count = isRecord(policy) ? (numberOf(policy['MaximumRetryCount']) ?? 0) : 0;
  if (name === '' || name === 'no') return PASS;
  return count > 5 ? fail(`RestartPolicy ${name}:${count}`) : PASS;
}

/** 5.18: Devices, cgroup device rules (`--device-cgroup-rule`) and device requests (`--gpus`) all reach host devices. */
function devices(subject: ContainerSubject): CisFinding {
  const hc = hostConfig(subject.params);
  const details = [
    ...records(hc['Devices']).map((device) => `Devices: ${text(device['PathOnHost']) || '?'}`),
    ...strings(hc['DeviceCgroupRules']).map((rule) => `DeviceCgroupRules: ${rule}`),
    ...records(hc['DeviceRequests']).map((request) => {
      const capabilities = Array.isArray(request['Capabilities']) ? request['Capabilities'].flatMap(strings) : [];
      return `DeviceRequests: ${text(request['Driver']) || capabilities.join(',') || 'default driver'}`;
    }),
  ];
  return failIf(details);
}

function ulimits(subject: ContainerSubject): CisFinding {
  return records(hostConfig(subject.params)['Ulimits']).length > 0 ? PASS : fail('no Ulimits (daemon defaults)');
}

/** 5.20: `shared` and `rshared` (docker-bench greps for `shared`). */
function sharedPropagation(subject: ContainerSubject): CisFinding {
  return failIf(mountsOf(subject).flatMap((mount) => (mount.propagation.includes('shared') ? [`${mount.hostPath ?? mount.source} propagation ${mount.propagation}`] : [])));
}

function seccomp(subject: ContainerSubject): CisFinding {
  return securityOf(subject).seccomp === 'unconfined' ? fail('SecurityOpt seccomp=unconfined') : PASS;
}

function cgroupParent(subject: ContainerSubject): CisFinding {
  const parent = text(hostConfig(subject.params)['CgroupParent']);
  return parent !== '' ? fail(`CgroupParent ${parent}`) : PASS;
}

/**
 * 5.26: per container only. A daemon started with `--no-new-privileges` (or `"no-new-privileges":
 * true` in daemon.json) applies it without writing it into SecurityOpt, which neither form can see:
 * on such a host turn this check off in the packs file.
 */
function newPrivileges(subject: ContainerSubject): CisFinding {
  return securityOf(subject).noNewPrivileges ? PASS : fail('SecurityOpt has no no-new-privileges');
}

/** A Healthcheck.Test starting with NONE disables the image's check; an empty one inherits it. */
function healthTest(value: unknown): 'disabled' | 'set' | 'inherited' {
  const test = isRecord(value) ? strings(value['Test']) : [];
  if (test.length === 0) return 'inherited';
  return test[0] === 'NONE' ? 'disabled' : 'set';
}

/**
 * 5.27: at runtime `.State.Health` exists exactly when a health check runs (the create body's or
 * the image's); at admission the body's own check passes, and the image's passes when the caller
 * looked it up and the body does not disable it. An image that could not be looked up fails.
 */
function healthcheck(subject: ContainerSubject): CisFinding {
  if (subject.form === 'runtime') {
    const state = raw(subject.params)['State'];
    return isRecord(state) && isRecord(state['Health']) ? PASS : fail('no health check (State.Health absent)');
  }
  const body = healthTest(config(subject.params)['Healthcheck']);
  if (body === 'set') return PASS;
  if (body === 'disabled') return fail('Healthcheck disabled (NONE)');
  return subject.imageHealthcheck === true ? PASS : fail('no health check in the body or the image');
}

/** 5.28: a digest, or a full image id (`sha256:<64 hex>`, content-addressed as well). */
function imagePinned(subject: ContainerSubject): CisFinding {
  const image = text(config(subject.params)['Image']);
  if (image.includes('@sha256:') || /^sha256:[0-9a-f]{64}$/.test(image)) return PASS;
  return fail(`Image ${image === '' ? '(none)' : image} not pinned by digest`);
}

/** 5.29: 0 and negative values are unlimited for dockerd, and so is an unset limit. */
function pidsLimit(subject: ContainerSubject): CisFinding {
  const limit = hostConfig(subject.params)['PidsLimit'];
  const value = numberOf(limit);
  return value !== undefined && value > 0 ? PASS : fail(`PidsLimit ${value ?? 'unset'}`);
}

/**
 * 5.30: NetworkMode `default`/`bridge`/empty at both forms; at runtime also a container connected to
 * `bridge` later (`docker network connect bridge`), which is what docker-bench's docker0 listing shows.
 */
function defaultBridge(subject: ContainerSubject): CisFinding {
  const mode = text(hostConfig(subject.params)['NetworkMode']);
  if (DEFAULT_BRIDGE_MODES.has(mode)) return fail(`NetworkMode ${mode === '' ? '(empty)' : mode}: default bridge`);
  if (subject.form === 'runtime') {
    const settings = raw(subject.params)['NetworkSettings'];
    const networks = isRecord(settings) && isRecord(settings['Networks']) ? settings['Networks'] : {};
    if ('bridge' in networks) return fail('connected to the default bridge network');
  }
  return PASS;
}

function hostUserns(subject: ContainerSubject): CisFinding {
  const mode = text(hostConfig(subject.params)['UsernsMode']);
  return mode.includes('host') ? fail(`UsernsMode ${mode}`) : PASS;
}

/**
 * 5.32: a source naming docker.sock (a volume named so too: its runtime source, the volume's data
 * directory, contains the name), or a host directory the socket lives in. Only sources: a file
 * mounted at /var/run/docker.sock inside the container is not the daemon's socket. Symlinks are not
 * resolved (the form that sees the host, runtime, shows the source as written too).
 */
function dockerSocket(subject: ContainerSubject): CisFinding {
  return failIf(
    mountsOf(subject).flatMap((mount) => {
      if (mount.source.includes('docker.sock')) return [`${mount.hostPath ?? mount.source} mounted`];
      return mount.hostPath !== undefined && SOCKET_DIRECTORIES.has(mount.hostPath) ? [`${mount.hostPath} mounted (holds docker.sock)`] : [];
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Exec and request checks

function execPrivileged(subject: ExecSubject): CisFinding {
  return subject.privileged ? fail('exec Privileged: true') : PASS;
}

/**
 * 5.24: the user part of `user[:group]` is root by name or uid 0 (dockerd reads a number as a uid,
 * so `00` is root too); `1000:0` only joins group 0. An empty user runs as the container's own user,
 * which the container's create was judged on: it passes.
 */
function execAsRoot(subject: ExecSubject): CisFinding {
  const user = subject.user.trim();
  const name = user.split(':')[0] ?? '';
  return name === 'root' || /^0+$/.test(name) ? fail(`exec User ${user}`) : PASS;
}

const SWARM_ACTIONS: Readonly<Record<string, string>> = { swarmInit: 'POST /swarm/init', swarmJoin: 'POST /swarm/join' };

function swarm(action: string): CisFinding {
  const route = SWARM_ACTIONS[action];
  return route !== undefined ? fail(`${route} enables swarm mode`) : NOT_APPLICABLE;
}

// ---------------------------------------------------------------------------------------------

const container = (id: string, check: (subject: ContainerSubject) => CisFinding): CisCheckLogic => ({ id, container: check });

/** One logic per catalogue entry, in the catalogue's order. */
export const CIS_CHECKS: readonly CisCheckLogic[] = [
  { id: 'swarm-mode-enabled', request: swarm },
  container('apparmor-unconfined', apparmor),
  container('selinux-options-missing', selinux),
  container('capabilities-added', capabilities),
  container('privileged-container', privileged),
  container('sensitive-host-dir-mounted', sensitiveDirectories),
  container('privileged-port-mapped', privilegedPorts),
  container('ports-published', publishedPorts),
  container('host-network', hostNetwork),
  container('memory-unlimited', memory),
  container('cpu-unlimited', cpu),
  container('rootfs-writable', readonlyRootfs),
  container('ports-bound-to-all-interfaces', portsOnAllInterfaces),
  container('restart-retries-over-5', restartRetries),
  container('host-pid', hostNamespace('PidMode')),
  container('host-ipc', hostNamespace('IpcMode')),
  container('host-devices', devices),
  container('ulimits-default', ulimits),
  container('mount-propagation-shared', sharedPropagation),
  container('host-uts', hostNamespace('UTSMode')),
  container('seccomp-unconfined', seccomp),
  { id: 'exec-privileged', exec: execPrivileged },
  { id: 'exec-as-root', exec: execAsRoot },
  container('cgroup-parent-set', cgroupParent),
  container('new-privileges-allowed', newPrivileges),
  container('healthcheck-missing', healthcheck),
  container('image-not-pinned', imagePinned),
  container('pids-unlimited', pidsLimit),
  container('default-bridge', defaultBridge),
  container('host-userns', hostUserns),
  container('docker-socket-mounted', dockerSocket),
];

const BY_ID = new Map(CIS_CHECKS.map((check) => [check.id, check]));

/** A check's logic by slug (`privileged-container`) or CIS number (`5.5`). */
export function checkLogic(id: string): CisCheckLogic | undefined {
  return BY_ID.get(id) ?? BY_ID.get(cisCheck(id)?.id ?? '');
}
