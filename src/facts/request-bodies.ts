/**
 * Which Engine API actions (routes.ts names) have a JSON request body, what dockerd decodes it
 * into, and how the handler treats it, in Docker 20.10 (v20.10.24) and the current engine.
 *
 * Where the versions differ, the table keeps the answer that makes the enforcer look at more:
 * `emptyBody` is 'rejected' only if every version rejects it, `checksContentType` is true only if
 * every version checks it (AuthZ plugins are only sent bodies declared as JSON, so a handler that
 * does not check the Content-Type decodes bodies the plugin never saw). `note` says who does what.
 *
 * How the body is read, beyond the entries:
 *  - 20.10 handlers call json.NewDecoder(body).Decode once: only the first JSON value is read and
 *    anything after it is ignored (plugin pull/upgrade excepted). Any decode error, io.EOF for an
 *    empty body included, fails the request unless the note says otherwise.
 *  - The current engine mostly uses httputils.ReadJSON: Content-Type check, then Content-Length 0
 *    (no body) decodes nothing and the handler goes on with the zero value; a body that is empty or
 *    only whitespace but sent chunked or with a length is io.EOF and fails; after the first value,
 *    json.Decoder.More() must be false (so only whitespace, or a next byte of `]` or `}`, may follow).
 */
import {
  AUTH_CONFIG,
  CHECKPOINT_CREATE_OPTIONS,
  CONFIG_SPEC,
  CONTAINER_CONFIG,
  COPY_CONFIG,
  EXEC_CONFIG,
  EXEC_START_CHECK,
  HOST_CONFIG,
  NETWORK_CONNECT,
  NETWORK_CREATE_REQUEST,
  NETWORK_DISCONNECT,
  NODE_SPEC,
  PLUGIN_PRIVILEGES,
  PLUGIN_SET_ARGS,
  SECRET_SPEC,
  SERVICE_SPEC,
  SWARM_INIT_REQUEST,
  SWARM_JOIN_REQUEST,
  SWARM_SPEC,
  SWARM_UNLOCK_REQUEST,
  UPDATE_CONFIG,
  VOLUME_CREATE_OPTIONS,
  VOLUME_UPDATE_OPTIONS,
} from './api-types';
import type { GoType } from './go-type';

export interface RequestBodySpec {
  /**
   * What the body is decoded into. For 'container-wrapper' bodies: the part the handler keeps
   * (CONTAINER_CONFIG for create and commit, HOST_CONFIG for the legacy start); the body itself
   * is runconfig's wrapper around it (see `decoder`).
   */
  readonly type: GoType;
  /**
   * 'container-wrapper': 20.10 decodes runconfig.ContainerConfigWrapper (container.Config fields at
   * the top level, `HostConfig`, `Cpuset`, `NetworkingConfig`, and container.HostConfig fields also
   * at the top level); the current engine decodes container.CreateRequest (no top-level HostConfig
   * fields) for create and a struct embedding container.Config for commit.
   */
  readonly decoder: 'json' | 'container-wrapper';
  /** What the handler does with an empty body (io.EOF, or no body at all); see the module comment. */
  readonly emptyBody: 'rejected' | 'accepted';
  /** The handler calls httputils.CheckForJSON (a body must be declared application/json). */
  readonly checksContentType: boolean;
  /** Version-dependent behaviour, ignored errors, conditions on reading the body. */
  readonly note?: string;
}

const SWARM_READ_JSON =
  '20.10: no Content-Type check, empty body rejected; current engine: httputils.ReadJSON (Content-Type checked, no body accepted as the zero value).';

export const REQUEST_BODIES: Readonly<Record<string, RequestBodySpec>> = {
  containersCreate: {
    type: CONTAINER_CONFIG,
    decoder: 'container-wrapper',
    emptyBody: 'rejected',
    checksContentType: true,
    note:
      '20.10: the wrapper\'s HostConfig is the top-level HostConfig fields when "HostConfig" is absent or null; otherwise the inner one, ' +
      'taking Memory, MemorySwap, CpuShares, CpusetCpus and VolumeDriver from the top level where its own are zero; "Cpuset" fills an empty CpusetCpus. ' +
      'Current engine: container.CreateRequest (top-level HostConfig fields ignored), a missing Config is rejected, content after the JSON value is rejected; ' +
      'for API < 1.52 it re-reads the body with json.Unmarshal (errors ignored) for a top-level "MacAddress" (network.HardwareAddr, moved to the endpoint) ' +
      'and "HostConfig.Capabilities" (non-empty at API 1.40: rejected). ' +
      '20.10: AutoRemove forced false for API < 1.25, KernelMemoryTCP dropped for API < 1.40. Both: BindOptions.NonRecursive dropped for API < 1.40. ' +
      'Current engine: more per-version checks on Mounts, Annotations (API 1.43+), several endpoints (API 1.44+), GwPriority (API 1.48+).',
  },
  containersStart: {
    type: HOST_CONFIG,
    decoder: 'container-wrapper',
    emptyBody: 'accepted',
    checksContentType: true,
    note:
      'The body is only looked at when Content-Length > 7 or unknown (chunked); shorter bodies are never read. ' +
      'Such a body is rejected unread for API >= 1.24 (20.10) and for every version (current engine). ' +
      '20.10 with API < 1.24: Content-Type checked, the whole wrapper decoded, its HostConfig (as for create) used; any decode error, io.EOF included, fails.',
  },
  imagesCommit: {
    type: CONTAINER_CONFIG,
    decoder: 'container-wrapper',
    emptyBody: 'accepted',
    checksContentType: true,
    note:
      '20.10: the whole wrapper is decoded and validated as for create (a bad HostConfig fails the commit) but only its Config is used; ' +
      'io.EOF (empty body) is ignored, every other error fails. ' +
      'Current engine: ReadJSON into a struct embedding *container.Config (no body: no config; other top-level keys ignored).',
  },
  containersUpdate: {
    type: UPDATE_CONFIG,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: true,
    note:
      '20.10: empty body rejected; current engine: ReadJSON. Only Resources and RestartPolicy are used. ' +
      'PidsLimit ignored for API < 1.40 (<= 0 means unlimited); current engine ignores the Blkio* lists for API < 1.55.',
  },
  execCreate: {
    type: EXEC_CONFIG,
    decoder: 'json',
    emptyBody: 'rejected',
    checksContentType: true,
    note:
      'Current engine: ReadJSON accepts no body, but the zero value has no Cmd and is rejected ("No exec command specified"). ' +
      'ConsoleSize ignored for API < 1.42.',
  },
  execStart: {
    type: EXEC_START_CHECK,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note:
      '20.10: Content-Type checked only for API > 1.21, empty body rejected; current engine: ReadJSON. ' +
      'ConsoleSize ignored for API < 1.42 or without Tty.',
  },
  networksCreate: {
    type: NETWORK_CREATE_REQUEST,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: true,
    note: '20.10: empty body rejected; current engine: ReadJSON. EnableIPv4 ignored for API < 1.48.',
  },
  networksConnect: {
    type: NETWORK_CONNECT,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: true,
    note: '20.10: empty body rejected; current engine: ReadJSON, EndpointConfig.MacAddress ignored for API < 1.54.',
  },
  networksDisconnect: {
    type: NETWORK_DISCONNECT,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: true,
    note: '20.10: empty body rejected; current engine: ReadJSON.',
  },
  volumesCreate: {
    type: VOLUME_CREATE_OPTIONS,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: true,
    note:
      '20.10: empty body rejected; current engine: ReadJSON, so no body creates a volume as `{}` would. ' +
      'ClusterVolumeSpec (current engine) makes it a cluster volume for API >= 1.42 and is ignored below.',
  },
  volumesUpdate: {
    type: VOLUME_UPDATE_OPTIONS,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: true,
    note:
      'Current engine only (`PUT /volumes/{name}`, cluster volumes). The body is read only on a swarm manager, ' +
      'after the form is parsed; the `version` query parameter is checked before the body.',
  },
  swarmInit: {
    type: SWARM_INIT_REQUEST,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: `${SWARM_READ_JSON} DefaultAddrPool and SubnetSize ignored for API < 1.39, DataPathPort for API < 1.40.`,
  },
  swarmJoin: { type: SWARM_JOIN_REQUEST, decoder: 'json', emptyBody: 'accepted', checksContentType: false, note: SWARM_READ_JSON },
  swarmUpdate: {
    type: SWARM_SPEC,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: `${SWARM_READ_JSON} The \`version\` query parameter is checked after the body.`,
  },
  swarmUnlock: { type: SWARM_UNLOCK_REQUEST, decoder: 'json', emptyBody: 'accepted', checksContentType: false, note: SWARM_READ_JSON },
  nodesUpdate: { type: NODE_SPEC, decoder: 'json', emptyBody: 'accepted', checksContentType: false, note: SWARM_READ_JSON },
  servicesCreate: {
    type: SERVICE_SPEC,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note:
      `${SWARM_READ_JSON} Fields newer than the request's API version are cleared afterwards (see the since-API comments); ` +
      'the current engine copies the top-level Networks into TaskTemplate.Networks for API < 1.44 when the latter is empty, and ignores it otherwise.',
  },
  servicesUpdate: {
    type: SERVICE_SPEC,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: `${SWARM_READ_JSON} As servicesCreate; the \`version\` query parameter is checked after the body.`,
  },
  secretsCreate: {
    type: SECRET_SPEC,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: `${SWARM_READ_JSON} Templating with API < 1.37 is rejected.`,
  },
  secretsUpdate: { type: SECRET_SPEC, decoder: 'json', emptyBody: 'accepted', checksContentType: false, note: SWARM_READ_JSON },
  configsCreate: {
    type: CONFIG_SPEC,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: `${SWARM_READ_JSON} Templating with API < 1.37 is rejected.`,
  },
  configsUpdate: { type: CONFIG_SPEC, decoder: 'json', emptyBody: 'accepted', checksContentType: false, note: SWARM_READ_JSON },
  pluginsInstall: {
    type: PLUGIN_PRIVILEGES,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note:
      '20.10: no Content-Type check, empty body rejected, content after the JSON value rejected (Decoder.More); ' +
      'current engine: ReadJSON (no body: no privileges granted).',
  },
  pluginsUpgrade: {
    type: PLUGIN_PRIVILEGES,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: 'As pluginsInstall.',
  },
  pluginsSet: {
    type: PLUGIN_SET_ARGS,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: '20.10: no Content-Type check, empty body rejected; current engine: ReadJSON (no body: nothing set).',
  },
  containersCheckpointCreate: {
    type: CHECKPOINT_CREATE_OPTIONS,
    decoder: 'json',
    emptyBody: 'accepted',
    checksContentType: false,
    note: '`POST /containers/{id}/checkpoints` (experimental daemons only). 20.10: no Content-Type check, empty body rejected; current engine: ReadJSON.',
  },
  auth: {
    type: AUTH_CONFIG,
    decoder: 'json',
    emptyBody: 'rejected',
    checksContentType: false,
    note:
      'No Content-Type check in either version. 20.10 decodes into a *AuthConfig, so a `null` body leaves it nil; ' +
      'the current engine (authconfig.DecodeRequestBody) rejects content after the JSON value.',
  },
  imagesPush: {
    type: AUTH_CONFIG,
    decoder: 'json',
    emptyBody: 'rejected',
    checksContentType: false,
    note:
      '20.10 only, and only when the X-Registry-Auth header is missing or empty (legacy clients); a decode error fails the push. ' +
      'The current engine never reads this body.',
  },
  containersCopy: {
    type: COPY_CONFIG,
    decoder: 'json',
    emptyBody: 'rejected',
    checksContentType: true,
    note: '20.10 only, API < 1.24 (newer versions get a 404 before the body is read); the route is gone from the current engine.',
  },
};
