/**
 * The container a `POST /containers/create` body asks for, as dockerd will build it. The body is
 * decoded the way runconfig decodes it: engines up to 26 read it into ContainerConfigWrapper, which
 * embeds both `*Config` and (deprecated) `*HostConfig`, so HostConfig fields written at the top level
 * are read too — and used whole when the nested `HostConfig` is absent, or merged into it for five
 * fields (Memory, MemorySwap, CpuShares, CpusetCpus, VolumeDriver) when present. Engines from 27 read
 * only the nested `HostConfig`. When the two readings differ, both are judged (the caller takes the
 * stricter outcome), so a top-level `"Privileged": true` cannot slip past on any engine.
 * The same wrapper is what `POST /commit` and, below API 1.24, `POST /containers/{id}/start` decode.
 */
import type { ContainerParams, HostConfig } from '../rules/api';
import { CONTAINER_CONFIG, HOST_CONFIG, NETWORKING_CONFIG } from './api-types';
import { fieldFor, GoDecoder, objectEntries } from './go-json';
import { ptr, string, struct, type GoType } from './go-type';

/** The wrapper's own fields (the promoted Config and HostConfig fields are looked up in their types). */
const WRAPPER_OWN = struct('ContainerConfigWrapper', {
  HostConfig: ptr(HOST_CONFIG),
  Cpuset: string,
  NetworkingConfig: ptr(NETWORKING_CONFIG),
});

export interface WrapperReading {
  /** `Config` (absent when the body names no Config field: dockerd then refuses a create). */
  readonly config: Record<string, unknown> | undefined;
  /** The HostConfig engines up to 26 use. */
  readonly legacyHostConfig: HostConfig | undefined;
  /** The HostConfig engines from 27 use. */
  readonly hostConfig: HostConfig | undefined;
  readonly networkingConfig: unknown;
  /** The body as the wrapper reads it: Config fields, `HostConfig` = the legacy reading, NetworkingConfig. */
  readonly body: Record<string, unknown>;
  readonly typeError?: string;
  readonly refused?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isZero(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || value === '';
}

const MERGED_FROM_TOP_LEVEL = ['Memory', 'MemorySwap', 'CpuShares', 'CpusetCpus', 'VolumeDriver'] as const;

/** SetDefaultNetModeIfBlank: dockerd stores `default` for an empty NetworkMode. */
function withDefaultNetworkMode(hostConfig: Record<string, unknown> | undefined): HostConfig | undefined {
  if (!hostConfig) return undefined;
  if (isZero(hostConfig['NetworkMode'])) hostConfig['NetworkMode'] = 'default';
  return hostConfig as HostConfig;
}

/** ContainerConfigWrapper.getHostConfig (engines 20.10 to 26). */
function legacyHostConfig(embedded: Record<string, unknown> | undefined, inner: Record<string, unknown> | undefined, cpuset: string): Record<string, unknown> | undefined {
  let hostConfig = embedded;
  if (!hostConfig && inner) hostConfig = inner;
  else if (hostConfig && inner) {
    for (const field of MERGED_FROM_TOP_LEVEL) if (!isZero(hostConfig[field]) && isZero(inner[field])) inner[field] = hostConfig[field];
    hostConfig = inner;
  }
  if (hostConfig && cpuset !== '' && isZero(hostConfig['CpusetCpus'])) hostConfig['CpusetCpus'] = cpuset;
  return hostConfig;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Reads a parsed create (or commit, or legacy start) body as the wrapper does. */
export function readContainerWrapper(parsed: unknown): WrapperReading {
  const decoder = new GoDecoder();
  const entries = objectEntries(parsed);
  let config: Record<string, unknown> | undefined;
  let embedded: Record<string, unknown> | undefined;
  const own: Record<string, unknown> = {};
  if (entries === undefined) {
    // null is ignored; anything else is a type error.
    if (parsed !== null) decoder.decode(parsed, WRAPPER_OWN, undefined, '');
  } else {
    for (const [key, child] of entries) {
      const ownField = fieldFor(WRAPPER_OWN, key);
      if (ownField !== undefined) {
        const decoded = decoder.decode(child, WRAPPER_OWN.fields[ownField]!, own[ownField], ownField);
        if (decoded !== undefined) own[ownField] = decoded;
        continue;
      }
      // Promoted fields: Go allocates the embedded pointer as soon as one of its fields is named,
      // even with `null`.
      const configField = fieldFor(CONTAINER_CONFIG, key);
      if (configField !== undefined) {
        config ??= {};
        assign(decoder, config, configField, CONTAINER_CONFIG.fields[configField]!, child);
        continue;
      }
      const hostField = fieldFor(HOST_CONFIG, key);
      if (hostField !== undefined) {
        embedded ??= {};
        assign(decoder, embedded, hostField, HOST_CONFIG.fields[hostField]!, child);
      }
    }
  }
  const inner = isRecord(own['HostConfig']) ? own['HostConfig'] : undefined;
  const cpuset = typeof own['Cpuset'] === 'string' ? own['Cpuset'] : '';
  // The legacy reading changes the nested HostConfig only when top-level fields or Cpuset are given:
  // otherwise both readings are the same object (no copy: ~9 µs on a captured create).
  const shared = embedded === undefined && cpuset === '';
  const modern = withDefaultNetworkMode(shared ? inner : clone(inner));
  const legacy = shared ? modern : withDefaultNetworkMode(legacyHostConfig(embedded, inner, cpuset));
  const body: Record<string, unknown> = { ...(config ?? {}) };
  if (legacy) body['HostConfig'] = legacy;
  if (own['NetworkingConfig'] !== undefined) body['NetworkingConfig'] = own['NetworkingConfig'];
  const result = decoder.result(undefined);
  return {
    config,
    legacyHostConfig: legacy,
    hostConfig: modern,
    networkingConfig: own['NetworkingConfig'],
    body,
    ...(result.typeError !== undefined ? { typeError: result.typeError } : {}),
    ...(result.refused !== undefined ? { refused: result.refused } : {}),
  };
}

function assign(decoder: GoDecoder, target: Record<string, unknown>, field: string, type: GoType, child: unknown): void {
  const decoded = decoder.decode(child, type, target[field], field);
  if (decoded !== undefined) target[field] = decoded;
}

/**
 * The container(s) a create would produce, in `docker inspect` shape: one view, or two when the
 * engines that read top-level HostConfig fields would build a different container than the newer ones.
 */
export function containersFromCreate(reading: WrapperReading, name: string): ContainerParams[] {
  // Views share the decoded objects: nothing downstream changes them (rules get a JSON copy).
  const view = (hostConfig: HostConfig | undefined): ContainerParams => ({ Name: name === '' ? '' : `/${name}`, Config: reading.config ?? {}, HostConfig: hostConfig ?? {} });
  const legacy = view(reading.legacyHostConfig);
  if (reading.legacyHostConfig === reading.hostConfig) return [legacy];
  const modern = view(reading.hostConfig);
  return JSON.stringify(legacy.HostConfig) === JSON.stringify(modern.HostConfig) ? [legacy] : [legacy, modern];
}

/**
 * The container after a legacy start (API < 1.24, engines up to 25) with a HostConfig body: dockerd
 * replaces the container's whole HostConfig with the one the wrapper yields; a body naming no
 * HostConfig field changes nothing.
 */
export function containerAfterLegacyStart(current: ContainerParams, reading: WrapperReading): ContainerParams {
  return reading.legacyHostConfig ? { ...current, HostConfig: clone(reading.legacyHostConfig) } : current;
}
