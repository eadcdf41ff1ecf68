import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Mode } from './rules/api';
import { parseWhitelist, type Whitelist } from './engine/whitelist';
import { parsePeerList, type PeerList } from './util/peers';
import { normaliseRegistryHost, parseImageReference } from './facts/image-reference';
import { loadSigningKeys } from './policies/image-trust/keys';
import type { ImageTrustSettings } from './policies/image-trust/settings';
import { loadRegistryCredentials } from './registry/credentials';

/** Where and how to reach dockerd, derived from DOCKER_SOCKET. */
export type DockerEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; protocol: 'http' | 'https'; host: string; port: number }
  /** DOCKER_SOCKET=none: the server profile, no engine on this machine (a central AuthZ server). */
  | { kind: 'none' };

/**
 * AUTHZ_TLS_*: the plugin endpoints (and /health) over HTTPS on their own port, for dockerds on other
 * hosts. Every caller must present a client certificate the CA signed; its subject CN is the calling
 * host's name. The PEM texts are read (and parsed) when the configuration is loaded.
 */
export interface AuthzTlsSettings {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly port: number;
  /** AUTHZ_TLS_HOST: the address it listens on (default HTTP_HOST, so /metrics can stay on loopback while hosts reach this). */
  readonly host: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface Config {
  readonly version: string;
  readonly runPeriodic: boolean;
  readonly runStartEvents: boolean;
  readonly runUpdateEvents: boolean;
  readonly runRenameEvents: boolean;
  readonly checkIntervalS: number;
  readonly immediatePeriodicalStart: boolean;
  readonly dockerSocket: string;
  readonly dockerEndpoint: DockerEndpoint;
  readonly dockerReqTimeoutS: number;
  readonly mode: Mode;
  readonly cacheParams: boolean;
  readonly logLevel: LogLevel;
  readonly disableParams: boolean;
  readonly disableMetrics: boolean;
  readonly stopOnFirstViolation: boolean;
  readonly logAuthzRequests: boolean;
  readonly defaultActionAllow: boolean;
  readonly authzRequireBody: boolean;
  readonly authzSocket: string;
  /** AUTHZ_ON_HTTP_PORT: serve the plugin endpoints on HTTP_PORT too (AUTHZ_SOCKET always serves them). */
  readonly authzOnHttpPort: boolean;
  /** AUTHZ_ALLOWED_PEERS: who may call the plugin endpoints over TCP. */
  readonly authzAllowedPeers: PeerList;
  /** AUTHZ_TLS_CERT, AUTHZ_TLS_KEY, AUTHZ_TLS_CA, AUTHZ_TLS_PORT (all or none); undefined = no HTTPS listener. */
  readonly authzTls: AuthzTlsSettings | undefined;
  /** DOCKER_SOCKET=none: no engine here (no periodic checks, no events, /health without Docker). */
  readonly serverProfile: boolean;
  /** AUTHZ_ALLOW_UNKNOWN: allow actions this enforcer's route table lacks, even in KILL mode. */
  readonly authzAllowUnknown: boolean;
  /** SELF_CONTAINER: the enforcer's own container (id or name) when it runs in one; '' = detect. */
  readonly selfContainer: string;
  /** SELF_PROTECTION: AuthZ mode keeps non-admins from stopping, entering or reconfiguring the enforcer. */
  readonly selfProtection: boolean;
  /** SELF_PROTECTION_ADMINS: TLS users (client-certificate CN) exempt from self-protection. */
  readonly selfProtectionAdmins: readonly string[];
  /** SELF_PLUGIN_NAMES: the names dockerd knows the enforcer's plugin by (dockerd never tells a plugin its name). */
  readonly selfPluginNames: readonly string[];
  readonly whiteList: Whitelist;
  readonly imageWhiteList: Whitelist;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly stopTimeoutS: number;
  readonly ruleTimeoutMs: number;
  readonly rulesPath: string;
  readonly whitelistRulesPath: string;
  readonly requestRulesPath: string;
  readonly triggersPath: string;
  /** POLICIES_PATH and GROUPS_PATH: docker-leash policy files (both optional). */
  readonly policiesPath: string;
  readonly groupsPath: string;
  /** PACKS_PATH: built-in packs (cis-docker) and their settings; optional. */
  readonly packsPath: string;
  /** HOST_NAME: the host name policy rule sets match (`hosts:`). */
  readonly hostName: string;
  readonly rulesAllowedModules: readonly string[];
  readonly triggersAllowedModules: readonly string[];
  readonly triggerTimeoutMs: number;
  /** TRUSTED_REGISTRIES and friends; undefined = no image-trust gate (the default). */
  readonly imageTrust: ImageTrustSettings | undefined;
  /** TRIGGERS_ENV: names of environment variables triggers may read (e.g. a webhook URL). */
  readonly triggersEnv: readonly string[];
  readonly maxDetections: number;
  /** MAX_DETECTION_BYTES: the detection store's size bound (each detection's user-supplied parts are cut first). */
  readonly maxDetectionBytes: number;
  readonly scanConcurrency: number;
  /** RELOAD_ON_CHANGE: reload rules when a file in their folders changes (SIGHUP always reloads). */
  readonly reloadOnChange: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

// The original's defaults, plus the ones this implementation adds. Documented in the README table.
export const DEFAULTS: Readonly<Record<string, string>> = {
  RUN_PERIODIC: 'True',
  RUN_START_EVENTS: 'False',
  RUN_UPDATE_EVENTS: 'False',
  RUN_RENAME_EVENTS: 'False',
  CHECK_INTERVAL_S: '600',
  IMMEDIATE_PERIODICAL_START: 'False',
  DOCKER_SOCKET: 'unix:///var/run/docker.sock',
  DOCKER_REQ_TIMEOUT_S: '30',
  MODE: 'WARN',
  CACHE_PARAMS: 'True',
  LOG_LEVEL: 'INFO',
  DISABLE_PARAMS: 'False',
  DISABLE_METRICS: 'False',
  STOP_ON_FIRST_VIOLATION: 'True',
  LOG_AUTHZ_REQUESTS: 'False',
  DEFAULT_ACTION_ALLOW: 'True',
  AUTHZ_REQUIRE_BODY: 'True',
  AUTHZ_SOCKET: '',
  AUTHZ_ON_HTTP_PORT: 'True',
  AUTHZ_ALLOWED_PEERS: '127.0.0.0/8,::1',
  AUTHZ_ALLOW_UNKNOWN: 'False',
  // AUTHZ_TLS_CERT, AUTHZ_TLS_KEY, AUTHZ_TLS_CA, AUTHZ_TLS_PORT: unset (no HTTPS listener).
  // AUTHZ_TLS_HOST: unset = HTTP_HOST.
  SELF_CONTAINER: '',
  SELF_PROTECTION: 'True',
  SELF_PROTECTION_ADMINS: '',
  // The name the README registers the plugin under (enforcer.spec, enforcer.sock, "authorization-plugins").
  SELF_PLUGIN_NAMES: 'enforcer',
  // The original spared any container *named* docker-enforcer or docker_enforcer: anyone can take a
  // name. The enforcer's own container is spared by id instead (SELF_CONTAINER or detected).
  WHITE_LIST: '',
  IMAGE_WHITE_LIST: '',
  HTTP_HOST: '0.0.0.0',
  HTTP_PORT: '8888',
  STOP_TIMEOUT_S: '10',
  RULE_TIMEOUT_MS: '200',
  RULES_PATH: 'rules/rules.ts',
  WHITELIST_RULES_PATH: 'rules/whitelist_rules.ts',
  REQUEST_RULES_PATH: 'request_rules/request_rules.ts',
  TRIGGERS_PATH: 'triggers/triggers.ts',
  POLICIES_PATH: 'policies/policies.yml',
  GROUPS_PATH: 'policies/groups.yml',
  PACKS_PATH: 'rules/packs.yml',
  // HOST_NAME defaults to the machine's host name (read when the configuration is loaded).
  RULES_ALLOWED_MODULES: '',
  TRIGGERS_ALLOWED_MODULES: '',
  TRIGGER_TIMEOUT_MS: '5000',
  TRIGGERS_ENV: '',
  MAX_DETECTIONS: '10000',
  MAX_DETECTION_BYTES: '33554432',
  SCAN_CONCURRENCY: '100',
  RELOAD_ON_CHANGE: 'True',
  // Image trust: off unless TRUSTED_REGISTRIES (or img-authz-plugin's REGISTRY) names registries.
  TRUSTED_REGISTRIES: '',
  IMAGE_SIGNATURE_KEYS: '',
  IMAGE_TRUST_ALLOW_LOCAL_BUILDS: 'False',
  IMAGE_TRUST_TIMEOUT_MS: '5000',
  IMAGE_TRUST_CACHE_TTL_MS: '600000',
  IMAGE_TRUST_AUTH_FILE: '',
};

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  // Python logging names (the original's), then pino's own.
  notset: 'trace',
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  critical: 'fatal',
  fatal: 'fatal',
  trace: 'trace',
  silent: 'silent',
};

/** Collects problems instead of throwing, so every bad variable is reported in one go. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  raw(name: string): string {
    return this.env[name] ?? DEFAULTS[name] ?? '';
  }

  bool(name: string): boolean {
    const value = this.raw(name).trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name}=${JSON.stringify(this.raw(name))}: expected True/False (also true/false, 1/0, yes/no)`);
    return DEFAULTS[name] === 'True';
  }

  int(name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const text = this.raw(name).trim();
    const value = Number(text);
    if (text === '' || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(this.raw(name))}: expected a whole number from ${min} to ${max}`);
      return Number(DEFAULTS[name]);
    }
    return value;
  }

  list(name: string): string[] {
    return this.raw(name)
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
}

export function parseDockerSocket(value: string): DockerEndpoint | string {
  const text = value.trim();
  if (text.toLowerCase() === 'none') return { kind: 'none' };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    return socketPath.startsWith('/') ? { kind: 'unix', socketPath } : 'a unix socket needs an absolute path (unix:///var/run/docker.sock)';
  }
  if (text.startsWith('/')) return { kind: 'unix', socketPath: text };
  const match = /^(?:(tcp|http|https):\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(text);
  if (!match) return 'expected unix:///path, tcp://host:port, host:port or none';
  const [, scheme, host = '', portText = ''] = match;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${port} is out of range`;
  return { kind: 'tcp', protocol: scheme === 'https' ? 'https' : 'http', host: host.replace(/^\[|\]$/g, ''), port };
}

function parseMode(reader: EnvReader): Mode {
  const value = reader.raw('MODE').trim().toUpperCase();
  if (value === 'WARN' || value === 'KILL') return value;
  reader.problems.push(`MODE=${JSON.stringify(reader.raw('MODE'))}: expected WARN or KILL (any case)`);
  return 'WARN';
}

function parseLogLevel(reader: EnvReader): LogLevel {
  const level = LOG_LEVELS[reader.raw('LOG_LEVEL').trim().toLowerCase()];
  if (level) return level;
  reader.problems.push(`LOG_LEVEL=${JSON.stringify(reader.raw('LOG_LEVEL'))}: expected DEBUG, INFO, WARNING, ERROR, CRITICAL or trace/debug/info/warn/error/fatal/silent`);
  return 'info';
}

function readPeers(reader: EnvReader): PeerList {
  const { peers, errors } = parsePeerList(reader.list('AUTHZ_ALLOWED_PEERS'));
  for (const error of errors) reader.problems.push(`AUTHZ_ALLOWED_PEERS: ${error}`);
  return peers;
}

/**
 * The image-trust gate's settings. Key and credential files are read here, so a missing or wrong
 * file stops start-up with the others' problems instead of denying every image later.
 */
function readImageTrust(reader: EnvReader, env: Readonly<Record<string, string | undefined>>, resolvePath: (file: string) => string): ImageTrustSettings | undefined {
  if ((env['NOTARY'] ?? '').trim() !== '') {
    reader.problems.push('NOTARY: Notary (Docker Content Trust) is not supported; sign images with cosign and list the public keys in IMAGE_SIGNATURE_KEYS (see the README, "Image trust")');
  }
  const names = (env['TRUSTED_REGISTRIES'] ?? '').trim() !== '' ? 'TRUSTED_REGISTRIES' : (env['REGISTRY'] ?? '').trim() !== '' ? 'REGISTRY' : undefined;
  const keyFiles = reader.list('IMAGE_SIGNATURE_KEYS').map(resolvePath);
  const timeoutMs = reader.int('IMAGE_TRUST_TIMEOUT_MS', 1, 600_000);
  const cacheTtlMs = reader.int('IMAGE_TRUST_CACHE_TTL_MS', 0, 7 * 24 * 3600 * 1000);
  const allowLocalBuilds = reader.bool('IMAGE_TRUST_ALLOW_LOCAL_BUILDS');
  const authFileText = reader.raw('IMAGE_TRUST_AUTH_FILE').trim();
  if (!names) {
    if (keyFiles.length > 0) reader.problems.push('IMAGE_SIGNATURE_KEYS is set but TRUSTED_REGISTRIES is not: name the registries whose images must be signed');
    return undefined;
  }
  const registries: string[] = [];
  // A gate that trusts no registry would deny every image: `,` is a mistake, not a policy.
  if (reader.list(names).length === 0) reader.problems.push(`${names}=${JSON.stringify(reader.raw(names))}: names no registry; leave it unset for no image gate`);
  for (const entry of reader.list(names)) {
    const host = normaliseRegistryHost(entry);
    if (host.ok) registries.push(host.host);
    else reader.problems.push(`${names}: ${JSON.stringify(entry)}: ${host.problem}`);
  }
  const { keys, errors } = loadSigningKeys(keyFiles);
  reader.problems.push(...errors);
  let credentials;
  if (authFileText !== '') {
    const loaded = loadRegistryCredentials(resolvePath(authFileText));
    reader.problems.push(...loaded.errors);
    credentials = loaded.credentials;
  }
  return {
    registries: [...new Set(registries)],
    keys,
    allowLocalBuilds,
    timeoutMs,
    cacheTtlMs,
    ...(authFileText !== '' ? { authFile: resolvePath(authFileText) } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

const TLS_NAMES = ['AUTHZ_TLS_CERT', 'AUTHZ_TLS_KEY', 'AUTHZ_TLS_CA', 'AUTHZ_TLS_PORT'] as const;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A file's text, or a problem naming the variable and the file. */
function readPemFile(reader: EnvReader, name: string, file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err: unknown) {
    reader.problems.push(`${name}=${JSON.stringify(file)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
}

/** Whether every PEM certificate in `text` parses; the problem otherwise. */
function certificatesProblem(text: string): string | undefined {
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err: unknown) {
      return `certificate ${i + 1} does not parse (${(err as Error).message})`;
    }
  }
  return undefined;
}

/**
 * AUTHZ_TLS_*: all four or none. The files are read and parsed here, so a wrong path or a key that
 * is not the certificate's stops start-up with the other problems instead of at the first call.
 */
function readAuthzTls(reader: EnvReader, env: Readonly<Record<string, string | undefined>>, resolvePath: (file: string) => string): AuthzTlsSettings | undefined {
  const given = TLS_NAMES.filter((name) => (env[name] ?? '').trim() !== '');
  if (given.length === 0) {
    if ((env['AUTHZ_TLS_HOST'] ?? '').trim() !== '') reader.problems.push('AUTHZ_TLS_HOST is set without AUTHZ_TLS_CERT, AUTHZ_TLS_KEY, AUTHZ_TLS_CA and AUTHZ_TLS_PORT: there is no HTTPS listener to place');
    return undefined;
  }
  if (given.length < TLS_NAMES.length) {
    const missing = TLS_NAMES.filter((name) => !given.includes(name));
    reader.problems.push(`${given.join(', ')} set without ${missing.join(', ')}: the HTTPS AuthZ listener needs all four (or none)`);
    return undefined;
  }
  const problemsBefore = reader.problems.length;
  const port = reader.int('AUTHZ_TLS_PORT', 1, 65535);
  const files = { cert: resolvePath(env['AUTHZ_TLS_CERT']!.trim()), key: resolvePath(env['AUTHZ_TLS_KEY']!.trim()), ca: resolvePath(env['AUTHZ_TLS_CA']!.trim()) };
  const cert = readPemFile(reader, 'AUTHZ_TLS_CERT', files.cert);
  const key = readPemFile(reader, 'AUTHZ_TLS_KEY', files.key);
  const ca = readPemFile(reader, 'AUTHZ_TLS_CA', files.ca);
  let leaf: X509Certificate | undefined;
  if (cert !== undefined) {
    const problem = certificatesProblem(cert);
    if (problem) reader.problems.push(`AUTHZ_TLS_CERT=${JSON.stringify(files.cert)}: ${problem}`);
    else leaf = new X509Certificate(cert);
  }
  if (ca !== undefined) {
    const problem = certificatesProblem(ca);
    if (problem) reader.problems.push(`AUTHZ_TLS_CA=${JSON.stringify(files.ca)}: ${problem}`);
  }
  if (key !== undefined) {
    try {
      const privateKey = createPrivateKey(key);
      if (leaf && !leaf.checkPrivateKey(privateKey)) reader.problems.push(`AUTHZ_TLS_KEY=${JSON.stringify(files.key)}: is not the key of the certificate in AUTHZ_TLS_CERT`);
    } catch (err: unknown) {
      reader.problems.push(`AUTHZ_TLS_KEY=${JSON.stringify(files.key)}: not a PEM private key (${(err as Error).message})`);
    }
  }
  const host = (env['AUTHZ_TLS_HOST'] ?? '').trim() || reader.raw('HTTP_HOST').trim();
  if (reader.problems.length > problemsBefore || cert === undefined || key === undefined || ca === undefined) return undefined;
  return { certFile: files.cert, keyFile: files.key, caFile: files.ca, port, host, cert, key, ca };
}

/**
 * DOCKER_SOCKET=none (the server profile): nothing here to scan or to follow, so periodic checks and
 * events are off. Asking for them explicitly is a mistake worth stopping for, not a silent no-op.
 */
function serverProfileProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  for (const name of ['RUN_PERIODIC', 'RUN_START_EVENTS', 'RUN_UPDATE_EVENTS', 'RUN_RENAME_EVENTS', 'IMMEDIATE_PERIODICAL_START']) {
    const value = (env[name] ?? '').trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(value)) problems.push(`${name}=${JSON.stringify(env[name])}: DOCKER_SOCKET=none has no engine to scan or follow; leave it unset or False`);
  }
  return problems;
}

/** SELF_PLUGIN_NAMES: plugin names as dockerd parses them (a name it would refuse can never be the plugin's). */
function readPluginNames(reader: EnvReader): string[] {
  const names = reader.list('SELF_PLUGIN_NAMES');
  for (const name of names) {
    const parsed = parseImageReference(name);
    if (!parsed.ok) reader.problems.push(`SELF_PLUGIN_NAMES: ${JSON.stringify(name)}: ${parsed.problem}`);
    else if (parsed.ref.digest !== undefined) reader.problems.push(`SELF_PLUGIN_NAMES: ${JSON.stringify(name)}: a plugin is named without a digest`);
  }
  return [...new Set(names)];
}

function readWhitelist(reader: EnvReader, name: string): Whitelist {
  const { whitelist, errors } = parseWhitelist(reader.list(name));
  for (const error of errors) reader.problems.push(`${name}: ${error}`);
  return whitelist;
}

/** Reads the environment into a frozen Config, or throws one ConfigError listing every problem. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, cwd: string, version: string): Config {
  const reader = new EnvReader(env);
  const endpoint = parseDockerSocket(reader.raw('DOCKER_SOCKET'));
  if (typeof endpoint === 'string') reader.problems.push(`DOCKER_SOCKET=${JSON.stringify(reader.raw('DOCKER_SOCKET'))}: ${endpoint}`);
  const resolvePath = (name: string): string => path.resolve(cwd, reader.raw(name).trim());
  const serverProfile = typeof endpoint !== 'string' && endpoint.kind === 'none';
  if (serverProfile) reader.problems.push(...serverProfileProblems(env));
  // The server profile turns off what needs an engine here (read anyway, so bad spellings are reported).
  const local = (on: boolean): boolean => on && !serverProfile;

  const config: Config = {
    version,
    runPeriodic: local(reader.bool('RUN_PERIODIC')),
    runStartEvents: local(reader.bool('RUN_START_EVENTS')),
    runUpdateEvents: local(reader.bool('RUN_UPDATE_EVENTS')),
    runRenameEvents: local(reader.bool('RUN_RENAME_EVENTS')),
    checkIntervalS: reader.int('CHECK_INTERVAL_S', 1),
    immediatePeriodicalStart: reader.bool('IMMEDIATE_PERIODICAL_START'),
    dockerSocket: reader.raw('DOCKER_SOCKET').trim(),
    dockerEndpoint: typeof endpoint === 'string' ? { kind: 'unix', socketPath: '/var/run/docker.sock' } : endpoint,
    dockerReqTimeoutS: reader.int('DOCKER_REQ_TIMEOUT_S', 1, 3600),
    mode: parseMode(reader),
    cacheParams: reader.bool('CACHE_PARAMS'),
    logLevel: parseLogLevel(reader),
    disableParams: reader.bool('DISABLE_PARAMS'),
    disableMetrics: reader.bool('DISABLE_METRICS'),
    stopOnFirstViolation: reader.bool('STOP_ON_FIRST_VIOLATION'),
    logAuthzRequests: reader.bool('LOG_AUTHZ_REQUESTS'),
    defaultActionAllow: reader.bool('DEFAULT_ACTION_ALLOW'),
    authzRequireBody: reader.bool('AUTHZ_REQUIRE_BODY'),
    authzSocket: reader.raw('AUTHZ_SOCKET').trim(),
    authzOnHttpPort: reader.bool('AUTHZ_ON_HTTP_PORT'),
    authzAllowedPeers: readPeers(reader),
    authzAllowUnknown: reader.bool('AUTHZ_ALLOW_UNKNOWN'),
    authzTls: readAuthzTls(reader, env, (file) => path.resolve(cwd, file)),
    serverProfile,
    selfContainer: reader.raw('SELF_CONTAINER').trim(),
    selfProtection: reader.bool('SELF_PROTECTION'),
    selfProtectionAdmins: [...new Set(reader.list('SELF_PROTECTION_ADMINS'))],
    selfPluginNames: readPluginNames(reader),
    whiteList: readWhitelist(reader, 'WHITE_LIST'),
    imageWhiteList: readWhitelist(reader, 'IMAGE_WHITE_LIST'),
    httpHost: reader.raw('HTTP_HOST').trim(),
    httpPort: reader.int('HTTP_PORT', 0, 65535),
    stopTimeoutS: reader.int('STOP_TIMEOUT_S', 0, 3600),
    ruleTimeoutMs: reader.int('RULE_TIMEOUT_MS', 1, 60_000),
    rulesPath: resolvePath('RULES_PATH'),
    whitelistRulesPath: resolvePath('WHITELIST_RULES_PATH'),
    requestRulesPath: resolvePath('REQUEST_RULES_PATH'),
    triggersPath: resolvePath('TRIGGERS_PATH'),
    policiesPath: resolvePath('POLICIES_PATH'),
    groupsPath: resolvePath('GROUPS_PATH'),
    packsPath: resolvePath('PACKS_PATH'),
    hostName: (env['HOST_NAME'] ?? os.hostname()).trim(),
    rulesAllowedModules: reader.list('RULES_ALLOWED_MODULES'),
    triggersAllowedModules: reader.list('TRIGGERS_ALLOWED_MODULES'),
    triggerTimeoutMs: reader.int('TRIGGER_TIMEOUT_MS', 1, 600_000),
    triggersEnv: reader.list('TRIGGERS_ENV'),
    maxDetections: reader.int('MAX_DETECTIONS', 1, 10_000_000),
    maxDetectionBytes: reader.int('MAX_DETECTION_BYTES', 65_536, 4 * 1024 ** 3),
    scanConcurrency: reader.int('SCAN_CONCURRENCY', 1, 1000),
    reloadOnChange: reader.bool('RELOAD_ON_CHANGE'),
    imageTrust: readImageTrust(reader, env, (file) => path.resolve(cwd, file)),
  };
  if (config.httpHost === '') reader.problems.push('HTTP_HOST is empty: expected an address such as 0.0.0.0 or 127.0.0.1');
  if (config.authzSocket !== '' && !path.isAbsolute(config.authzSocket)) {
    reader.problems.push(`AUTHZ_SOCKET=${JSON.stringify(config.authzSocket)}: expected an absolute path`);
  }
  if (config.authzTls && config.authzTls.port === config.httpPort) {
    reader.problems.push(`AUTHZ_TLS_PORT=${config.authzTls.port}: is HTTP_PORT too; the HTTPS AuthZ listener needs a port of its own`);
  }
  if (config.hostName === '') reader.problems.push('HOST_NAME is empty: expected the host name policy rule sets match');
  if (config.selfContainer !== '' && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(config.selfContainer)) {
    reader.problems.push(`SELF_CONTAINER=${JSON.stringify(config.selfContainer)}: expected a container id or name`);
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return Object.freeze(config);
}

/** The configuration as `/config` shows it: the original's keys first, then this implementation's. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    cache_params: config.cacheParams,
    default_allow: config.defaultActionAllow,
    disable_metrics: config.disableMetrics,
    disable_params: config.disableParams,
    docker_req_timeout_sec: config.dockerReqTimeoutS,
    docker_socket: config.dockerSocket,
    image_white_list: config.imageWhiteList.entries,
    immediate_periodical_start: config.immediatePeriodicalStart,
    interval_sec: config.checkIntervalS,
    log_authz_requests: config.logAuthzRequests,
    log_level: config.logLevel,
    mode: config.mode,
    run_periodic: config.runPeriodic,
    run_rename_events: config.runRenameEvents,
    run_start_events: config.runStartEvents,
    run_update_events: config.runUpdateEvents,
    stop_on_first_violation: config.stopOnFirstViolation,
    version: config.version,
    white_list: config.whiteList.entries,
    white_list_separator: '|',
    authz_require_body: config.authzRequireBody,
    authz_socket: config.authzSocket,
    authz_on_http_port: config.authzOnHttpPort,
    authz_allowed_peers: config.authzAllowedPeers.entries,
    authz_allow_unknown: config.authzAllowUnknown,
    authz_tls_cert: config.authzTls?.certFile ?? null,
    authz_tls_key: config.authzTls?.keyFile ?? null,
    authz_tls_ca: config.authzTls?.caFile ?? null,
    authz_tls_port: config.authzTls?.port ?? null,
    authz_tls_host: config.authzTls?.host ?? null,
    server_profile: config.serverProfile,
    self_container: config.selfContainer,
    self_protection: config.selfProtection,
    self_protection_admins: config.selfProtectionAdmins,
    self_plugin_names: config.selfPluginNames,
    max_detection_bytes: config.maxDetectionBytes,
    http_host: config.httpHost,
    http_port: config.httpPort,
    max_detections: config.maxDetections,
    request_rules_path: config.requestRulesPath,
    rule_timeout_ms: config.ruleTimeoutMs,
    rules_allowed_modules: config.rulesAllowedModules,
    rules_path: config.rulesPath,
    reload_on_change: config.reloadOnChange,
    scan_concurrency: config.scanConcurrency,
    stop_timeout_sec: config.stopTimeoutS,
    trigger_timeout_ms: config.triggerTimeoutMs,
    triggers_allowed_modules: config.triggersAllowedModules,
    triggers_env: config.triggersEnv,
    triggers_path: config.triggersPath,
    policies_path: config.policiesPath,
    groups_path: config.groupsPath,
    packs_path: config.packsPath,
    host_name: config.hostName,
    whitelist_rules_path: config.whitelistRulesPath,
    trusted_registries: config.imageTrust?.registries ?? [],
    image_signature_keys: config.imageTrust?.keys.map((key) => key.file) ?? [],
    image_trust_allow_local_builds: config.imageTrust?.allowLocalBuilds ?? false,
    image_trust_timeout_ms: config.imageTrust?.timeoutMs ?? null,
    image_trust_auth_file: config.imageTrust?.authFile ?? null,
  };
}
