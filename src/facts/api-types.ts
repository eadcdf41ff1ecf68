/**
 * The Go types dockerd decodes Engine API request bodies into, as `GoType` data (go-type.ts).
 * Each struct is the union of the fields Docker 20.10 (v20.10.24) and the current engine know: a
 * field only one of them has is still listed (it is simply ignored by the other), with the API
 * version it appeared in when the engine source says so.
 *
 * Where the two versions disagree on a field's kind, the more lenient one wins:
 *  - 20.10's `strslice.StrSlice` (a string or a list) over the current `[]string` (a list only);
 *  - the current `*bool` / `[]byte`-backed kinds over 20.10's plain values, so `null` clears them.
 *
 * Text-unmarshaled types are transcribed as strings (20.10 had plain strings there); see the
 * aliases below for what the current engine accepts in them.
 */
import {
  array,
  bool,
  bytes,
  embed,
  float,
  int,
  map,
  ptr,
  slice,
  string,
  strslice,
  struct,
  uint,
  type GoType,
  type StructType,
} from './go-type';

// ---------------------------------------------------------------------------------------------
// Kinds with UnmarshalText in the current engine (20.10: plain `string` fields).
// `null` never reaches UnmarshalText: it is ignored for value types, sets []byte-backed ones to nil.

/** UnmarshalText: netip.Addr. "" is the zero address; otherwise netip.ParseAddr (no mask, zone ok for v6); else a decode error. */
const netipAddr: GoType = string;
/** UnmarshalText: netip.Prefix. "" is the zero prefix; otherwise netip.ParsePrefix ("10.0.0.0/8"); else a decode error. */
const netipPrefix: GoType = string;
/** UnmarshalText: network.HardwareAddr ([]byte kind: `null` sets nil). "" is nil; otherwise net.ParseMAC; else a decode error. */
const hardwareAddr: GoType = ptr(string);
/**
 * A `map[Port]T` (nat.Port string in 20.10). UnmarshalText on the key in the current engine:
 * network.ParsePort "<0-65535>[/<proto>]", proto lower-cased and defaulting to tcp; so "80",
 * "80/tcp" and "80/TCP" are one key there (the last one decoded wins) and a bad key fails the request.
 */
const portMap = (value: GoType): GoType => map(value);

/** `struct{}` as a map value: any JSON object (keys ignored); `null` ignored; anything else a type error. */
const EMPTY_STRUCT: StructType = struct('struct{}', {});

// ---------------------------------------------------------------------------------------------
// container.Config and container.HostConfig

/** container.HealthConfig (current engine: the image spec's HealthcheckConfig). Durations are int64 nanoseconds. */
export const HEALTH_CONFIG: StructType = struct('container.HealthConfig', {
  Test: slice(string),
  Interval: int,
  Timeout: int,
  StartPeriod: int,
  StartInterval: int, // since API 1.44 (zeroed for older clients)
  Retries: int,
});

/** container.Config. In create bodies its fields sit at the top level (embedded). */
export const CONTAINER_CONFIG: StructType = struct('container.Config', {
  Hostname: string,
  Domainname: string,
  User: string,
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ExposedPorts: portMap(EMPTY_STRUCT),
  Tty: bool,
  OpenStdin: bool,
  StdinOnce: bool,
  Env: slice(string),
  Cmd: strslice, // current engine: []string (a bare string is a type error)
  Healthcheck: ptr(HEALTH_CONFIG),
  ArgsEscaped: bool,
  Image: string,
  Volumes: map(EMPTY_STRUCT),
  WorkingDir: string,
  Entrypoint: strslice, // current engine: []string
  NetworkDisabled: bool,
  // 20.10 only. The current engine re-reads it for API < 1.52 as network.HardwareAddr (errors ignored).
  MacAddress: string,
  OnBuild: slice(string),
  Labels: map(string),
  StopSignal: string,
  StopTimeout: ptr(int),
  Shell: strslice, // current engine: []string
});

export const LOG_CONFIG: StructType = struct('container.LogConfig', { Type: string, Config: map(string) });

export const RESTART_POLICY: StructType = struct('container.RestartPolicy', { Name: string, MaximumRetryCount: int });

/** nat.PortBinding (20.10) / network.PortBinding. */
export const PORT_BINDING: StructType = struct('network.PortBinding', {
  HostIp: netipAddr, // UnmarshalText (current engine)
  HostPort: string,
});

export const DEVICE_MAPPING: StructType = struct('container.DeviceMapping', {
  PathOnHost: string,
  PathInContainer: string,
  CgroupPermissions: string,
});

export const DEVICE_REQUEST: StructType = struct('container.DeviceRequest', {
  Driver: string,
  Count: int,
  DeviceIDs: slice(string),
  Capabilities: slice(slice(string)),
  Options: map(string),
});

/** go-units Ulimit (container.Ulimit is an alias of it). */
export const ULIMIT: StructType = struct('units.Ulimit', { Name: string, Hard: int, Soft: int });

export const WEIGHT_DEVICE: StructType = struct('blkiodev.WeightDevice', { Path: string, Weight: uint });

export const THROTTLE_DEVICE: StructType = struct('blkiodev.ThrottleDevice', { Path: string, Rate: uint });

/** container.Resources: embedded (fields promoted) in HostConfig and UpdateConfig. */
export const RESOURCES: StructType = struct('container.Resources', {
  CpuShares: int,
  Memory: int,
  NanoCpus: int,
  CgroupParent: string,
  BlkioWeight: uint,
  BlkioWeightDevice: slice(ptr(WEIGHT_DEVICE)),
  BlkioDeviceReadBps: slice(ptr(THROTTLE_DEVICE)),
  BlkioDeviceWriteBps: slice(ptr(THROTTLE_DEVICE)),
  BlkioDeviceReadIOps: slice(ptr(THROTTLE_DEVICE)),
  BlkioDeviceWriteIOps: slice(ptr(THROTTLE_DEVICE)),
  CpuPeriod: int,
  CpuQuota: int,
  CpuRealtimePeriod: int,
  CpuRealtimeRuntime: int,
  CpusetCpus: string,
  CpusetMems: string,
  Devices: slice(DEVICE_MAPPING),
  DeviceCgroupRules: slice(string),
  DeviceRequests: slice(DEVICE_REQUEST),
  KernelMemory: int, // 20.10 only
  KernelMemoryTCP: int, // 20.10 only (since API 1.40)
  MemoryReservation: int,
  MemorySwap: int,
  MemorySwappiness: ptr(int),
  OomKillDisable: ptr(bool),
  PidsLimit: ptr(int),
  Ulimits: slice(ptr(ULIMIT)),
  CpuCount: int,
  CpuPercent: int,
  IOMaximumIOps: uint,
  IOMaximumBandwidth: uint,
});

export const MOUNT_BIND_OPTIONS: StructType = struct('mount.BindOptions', {
  Propagation: string,
  NonRecursive: bool, // since API 1.40
  CreateMountpoint: bool, // since API 1.42
  ReadOnlyNonRecursive: bool, // since API 1.44
  ReadOnlyForceRecursive: bool, // since API 1.44
});

export const MOUNT_DRIVER: StructType = struct('mount.Driver', { Name: string, Options: map(string) });

export const MOUNT_VOLUME_OPTIONS: StructType = struct('mount.VolumeOptions', {
  NoCopy: bool,
  Labels: map(string),
  Subpath: string, // since API 1.45
  DriverConfig: ptr(MOUNT_DRIVER),
});

export const MOUNT_IMAGE_OPTIONS: StructType = struct('mount.ImageOptions', { Subpath: string }); // since API 1.48

export const MOUNT_TMPFS_OPTIONS: StructType = struct('mount.TmpfsOptions', {
  SizeBytes: int,
  Mode: uint, // os.FileMode
  Options: slice(slice(string)), // current engine; services: since API 1.46
});

export const MOUNT_CLUSTER_OPTIONS: StructType = struct('mount.ClusterOptions', {});

export const MOUNT: StructType = struct('mount.Mount', {
  Type: string,
  Source: string,
  Target: string,
  ReadOnly: bool,
  Consistency: string,
  BindOptions: ptr(MOUNT_BIND_OPTIONS),
  VolumeOptions: ptr(MOUNT_VOLUME_OPTIONS),
  ImageOptions: ptr(MOUNT_IMAGE_OPTIONS), // current engine
  TmpfsOptions: ptr(MOUNT_TMPFS_OPTIONS),
  ClusterOptions: ptr(MOUNT_CLUSTER_OPTIONS), // current engine
});

/** container.HostConfig, with container.Resources promoted where Go embeds it. */
export const HOST_CONFIG: StructType = struct('container.HostConfig', {
  Binds: slice(string),
  ContainerIDFile: string,
  LogConfig: LOG_CONFIG,
  NetworkMode: string,
  PortBindings: portMap(slice(PORT_BINDING)),
  RestartPolicy: RESTART_POLICY,
  AutoRemove: bool, // forced false for API < 1.25
  VolumeDriver: string,
  VolumesFrom: slice(string),
  ConsoleSize: array(uint, 2), // honoured on Linux since API 1.42
  Annotations: map(string), // current engine, since API 1.43
  CapAdd: strslice, // current engine: []string
  CapDrop: strslice, // current engine: []string
  CgroupnsMode: string,
  Dns: slice(netipAddr), // UnmarshalText (current engine)
  DnsOptions: slice(string),
  DnsSearch: slice(string),
  ExtraHosts: slice(string),
  GroupAdd: slice(string),
  IpcMode: string,
  Cgroup: string,
  Links: slice(string),
  OomScoreAdj: int,
  PidMode: string,
  Privileged: bool,
  PublishAllPorts: bool,
  ReadonlyRootfs: bool,
  SecurityOpt: slice(string),
  StorageOpt: map(string),
  Tmpfs: map(string),
  UTSMode: string,
  UsernsMode: string,
  ShmSize: int,
  Sysctls: map(string),
  Runtime: string,
  Isolation: string,
  ...embed(RESOURCES),
  Mounts: slice(MOUNT),
  MaskedPaths: slice(string),
  ReadonlyPaths: slice(string),
  Init: ptr(bool),
});

// ---------------------------------------------------------------------------------------------
// Networks

export const ENDPOINT_IPAM_CONFIG: StructType = struct('network.EndpointIPAMConfig', {
  IPv4Address: netipAddr, // UnmarshalText (current engine)
  IPv6Address: netipAddr, // UnmarshalText (current engine)
  LinkLocalIPs: slice(netipAddr), // UnmarshalText (current engine)
});

export const ENDPOINT_SETTINGS: StructType = struct('network.EndpointSettings', {
  IPAMConfig: ptr(ENDPOINT_IPAM_CONFIG),
  Links: slice(string),
  Aliases: slice(string),
  DriverOpts: map(string),
  GwPriority: int, // since API 1.48
  NetworkID: string,
  EndpointID: string,
  Gateway: netipAddr, // UnmarshalText (current engine)
  IPAddress: netipAddr, // UnmarshalText (current engine)
  MacAddress: hardwareAddr, // UnmarshalText (current engine); 20.10: string
  IPPrefixLen: int,
  IPv6Gateway: netipAddr, // UnmarshalText (current engine)
  GlobalIPv6Address: netipAddr, // UnmarshalText (current engine)
  GlobalIPv6PrefixLen: int,
  DNSNames: slice(string), // current engine
});

export const NETWORKING_CONFIG: StructType = struct('network.NetworkingConfig', {
  EndpointsConfig: map(ptr(ENDPOINT_SETTINGS)),
});

export const IPAM_CONFIG: StructType = struct('network.IPAMConfig', {
  Subnet: netipPrefix, // UnmarshalText (current engine)
  IPRange: netipPrefix, // UnmarshalText (current engine)
  Gateway: netipAddr, // UnmarshalText (current engine)
  AuxiliaryAddresses: map(netipAddr), // UnmarshalText on the values (current engine)
});

export const IPAM: StructType = struct('network.IPAM', {
  Driver: string,
  Options: map(string),
  Config: slice(IPAM_CONFIG),
});

export const NETWORK_CONFIG_REFERENCE: StructType = struct('network.ConfigReference', { Network: string });

/** types.NetworkCreateRequest (20.10: NetworkCreate embedded + Name) / network.CreateRequest. */
export const NETWORK_CREATE_REQUEST: StructType = struct('network.CreateRequest', {
  Name: string,
  CheckDuplicate: bool, // 20.10 only
  Driver: string,
  Scope: string,
  EnableIPv4: ptr(bool), // current engine, since API 1.48
  EnableIPv6: ptr(bool), // 20.10: bool
  IPAM: ptr(IPAM),
  Internal: bool,
  Attachable: bool,
  Ingress: bool,
  ConfigOnly: bool,
  ConfigFrom: ptr(NETWORK_CONFIG_REFERENCE),
  Options: map(string),
  Labels: map(string),
});

/** types.NetworkConnect / networkbackend.ConnectRequest. */
export const NETWORK_CONNECT: StructType = struct('network.ConnectRequest', {
  Container: string,
  EndpointConfig: ptr(ENDPOINT_SETTINGS), // current engine drops EndpointConfig.MacAddress for API < 1.54
});

/** types.NetworkDisconnect / networkbackend.DisconnectRequest. */
export const NETWORK_DISCONNECT: StructType = struct('network.DisconnectRequest', { Container: string, Force: bool });

// ---------------------------------------------------------------------------------------------
// Containers: update, exec, checkpoint, legacy copy

/** container.UpdateConfig. */
export const UPDATE_CONFIG: StructType = struct('container.UpdateConfig', {
  ...embed(RESOURCES), // current engine drops the Blkio* lists for API < 1.55, both drop PidsLimit for API < 1.40
  RestartPolicy: RESTART_POLICY,
});

/** types.ExecConfig (20.10) / container.ExecCreateRequest. */
export const EXEC_CONFIG: StructType = struct('container.ExecCreateRequest', {
  User: string,
  Privileged: bool,
  Tty: bool,
  ConsoleSize: array(uint, 2), // current engine, since API 1.42; really *[2]uint (`null` clears it)
  AttachStdin: bool,
  AttachStderr: bool,
  AttachStdout: bool,
  Detach: bool, // 20.10 only
  DetachKeys: string,
  Env: slice(string),
  WorkingDir: string,
  Cmd: slice(string),
});

/** types.ExecStartCheck (20.10) / container.ExecStartRequest. */
export const EXEC_START_CHECK: StructType = struct('container.ExecStartRequest', {
  Detach: bool,
  Tty: bool,
  ConsoleSize: array(uint, 2), // current engine, since API 1.42; really *[2]uint (`null` clears it)
});

/** types.CheckpointCreateOptions (20.10) / checkpoint.CreateRequest. */
export const CHECKPOINT_CREATE_OPTIONS: StructType = struct('checkpoint.CreateRequest', {
  CheckpointID: string,
  CheckpointDir: string,
  Exit: bool,
});

/** types.CopyConfig: body of the 20.10-only `POST /containers/{id}/copy` (API < 1.24). */
export const COPY_CONFIG: StructType = struct('types.CopyConfig', { Resource: string });

// ---------------------------------------------------------------------------------------------
// Volumes

export const VOLUME_TOPOLOGY: StructType = struct('volume.Topology', { Segments: map(string) });

export const VOLUME_TOPOLOGY_REQUIREMENT: StructType = struct('volume.TopologyRequirement', {
  Requisite: slice(VOLUME_TOPOLOGY),
  Preferred: slice(VOLUME_TOPOLOGY),
});

export const VOLUME_CAPACITY_RANGE: StructType = struct('volume.CapacityRange', { RequiredBytes: int, LimitBytes: int });

export const VOLUME_SECRET: StructType = struct('volume.Secret', { Key: string, Secret: string });

export const VOLUME_TYPE_MOUNT: StructType = struct('volume.TypeMount', { FsType: string, MountFlags: slice(string) });

export const VOLUME_TYPE_BLOCK: StructType = struct('volume.TypeBlock', {});

export const VOLUME_ACCESS_MODE: StructType = struct('volume.AccessMode', {
  Scope: string,
  Sharing: string,
  MountVolume: ptr(VOLUME_TYPE_MOUNT),
  BlockVolume: ptr(VOLUME_TYPE_BLOCK),
});

/** volume.ClusterVolumeSpec (current engine; cluster volumes since API 1.42). */
export const CLUSTER_VOLUME_SPEC: StructType = struct('volume.ClusterVolumeSpec', {
  Group: string,
  AccessMode: ptr(VOLUME_ACCESS_MODE),
  AccessibilityRequirements: ptr(VOLUME_TOPOLOGY_REQUIREMENT),
  CapacityRange: ptr(VOLUME_CAPACITY_RANGE),
  Secrets: slice(VOLUME_SECRET),
  Availability: string,
});

/** volume.VolumeCreateBody (20.10) / volume.CreateRequest. */
export const VOLUME_CREATE_OPTIONS: StructType = struct('volume.CreateRequest', {
  ClusterVolumeSpec: ptr(CLUSTER_VOLUME_SPEC), // current engine; ignored for API < 1.42
  Driver: string,
  DriverOpts: map(string),
  Labels: map(string),
  Name: string,
});

/** volumebackend.UpdateOptions (current engine only; `PUT /volumes/{name}`, API 1.42+). */
export const VOLUME_UPDATE_OPTIONS: StructType = struct('volumebackend.UpdateOptions', {
  Spec: ptr(CLUSTER_VOLUME_SPEC),
});

// ---------------------------------------------------------------------------------------------
// Swarm

/** swarm.Annotations: embedded in the swarm specs. */
export const SWARM_ANNOTATIONS: StructType = struct('swarm.Annotations', { Name: string, Labels: map(string) });

export const SWARM_DRIVER: StructType = struct('swarm.Driver', { Name: string, Options: map(string) });

export const SWARM_ORCHESTRATION_CONFIG: StructType = struct('swarm.OrchestrationConfig', {
  TaskHistoryRetentionLimit: ptr(int),
});

export const SWARM_RAFT_CONFIG: StructType = struct('swarm.RaftConfig', {
  SnapshotInterval: uint,
  KeepOldSnapshots: ptr(uint),
  LogEntriesForSlowFollowers: uint,
  ElectionTick: int,
  HeartbeatTick: int,
});

export const SWARM_DISPATCHER_CONFIG: StructType = struct('swarm.DispatcherConfig', { HeartbeatPeriod: int });

export const SWARM_EXTERNAL_CA: StructType = struct('swarm.ExternalCA', {
  Protocol: string,
  URL: string,
  Options: map(string),
  CACert: string,
});

export const SWARM_CA_CONFIG: StructType = struct('swarm.CAConfig', {
  NodeCertExpiry: int,
  ExternalCAs: slice(ptr(SWARM_EXTERNAL_CA)),
  SigningCACert: string,
  SigningCAKey: string,
  ForceRotate: uint,
});

export const SWARM_TASK_DEFAULTS: StructType = struct('swarm.TaskDefaults', { LogDriver: ptr(SWARM_DRIVER) });

export const SWARM_ENCRYPTION_CONFIG: StructType = struct('swarm.EncryptionConfig', { AutoLockManagers: bool });

/** swarm.Spec: body of `POST /swarm/update`. */
export const SWARM_SPEC: StructType = struct('swarm.Spec', {
  ...embed(SWARM_ANNOTATIONS),
  Orchestration: SWARM_ORCHESTRATION_CONFIG,
  Raft: SWARM_RAFT_CONFIG,
  Dispatcher: SWARM_DISPATCHER_CONFIG,
  CAConfig: SWARM_CA_CONFIG,
  TaskDefaults: SWARM_TASK_DEFAULTS,
  EncryptionConfig: SWARM_ENCRYPTION_CONFIG,
});

export const SWARM_INIT_REQUEST: StructType = struct('swarm.InitRequest', {
  ListenAddr: string,
  AdvertiseAddr: string,
  DataPathAddr: string,
  DataPathPort: uint, // since API 1.40
  ForceNewCluster: bool,
  Spec: SWARM_SPEC,
  AutoLockManagers: bool,
  Availability: string,
  DefaultAddrPool: slice(netipPrefix), // since API 1.39; UnmarshalText (current engine)
  SubnetSize: uint, // since API 1.39
});

export const SWARM_JOIN_REQUEST: StructType = struct('swarm.JoinRequest', {
  ListenAddr: string,
  AdvertiseAddr: string,
  DataPathAddr: string,
  RemoteAddrs: slice(string),
  JoinToken: string,
  Availability: string,
});

export const SWARM_UNLOCK_REQUEST: StructType = struct('swarm.UnlockRequest', { UnlockKey: string });

export const NODE_SPEC: StructType = struct('swarm.NodeSpec', {
  ...embed(SWARM_ANNOTATIONS),
  Role: string,
  Availability: string,
});

export const SECRET_SPEC: StructType = struct('swarm.SecretSpec', {
  ...embed(SWARM_ANNOTATIONS),
  Data: bytes,
  Driver: ptr(SWARM_DRIVER),
  Templating: ptr(SWARM_DRIVER), // since API 1.37
});

export const CONFIG_SPEC: StructType = struct('swarm.ConfigSpec', {
  ...embed(SWARM_ANNOTATIONS),
  Data: bytes,
  Templating: ptr(SWARM_DRIVER), // since API 1.37
});

export const SWARM_DNS_CONFIG: StructType = struct('swarm.DNSConfig', {
  Nameservers: slice(netipAddr), // UnmarshalText (current engine)
  Search: slice(string),
  Options: slice(string),
});

export const SWARM_SELINUX_CONTEXT: StructType = struct('swarm.SELinuxContext', {
  Disable: bool,
  User: string,
  Role: string,
  Type: string,
  Level: string,
});

export const SWARM_CREDENTIAL_SPEC: StructType = struct('swarm.CredentialSpec', {
  Config: string, // since API 1.40
  File: string,
  Registry: string,
});

export const SWARM_SECCOMP_OPTS: StructType = struct('swarm.SeccompOpts', { Mode: string, Profile: bytes });

export const SWARM_APPARMOR_OPTS: StructType = struct('swarm.AppArmorOpts', { Mode: string });

export const SWARM_PRIVILEGES: StructType = struct('swarm.Privileges', {
  CredentialSpec: ptr(SWARM_CREDENTIAL_SPEC),
  SELinuxContext: ptr(SWARM_SELINUX_CONTEXT),
  Seccomp: ptr(SWARM_SECCOMP_OPTS), // current engine, since API 1.44
  AppArmor: ptr(SWARM_APPARMOR_OPTS), // current engine, since API 1.44
  NoNewPrivileges: bool, // current engine, since API 1.44
});

export const SWARM_SECRET_REFERENCE_FILE_TARGET: StructType = struct('swarm.SecretReferenceFileTarget', {
  Name: string,
  UID: string,
  GID: string,
  Mode: uint, // os.FileMode
});

export const SWARM_SECRET_REFERENCE: StructType = struct('swarm.SecretReference', {
  File: ptr(SWARM_SECRET_REFERENCE_FILE_TARGET),
  SecretID: string,
  SecretName: string,
});

export const SWARM_CONFIG_REFERENCE_FILE_TARGET: StructType = struct('swarm.ConfigReferenceFileTarget', {
  Name: string,
  UID: string,
  GID: string,
  Mode: uint, // os.FileMode
});

export const SWARM_CONFIG_REFERENCE_RUNTIME_TARGET: StructType = struct('swarm.ConfigReferenceRuntimeTarget', {});

export const SWARM_CONFIG_REFERENCE: StructType = struct('swarm.ConfigReference', {
  File: ptr(SWARM_CONFIG_REFERENCE_FILE_TARGET),
  Runtime: ptr(SWARM_CONFIG_REFERENCE_RUNTIME_TARGET), // since API 1.40
  ConfigID: string,
  ConfigName: string,
});

export const CONTAINER_SPEC: StructType = struct('swarm.ContainerSpec', {
  Image: string,
  Labels: map(string),
  Command: slice(string),
  Args: slice(string),
  Hostname: string,
  Env: slice(string),
  Dir: string,
  User: string,
  Groups: slice(string),
  Privileges: ptr(SWARM_PRIVILEGES),
  Init: ptr(bool),
  StopSignal: string,
  TTY: bool,
  OpenStdin: bool,
  ReadOnly: bool,
  Mounts: slice(MOUNT),
  StopGracePeriod: ptr(int), // *time.Duration
  Healthcheck: ptr(HEALTH_CONFIG),
  Hosts: slice(string),
  DNSConfig: ptr(SWARM_DNS_CONFIG),
  Secrets: slice(ptr(SWARM_SECRET_REFERENCE)),
  Configs: slice(ptr(SWARM_CONFIG_REFERENCE)),
  Isolation: string,
  Sysctls: map(string), // since API 1.40
  CapabilityAdd: slice(string), // since API 1.41
  CapabilityDrop: slice(string), // since API 1.41
  Ulimits: slice(ptr(ULIMIT)), // since API 1.41
  OomScoreAdj: int, // current engine, since API 1.46
});

/** runtime.PluginPrivilege (20.10, protobuf) / swarm.RuntimePrivilege: lower-case JSON names. */
export const SWARM_RUNTIME_PRIVILEGE: StructType = struct('swarm.RuntimePrivilege', {
  name: string,
  description: string,
  value: slice(string),
});

/** runtime.PluginSpec (20.10, protobuf) / swarm.RuntimeSpec: TaskSpec.PluginSpec. */
export const SWARM_RUNTIME_SPEC: StructType = struct('swarm.RuntimeSpec', {
  name: string,
  remote: string,
  privileges: slice(ptr(SWARM_RUNTIME_PRIVILEGE)),
  disabled: bool,
  env: slice(string),
});

export const SWARM_NETWORK_ATTACHMENT_SPEC: StructType = struct('swarm.NetworkAttachmentSpec', { ContainerID: string });

export const SWARM_NAMED_GENERIC_RESOURCE: StructType = struct('swarm.NamedGenericResource', { Kind: string, Value: string });

export const SWARM_DISCRETE_GENERIC_RESOURCE: StructType = struct('swarm.DiscreteGenericResource', { Kind: string, Value: int });

export const SWARM_GENERIC_RESOURCE: StructType = struct('swarm.GenericResource', {
  NamedResourceSpec: ptr(SWARM_NAMED_GENERIC_RESOURCE),
  DiscreteResourceSpec: ptr(SWARM_DISCRETE_GENERIC_RESOURCE),
});

export const SWARM_LIMIT: StructType = struct('swarm.Limit', {
  NanoCPUs: int,
  MemoryBytes: int,
  Pids: int, // since API 1.41
});

export const SWARM_RESOURCES: StructType = struct('swarm.Resources', {
  NanoCPUs: int,
  MemoryBytes: int,
  GenericResources: slice(SWARM_GENERIC_RESOURCE),
});

export const SWARM_RESOURCE_REQUIREMENTS: StructType = struct('swarm.ResourceRequirements', {
  Limits: ptr(SWARM_LIMIT),
  Reservations: ptr(SWARM_RESOURCES),
  SwapBytes: ptr(int), // current engine, since API 1.52
  MemorySwappiness: ptr(int), // current engine, since API 1.52
});

export const SWARM_RESTART_POLICY: StructType = struct('swarm.RestartPolicy', {
  Condition: string,
  Delay: ptr(int), // *time.Duration
  MaxAttempts: ptr(uint),
  Window: ptr(int), // *time.Duration
});

export const SWARM_PLATFORM: StructType = struct('swarm.Platform', { Architecture: string, OS: string });

export const SWARM_SPREAD_OVER: StructType = struct('swarm.SpreadOver', { SpreadDescriptor: string });

export const SWARM_PLACEMENT_PREFERENCE: StructType = struct('swarm.PlacementPreference', { Spread: ptr(SWARM_SPREAD_OVER) });

export const SWARM_PLACEMENT: StructType = struct('swarm.Placement', {
  Constraints: slice(string),
  Preferences: slice(SWARM_PLACEMENT_PREFERENCE),
  MaxReplicas: uint, // since API 1.40
  Platforms: slice(SWARM_PLATFORM),
});

export const SWARM_NETWORK_ATTACHMENT_CONFIG: StructType = struct('swarm.NetworkAttachmentConfig', {
  Target: string,
  Aliases: slice(string),
  DriverOpts: map(string),
});

export const TASK_SPEC: StructType = struct('swarm.TaskSpec', {
  ContainerSpec: ptr(CONTAINER_SPEC),
  PluginSpec: ptr(SWARM_RUNTIME_SPEC),
  NetworkAttachmentSpec: ptr(SWARM_NETWORK_ATTACHMENT_SPEC),
  Resources: ptr(SWARM_RESOURCE_REQUIREMENTS),
  RestartPolicy: ptr(SWARM_RESTART_POLICY),
  Placement: ptr(SWARM_PLACEMENT),
  Networks: slice(SWARM_NETWORK_ATTACHMENT_CONFIG),
  LogDriver: ptr(SWARM_DRIVER),
  ForceUpdate: uint,
  Runtime: string,
});

export const SWARM_REPLICATED_SERVICE: StructType = struct('swarm.ReplicatedService', { Replicas: ptr(uint) });

export const SWARM_GLOBAL_SERVICE: StructType = struct('swarm.GlobalService', {});

export const SWARM_REPLICATED_JOB: StructType = struct('swarm.ReplicatedJob', {
  MaxConcurrent: ptr(uint),
  TotalCompletions: ptr(uint),
});

export const SWARM_GLOBAL_JOB: StructType = struct('swarm.GlobalJob', {});

export const SWARM_SERVICE_MODE: StructType = struct('swarm.ServiceMode', {
  Replicated: ptr(SWARM_REPLICATED_SERVICE),
  Global: ptr(SWARM_GLOBAL_SERVICE),
  ReplicatedJob: ptr(SWARM_REPLICATED_JOB), // since API 1.41
  GlobalJob: ptr(SWARM_GLOBAL_JOB), // since API 1.41
});

export const SWARM_UPDATE_CONFIG: StructType = struct('swarm.UpdateConfig', {
  Parallelism: uint,
  Delay: int, // time.Duration
  FailureAction: string,
  Monitor: int, // time.Duration
  MaxFailureRatio: float,
  Order: string,
});

export const SWARM_PORT_CONFIG: StructType = struct('swarm.PortConfig', {
  Name: string,
  Protocol: string,
  TargetPort: uint,
  PublishedPort: uint,
  PublishMode: string,
});

export const SWARM_ENDPOINT_SPEC: StructType = struct('swarm.EndpointSpec', {
  Mode: string,
  Ports: slice(SWARM_PORT_CONFIG),
});

/**
 * swarm.ServiceSpec. `Networks` is ServiceSpec's own field in 20.10; the current engine decodes
 * into a wrapper adding it back at the top level, used only for API < 1.44 when
 * TaskTemplate.Networks is empty.
 */
export const SERVICE_SPEC: StructType = struct('swarm.ServiceSpec', {
  ...embed(SWARM_ANNOTATIONS),
  TaskTemplate: TASK_SPEC,
  Mode: SWARM_SERVICE_MODE,
  UpdateConfig: ptr(SWARM_UPDATE_CONFIG),
  RollbackConfig: ptr(SWARM_UPDATE_CONFIG),
  Networks: slice(SWARM_NETWORK_ATTACHMENT_CONFIG),
  EndpointSpec: ptr(SWARM_ENDPOINT_SPEC),
});

// ---------------------------------------------------------------------------------------------
// Plugins and registry auth

/** types.PluginPrivilege (20.10) / plugin.Privilege. */
export const PLUGIN_PRIVILEGE: StructType = struct('plugin.Privilege', {
  Name: string,
  Description: string,
  Value: slice(string),
});

/** Body of `POST /plugins/pull` and `POST /plugins/{name}/upgrade`. */
export const PLUGIN_PRIVILEGES: GoType = slice(PLUGIN_PRIVILEGE);

/** Body of `POST /plugins/{name}/set`: a list of "key=value" strings. */
export const PLUGIN_SET_ARGS: GoType = slice(string);

/** types.AuthConfig (20.10) / registry.AuthConfig: lower-case JSON names. */
export const AUTH_CONFIG: StructType = struct('registry.AuthConfig', {
  username: string,
  password: string,
  auth: string,
  email: string, // 20.10 only
  serveraddress: string,
  identitytoken: string,
  registrytoken: string,
});

/** Every exported request-body type, for checks that walk them all. */
export const ALL_REQUEST_TYPES: Readonly<Record<string, GoType>> = {
  CONTAINER_CONFIG,
  HOST_CONFIG,
  NETWORKING_CONFIG,
  UPDATE_CONFIG,
  EXEC_CONFIG,
  EXEC_START_CHECK,
  CHECKPOINT_CREATE_OPTIONS,
  COPY_CONFIG,
  NETWORK_CREATE_REQUEST,
  NETWORK_CONNECT,
  NETWORK_DISCONNECT,
  VOLUME_CREATE_OPTIONS,
  VOLUME_UPDATE_OPTIONS,
  SWARM_INIT_REQUEST,
  SWARM_JOIN_REQUEST,
  SWARM_UNLOCK_REQUEST,
  SWARM_SPEC,
  SERVICE_SPEC,
  NODE_SPEC,
  SECRET_SPEC,
  CONFIG_SPEC,
  PLUGIN_PRIVILEGES,
  PLUGIN_SET_ARGS,
  AUTH_CONFIG,
};
