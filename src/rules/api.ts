/**
 * The rule-author API of docker-enforcer.
 *
 * Rule files import these types with `import type { ContainerRule } from 'docker-enforcer'`;
 * the import is erased when the file is transpiled, so it works wherever the file lives.
 * Field names follow Docker's own casing (`docker inspect`, Engine API reference), so a rule
 * reads `c.params.HostConfig.Memory` exactly as the Docker documentation spells it.
 */

/** Where a check came from. */
export type CheckSource = 'periodic' | 'event' | 'authz';

/** What happens to a violator: `WARN` logs and records it, `KILL` also stops it (or denies the request). */
export type Mode = 'WARN' | 'KILL';

/** `HostConfig.RestartPolicy` of a container. */
export interface RestartPolicy {
  /** `''`, `'no'`, `'always'`, `'unless-stopped'` or `'on-failure'`. */
  Name?: string;
  MaximumRetryCount?: number;
}

/** A bind or volume mount as it appears in `Mounts` / `HostConfig.Mounts`. */
export interface Mount {
  Type?: string;
  Source?: string;
  Target?: string;
  Destination?: string;
  Name?: string;
  Driver?: string;
  Mode?: string;
  RW?: boolean;
  ReadOnly?: boolean;
  Propagation?: string;
}

/** Host-side settings of a container (`docker inspect` → `HostConfig`). Sizes in bytes, 0 = unlimited. */
export interface HostConfig {
  /** Memory limit in bytes; 0 means no limit. */
  Memory?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  KernelMemory?: number;
  /** Relative CPU weight (default 0 = 1024). */
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  /** CPU limit in units of 1e-9 CPUs (`--cpus 1.5` = 1500000000). */
  NanoCpus?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  BlkioWeight?: number;
  PidsLimit?: number | null;
  OomKillDisable?: boolean | null;
  /** Runs with all capabilities and devices (`--privileged`). */
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  PublishAllPorts?: boolean;
  /** `host:container[:mode]` bind specs. */
  Binds?: string[] | null;
  Mounts?: Mount[] | null;
  /** `bridge`, `host`, `none`, `container:<id>` or a network name. */
  NetworkMode?: string;
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  CgroupnsMode?: string;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  SecurityOpt?: string[] | null;
  Devices?: Array<{ PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  ShmSize?: number;
  Runtime?: string;
  Init?: boolean | null;
  Sysctls?: Record<string, string> | null;
  Ulimits?: Array<{ Name?: string; Soft?: number; Hard?: number }> | null;
  VolumesFrom?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  Dns?: string[] | null;
  Isolation?: string;
}

/** Image-level settings of a container (`docker inspect` → `Config`). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  /** User the process runs as (`''` = the image's default, often root). */
  User?: string;
  /** The image as given at create time (name, name:tag, or `sha256:` id). */
  Image?: string;
  /** `KEY=value` strings. Never logged by the enforcer. */
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | string | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  NetworkDisabled?: boolean;
}

/** Runtime state (`docker inspect` → `State`). Absent for AuthZ create checks. */
export interface ContainerState {
  Status?: string;
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  OOMKilled?: boolean;
  Dead?: boolean;
  Pid?: number;
  ExitCode?: number;
  StartedAt?: string;
  FinishedAt?: string;
}

/**
 * The container's `docker inspect` object with Docker's key casing.
 * For AuthZ create checks only `Name`, `Config` and `HostConfig` are filled (from the request body).
 */
export interface ContainerParams {
  Id?: string;
  /** Name with Docker's leading `/`, e.g. `/web`. */
  Name?: string;
  Created?: string;
  Image?: string;
  Path?: string;
  Args?: string[];
  RestartCount?: number;
  Driver?: string;
  Platform?: string;
  State?: ContainerState;
  Config?: ContainerConfig;
  HostConfig?: HostConfig;
  Mounts?: Mount[];
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; NetworkID?: string }> };
}

/** CPU counters of one stats sample. */
export interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[]; usage_in_kernelmode?: number; usage_in_usermode?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
}

/**
 * One stats sample (`GET /containers/{id}/stats?stream=false`), Docker's snake_case keys.
 * `precpu_stats` is the previous sample, so CPU % = Δcpu_usage.total_usage / Δsystem_cpu_usage × online_cpus × 100.
 * Empty (`{}`) when metrics are disabled or the check comes from AuthZ.
 */
export interface ContainerMetrics {
  read?: string;
  preread?: string;
  memory_stats?: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number> };
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: Record<string, unknown>;
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number; rx_packets?: number; tx_packets?: number }>;
}

/** What a container rule sees. The object is frozen: rules read, never write. */
export interface Container {
  /** Full 64-hex container id (empty for AuthZ create checks: the container does not exist yet). */
  readonly id: string;
  /** Name without the leading `/`. */
  readonly name: string;
  /** Image name; when `Config.Image` is a `sha256:` id, the image's first RepoTag. */
  readonly image: string;
  /** `docker inspect` object, Docker's key casing. `{}` when params are disabled. */
  readonly params: ContainerParams;
  /** One stats sample; `{}` when metrics are disabled. */
  readonly metrics: ContainerMetrics;
  /** 0-based index among running containers ordered by creation time, oldest first (`c.position >= 3` = "more than 3"). */
  readonly position: number;
  /** Which check produced this view. */
  readonly checkSource: CheckSource;
  /** TLS user name where known, else `'[unknown]'`. */
  readonly owner: string;
  /**
   * The host the container is on: for AuthZ checks from another host's dockerd (AUTHZ_TLS_PORT), the
   * CN of the certificate that dockerd presented; otherwise this enforcer's HOST_NAME.
   */
  readonly host: string;
  /**
   * The image-trust verdict on the image this container runs (TRUSTED_REGISTRIES); `null` when the
   * gate is off or the image was not verified. `key` is the fingerprint of the key that signed.
   */
  readonly imageTrust?: ImageTrust | null;
}

/** `c.imageTrust`: whether the image verified, and what vouched for it or why not. */
export interface ImageTrust {
  readonly trusted: boolean;
  readonly registry: string | null;
  readonly digest: string | null;
  readonly key: string | null;
  readonly reason: string | null;
}

/** A container rule: `rule` returns true when the container VIOLATES it. */
export interface ContainerRule {
  /** Shown in logs, detections and whitelists (`REGEX|rule name`). */
  name: string;
  /** Return a truthy value for a violation. Throwing also counts as a violation (fail-closed). */
  rule: (c: Container) => boolean;
  /** Overrides the global `MODE` for this rule. */
  mode?: Mode;
}

/** A custom whitelist rule: return true to skip rule `violatedRuleName` for container `c`. */
export interface WhitelistRule {
  name: string;
  rule: (c: Container, violatedRuleName: string) => boolean;
}

/** Identity, method and path of a Docker API request seen by the AuthZ plugin. */
export interface Request {
  /** HTTP method, e.g. `POST`. */
  readonly method: string;
  /** URI as sent by the client, e.g. `/v1.41/containers/create?name=web`. */
  readonly uri: string;
  /** Percent-decoded path without the `/v1.xx` prefix and query, e.g. `/containers/create`. */
  readonly path: string;
  /** API version from the prefix (`'1.41'`), or `''`. */
  readonly apiVersion: string;
  /** Parsed query string (as Go parses it); repeated keys become arrays. dockerd reads the first value of a repeated key. */
  readonly query: Readonly<Record<string, string | string[]>>;
  /** Named action such as `containersCreate`, `containersArchive`, `imagesCreate`; `unknown` for routes dockerd's table lacks. */
  readonly action: string;
  /** The action's family: `containers`, `exec`, `images`, `networks`, `volumes`, `swarm`, `nodes`, `services`, `tasks`, `secrets`, `configs`, `plugins`, `system`, `debug`; `unknown` with the action. */
  readonly namespace: string;
  /** Route variables as dockerd reads them: `name` (container, image, volume, plugin, exec routes), `id` (network, service, node, task, secret, config routes). */
  readonly vars: Readonly<Record<string, string>>;
  /**
   * The existing container the path names (`/containers/{id or name}/…`, exec create), as dockerd
   * resolves it (full id, name, or id prefix): looked up only when a rule reads it; `null` when dockerd
   * knows no such container (it answers 404 itself); undefined for other routes.
   */
  readonly container?: { readonly id: string; readonly name: string } | null;
  /** TLS client certificate user, or `''`. */
  readonly user: string;
  /** `'TLS'` when the user comes from a client certificate, else `''`. */
  readonly authMethod: string;
  /**
   * The host whose dockerd asks: the CN of the client certificate dockerd presented on AUTHZ_TLS_PORT
   * (the envelope itself names no host), else this enforcer's HOST_NAME.
   */
  readonly host: string;
  /** Request headers as dockerd forwarded them (authorization headers are stripped by dockerd). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The JSON body as dockerd decodes it: field names in Docker's casing whatever the client wrote,
   * keys dockerd ignores left out, `null`s applied as Go applies them; a create body's `HostConfig` is
   * the one dockerd will use (top-level HostConfig fields merged in). Undefined without a body.
   */
  readonly body: unknown;
  /** The AuthZ envelope as received, without `RequestBody` (read the decoded `body`). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** A request rule: `rule` returns true when the request VIOLATES it. */
export interface RequestRule {
  name: string;
  rule: (r: Request) => boolean;
  mode?: Mode;
}

/** What was done about a violation. */
export type ActionTaken = 'stopped' | 'denied' | 'warned';

/** Handed to triggers once per violation. */
export interface Verdict {
  readonly subject: Container | Request;
  readonly kind: 'container' | 'request';
  /** Violated rule names (or exception reasons). */
  readonly reasons: readonly string[];
  readonly mode: Mode;
  readonly action: ActionTaken;
  readonly checkSource: CheckSource;
  /** ISO 8601 UTC. */
  readonly time: string;
}

/** A trigger runs after every violation; it never delays a stop or an AuthZ reply. */
export interface Trigger {
  name: string;
  trigger: (v: Verdict) => void | Promise<void>;
}
