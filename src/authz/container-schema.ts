/**
 * The shapes dockerd decodes container create/update bodies into (moby api/types/container:
 * Config, HostConfig with its embedded Resources, NetworkingConfig, UpdateConfig), as far as their
 * field names go. Only struct/map/array structure matters: it decides which keys are field names
 * (matched case-insensitively) and which are user data (labels, options: kept as written).
 */
import type { Schema } from './go-json';

const any: Schema = { kind: 'any' };
const map = (value: Schema = any): Schema => ({ kind: 'map', value });
const array = (item: Schema = any): Schema => ({ kind: 'array', item });
const struct = (fields: Record<string, Schema>): Schema => ({ kind: 'struct', fields });
const scalars = (...names: string[]): Record<string, Schema> => Object.fromEntries(names.map((name) => [name, any]));

const throttleDevice = struct(scalars('Path', 'Rate'));
const weightDevice = struct(scalars('Path', 'Weight'));

const RESOURCES: Record<string, Schema> = {
  ...scalars(
    'CpuShares', 'Memory', 'NanoCpus', 'CgroupParent', 'BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod',
    'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'KernelMemory', 'KernelMemoryTCP', 'MemoryReservation', 'MemorySwap',
    'MemorySwappiness', 'OomKillDisable', 'PidsLimit', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth',
  ),
  BlkioWeightDevice: array(weightDevice),
  BlkioDeviceReadBps: array(throttleDevice),
  BlkioDeviceWriteBps: array(throttleDevice),
  BlkioDeviceReadIOps: array(throttleDevice),
  BlkioDeviceWriteIOps: array(throttleDevice),
  Devices: array(struct(scalars('PathOnHost', 'PathInContainer', 'CgroupPermissions'))),
  DeviceCgroupRules: array(),
  DeviceRequests: array(struct({ ...scalars('Driver', 'Count'), DeviceIDs: array(), Capabilities: array(array()), Options: map() })),
  Ulimits: array(struct(scalars('Name', 'Hard', 'Soft'))),
};

const restartPolicy = struct(scalars('Name', 'MaximumRetryCount'));

const mount = struct({
  ...scalars('Type', 'Source', 'Target', 'ReadOnly', 'Consistency'),
  BindOptions: struct(scalars('Propagation', 'NonRecursive', 'CreateMountpoint', 'ReadOnlyNonRecursive', 'ReadOnlyForceRecursive')),
  VolumeOptions: struct({ ...scalars('NoCopy', 'Subpath'), Labels: map(), DriverConfig: struct({ Name: any, Options: map() }) }),
  TmpfsOptions: struct({ ...scalars('SizeBytes', 'Mode'), Options: array() }),
  ImageOptions: struct(scalars('Subpath')),
});

export const HOST_CONFIG: Schema = struct({
  ...RESOURCES,
  ...scalars(
    'ContainerIDFile', 'NetworkMode', 'AutoRemove', 'VolumeDriver', 'CgroupnsMode', 'IpcMode', 'Cgroup', 'OomScoreAdj', 'PidMode',
    'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'UTSMode', 'UsernsMode', 'ShmSize', 'Runtime', 'Isolation', 'Init',
  ),
  Binds: array(),
  LogConfig: struct({ Type: any, Config: map() }),
  PortBindings: map(array(struct(scalars('HostIp', 'HostPort')))),
  RestartPolicy: restartPolicy,
  VolumesFrom: array(),
  ConsoleSize: array(),
  Annotations: map(),
  CapAdd: array(),
  CapDrop: array(),
  Dns: array(),
  DnsOptions: array(),
  DnsSearch: array(),
  ExtraHosts: array(),
  GroupAdd: array(),
  Links: array(),
  SecurityOpt: array(),
  StorageOpt: map(),
  Tmpfs: map(),
  Sysctls: map(),
  Mounts: array(mount),
  MaskedPaths: array(),
  ReadonlyPaths: array(),
});

const CONFIG_FIELDS: Record<string, Schema> = {
  ...scalars(
    'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'ArgsEscaped',
    'Image', 'WorkingDir', 'NetworkDisabled', 'MacAddress', 'StopSignal', 'StopTimeout',
  ),
  ExposedPorts: map(),
  Env: array(),
  Cmd: array(),
  Healthcheck: struct({ Test: array(), ...scalars('Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries') }),
  Volumes: map(),
  Entrypoint: array(),
  OnBuild: array(),
  Labels: map(),
  Shell: array(),
};

const endpointSettings = struct({
  IPAMConfig: struct({ ...scalars('IPv4Address', 'IPv6Address'), LinkLocalIPs: array() }),
  Links: array(),
  Aliases: array(),
  DriverOpts: map(),
  DNSNames: array(),
  ...scalars('MacAddress', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen'),
});

/** Names of the top-level create-body fields that belong to `Config` (the embedded struct). */
export const CONFIG_FIELD_NAMES: readonly string[] = Object.keys(CONFIG_FIELDS);

/** `POST /containers/create`: Config's fields at the top level, plus HostConfig and NetworkingConfig. */
export const CONTAINER_CREATE: Schema = struct({
  ...CONFIG_FIELDS,
  HostConfig: HOST_CONFIG,
  NetworkingConfig: struct({ EndpointsConfig: map(endpointSettings) }),
});

/** `POST /containers/{id}/update`: Resources plus RestartPolicy. */
export const CONTAINER_UPDATE: Schema = struct({ ...RESOURCES, RestartPolicy: restartPolicy });
