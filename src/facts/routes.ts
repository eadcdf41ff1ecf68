/**
 * Docker Engine API routes -> named actions (docker-leash's naming), in dockerd's own routing order
 * and with its own patterns, so the action judged is the handler dockerd runs. dockerd (gorilla/mux)
 * registers every route twice, with and without a `/v{version:[0-9.]+}` prefix, matches on the
 * percent-decoded path, takes the first route that matches, and lets `{name:.*}` span slashes. The
 * debug routes have no version prefix and take any method on 20.10; `OPTIONS` goes to one handler
 * for every path. The table is the union of engine 20.10 and the newest API; a request that matches
 * nothing here is `unknown` (denied in KILL mode unless AUTHZ_ALLOW_UNKNOWN).
 */

export type Namespace =
  | 'containers'
  | 'exec'
  | 'images'
  | 'networks'
  | 'volumes'
  | 'swarm'
  | 'nodes'
  | 'services'
  | 'tasks'
  | 'secrets'
  | 'configs'
  | 'plugins'
  | 'system'
  | 'debug';

export const NAMESPACES: readonly Namespace[] = ['containers', 'exec', 'images', 'networks', 'volumes', 'swarm', 'nodes', 'services', 'tasks', 'secrets', 'configs', 'plugins', 'system', 'debug'];

/** What the route's body is to dockerd: JSON it decodes (see request-bodies.ts), a stream (tar, hijacked connection), or nothing. */
export type BodyKind = 'json' | 'stream' | 'none';

type Route = readonly [method: string, pattern: string, action: string, namespace: Namespace, body?: BodyKind];

/** In dockerd's registration order (routers: checkpoint, container, image, system, volume, build, session, swarm, plugin, distribution, grpc, network; then debug). */
const ROUTES: readonly Route[] = [
  // checkpoints come first so DELETE …/checkpoints/{checkpoint} is not taken for a container removal
  ['GET', '/containers/{name:.*}/checkpoints', 'containersCheckpointList', 'containers'],
  ['POST', '/containers/{name:.*}/checkpoints', 'containersCheckpointCreate', 'containers', 'json'],
  ['DELETE', '/containers/{name}/checkpoints/{checkpoint}', 'containersCheckpointDelete', 'containers'],

  ['HEAD', '/containers/{name:.*}/archive', 'containersArchive', 'containers'],
  ['GET', '/containers/json', 'containersList', 'containers'],
  ['GET', '/containers/{name:.*}/export', 'containersExport', 'containers'],
  ['GET', '/containers/{name:.*}/changes', 'containersChanges', 'containers'],
  ['GET', '/containers/{name:.*}/json', 'containersInspect', 'containers'],
  ['GET', '/containers/{name:.*}/top', 'containersListProcess', 'containers'],
  ['GET', '/containers/{name:.*}/logs', 'containersLogs', 'containers'],
  ['GET', '/containers/{name:.*}/stats', 'containersStats', 'containers'],
  ['GET', '/containers/{name:.*}/attach/ws', 'containersAttachWebsocket', 'containers', 'stream'],
  ['GET', '/exec/{id:.*}/json', 'execInspect', 'exec'],
  ['GET', '/containers/{name:.*}/archive', 'containersArchive', 'containers'],
  ['POST', '/containers/create', 'containersCreate', 'containers', 'json'],
  ['POST', '/containers/{name:.*}/kill', 'containersKill', 'containers'],
  ['POST', '/containers/{name:.*}/pause', 'containersPause', 'containers'],
  ['POST', '/containers/{name:.*}/unpause', 'containersUnpause', 'containers'],
  ['POST', '/containers/{name:.*}/restart', 'containersRestart', 'containers'],
  ['POST', '/containers/{name:.*}/start', 'containersStart', 'containers', 'json'],
  ['POST', '/containers/{name:.*}/stop', 'containersStop', 'containers'],
  ['POST', '/containers/{name:.*}/wait', 'containersWait', 'containers'],
  ['POST', '/containers/{name:.*}/resize', 'containersResizeTTY', 'containers'],
  ['POST', '/containers/{name:.*}/attach', 'containersAttach', 'containers', 'stream'],
  ['POST', '/containers/{name:.*}/copy', 'containersCopy', 'containers', 'json'],
  ['POST', '/containers/{name:.*}/exec', 'execCreate', 'exec', 'json'],
  ['POST', '/exec/{name:.*}/start', 'execStart', 'exec', 'json'],
  ['POST', '/exec/{name:.*}/resize', 'execResize', 'exec'],
  ['POST', '/containers/{name:.*}/rename', 'containersRename', 'containers'],
  ['POST', '/containers/{name:.*}/update', 'containersUpdate', 'containers', 'json'],
  ['POST', '/containers/prune', 'containersPrune', 'containers'],
  ['POST', '/commit', 'imagesCommit', 'images', 'json'],
  ['PUT', '/containers/{name:.*}/archive', 'containersArchive', 'containers', 'stream'],
  ['DELETE', '/containers/{name:.*}', 'containersRemove', 'containers'],

  ['GET', '/images/json', 'imagesList', 'images'],
  ['GET', '/images/search', 'imagesSearch', 'images'],
  ['GET', '/images/get', 'imagesExportMultiple', 'images'],
  ['GET', '/images/{name:.*}/get', 'imagesExport', 'images'],
  ['GET', '/images/{name:.*}/history', 'imagesHistory', 'images'],
  ['GET', '/images/{name:.*}/json', 'imagesInspect', 'images'],
  ['GET', '/images/{name:.*}/attestations', 'imagesAttestations', 'images'],
  ['POST', '/images/load', 'imagesLoad', 'images', 'stream'],
  ['POST', '/images/create', 'imagesCreate', 'images', 'stream'],
  ['POST', '/images/{name:.*}/push', 'imagesPush', 'images'],
  ['POST', '/images/{name:.*}/tag', 'imagesTag', 'images'],
  ['POST', '/images/prune', 'imagesPrune', 'images'],
  ['DELETE', '/images/{name:.*}', 'imagesRemove', 'images'],

  ['OPTIONS', '/{anyroute:.*}', 'options', 'system'],
  ['GET', '/_ping', 'ping', 'system'],
  ['HEAD', '/_ping', 'ping', 'system'],
  ['GET', '/events', 'events', 'system'],
  ['GET', '/info', 'info', 'system'],
  ['GET', '/version', 'version', 'system'],
  ['GET', '/system/df', 'systemDataUsage', 'system'],
  // dockerd never forwards this body (URIs ending in /auth are skipped): registry credentials.
  ['POST', '/auth', 'auth', 'system'],

  ['GET', '/volumes', 'volumesList', 'volumes'],
  ['GET', '/volumes/{name:.*}', 'volumesInspect', 'volumes'],
  ['POST', '/volumes/create', 'volumesCreate', 'volumes', 'json'],
  ['POST', '/volumes/prune', 'volumesPrune', 'volumes'],
  ['PUT', '/volumes/{name:.*}', 'volumesUpdate', 'volumes', 'json'],
  ['DELETE', '/volumes/{name:.*}', 'volumesRemove', 'volumes'],

  ['POST', '/build', 'imagesBuild', 'images', 'stream'],
  ['POST', '/build/prune', 'buildPrune', 'images'],
  ['POST', '/build/cancel', 'buildCancel', 'images'],
  ['POST', '/session', 'session', 'system', 'stream'],

  ['POST', '/swarm/init', 'swarmInit', 'swarm', 'json'],
  ['POST', '/swarm/join', 'swarmJoin', 'swarm', 'json'],
  ['POST', '/swarm/leave', 'swarmLeave', 'swarm'],
  ['GET', '/swarm', 'swarmInspect', 'swarm'],
  ['GET', '/swarm/unlockkey', 'swarmUnlockKey', 'swarm'],
  ['POST', '/swarm/update', 'swarmUpdate', 'swarm', 'json'],
  ['POST', '/swarm/unlock', 'swarmUnlock', 'swarm', 'json'],
  ['GET', '/services', 'servicesList', 'services'],
  ['GET', '/services/{id}', 'servicesInspect', 'services'],
  ['POST', '/services/create', 'servicesCreate', 'services', 'json'],
  ['POST', '/services/{id}/update', 'servicesUpdate', 'services', 'json'],
  ['DELETE', '/services/{id}', 'servicesRemove', 'services'],
  ['GET', '/services/{id}/logs', 'servicesLogs', 'services'],
  ['GET', '/nodes', 'nodesList', 'nodes'],
  ['GET', '/nodes/{id}', 'nodesInspect', 'nodes'],
  ['DELETE', '/nodes/{id}', 'nodesRemove', 'nodes'],
  ['POST', '/nodes/{id}/update', 'nodesUpdate', 'nodes', 'json'],
  ['GET', '/tasks', 'tasksList', 'tasks'],
  ['GET', '/tasks/{id}', 'tasksInspect', 'tasks'],
  ['GET', '/tasks/{id}/logs', 'tasksLogs', 'tasks'],
  ['GET', '/secrets', 'secretsList', 'secrets'],
  ['POST', '/secrets/create', 'secretsCreate', 'secrets', 'json'],
  ['DELETE', '/secrets/{id}', 'secretsRemove', 'secrets'],
  ['GET', '/secrets/{id}', 'secretsInspect', 'secrets'],
  ['POST', '/secrets/{id}/update', 'secretsUpdate', 'secrets', 'json'],
  ['GET', '/configs', 'configsList', 'configs'],
  ['POST', '/configs/create', 'configsCreate', 'configs', 'json'],
  ['DELETE', '/configs/{id}', 'configsRemove', 'configs'],
  ['GET', '/configs/{id}', 'configsInspect', 'configs'],
  ['POST', '/configs/{id}/update', 'configsUpdate', 'configs', 'json'],

  ['GET', '/plugins', 'pluginsList', 'plugins'],
  ['GET', '/plugins/{name:.*}/json', 'pluginsInspect', 'plugins'],
  ['GET', '/plugins/privileges', 'pluginsPrivileges', 'plugins'],
  ['DELETE', '/plugins/{name:.*}', 'pluginsRemove', 'plugins'],
  ['POST', '/plugins/{name:.*}/enable', 'pluginsEnable', 'plugins'],
  ['POST', '/plugins/{name:.*}/disable', 'pluginsDisable', 'plugins'],
  ['POST', '/plugins/pull', 'pluginsInstall', 'plugins', 'json'],
  ['POST', '/plugins/{name:.*}/push', 'pluginsPush', 'plugins'],
  ['POST', '/plugins/{name:.*}/upgrade', 'pluginsUpgrade', 'plugins', 'json'],
  ['POST', '/plugins/{name:.*}/set', 'pluginsSet', 'plugins', 'json'],
  ['POST', '/plugins/create', 'pluginsCreate', 'plugins', 'stream'],

  ['GET', '/distribution/{name:.*}/json', 'distributionInspect', 'images'],
  ['POST', '/grpc', 'grpc', 'system', 'stream'],

  ['GET', '/networks', 'networksList', 'networks'],
  ['GET', '/networks/', 'networksList', 'networks'],
  ['GET', '/networks/{id:.+}', 'networksInspect', 'networks'],
  ['POST', '/networks/create', 'networksCreate', 'networks', 'json'],
  ['POST', '/networks/{id:.*}/connect', 'networksConnect', 'networks', 'json'],
  ['POST', '/networks/{id:.*}/disconnect', 'networksDisconnect', 'networks', 'json'],
  ['POST', '/networks/prune', 'networksPrune', 'networks'],
  ['DELETE', '/networks/{id:.*}', 'networksRemove', 'networks'],

  // 20.10 registers these without a version prefix and for every method; newer engines as GET routes.
  ['*', '/debug/vars', 'debugVars', 'debug'],
  ['*', '/debug/pprof/', 'debugPprof', 'debug'],
  ['*', '/debug/pprof/cmdline', 'debugPprof', 'debug'],
  ['*', '/debug/pprof/profile', 'debugPprof', 'debug'],
  ['*', '/debug/pprof/symbol', 'debugPprof', 'debug'],
  ['*', '/debug/pprof/trace', 'debugPprof', 'debug'],
  ['*', '/debug/pprof/{name}', 'debugPprof', 'debug'],
];

/** docker-leash's names for the archive routes, accepted wherever an action is named. */
export const ACTION_ALIASES: Readonly<Record<string, string>> = {
  containersGetInfoAboutFiles: 'containersArchive',
  containersGetFilesystemArchive: 'containersArchive',
  containersExtractArchiveToDirectory: 'containersArchive',
};

export interface MatchedRoute {
  readonly action: string;
  readonly namespace: Namespace | 'unknown';
  readonly body: BodyKind;
  /** Route variables, e.g. `{ name: 'web' }` for `/containers/web/json`. */
  readonly vars: Readonly<Record<string, string>>;
  /** The API version prefix as routed ('' when absent). */
  readonly apiVersion: string;
}

interface CompiledRoute {
  readonly method: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly action: string;
  readonly namespace: Namespace;
  readonly body: BodyKind;
}

// Go's regexp `.` matches anything but `\n`; JavaScript's would also stop at \r, \u2028 and \u2029.
const GO_DOT = '[^\\n]';

function compile([method, pattern, action, namespace, body = 'none']: Route): CompiledRoute {
  const names: string[] = [];
  const source = pattern.replace(/\{(\w+)(?::([^}]+))?\}|[^{]+/g, (token: string, name?: string, expression?: string) => {
    if (name === undefined) return token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(name);
    return `(${expression === undefined ? '[^/]+' : expression.replace(/\./g, GO_DOT)})`;
  });
  return { method, regex: new RegExp(`^${source}$`), names, action, namespace, body };
}

const COMPILED: readonly CompiledRoute[] = ROUTES.map(compile);
const VERSIONED = /^\/v([0-9.]+)(\/[^\n]*)$/;

export const UNKNOWN_ACTION = 'unknown';

/** Every action name the table knows (for validating policy files). */
export const ACTIONS: ReadonlySet<string> = new Set(ROUTES.map((route) => route[2]));

/** The namespace of a known action. */
export function namespaceOf(action: string): Namespace | undefined {
  return ROUTES.find((route) => route[2] === (ACTION_ALIASES[action] ?? action))?.[3];
}

function matchPath(method: string, path: string, apiVersion: string, versioned: boolean): MatchedRoute | undefined {
  for (const route of COMPILED) {
    if (route.method !== method && route.method !== '*') continue;
    // 20.10 registers debug routes only without a version prefix; newer engines with one too.
    const match = route.regex.exec(path);
    if (!match) continue;
    const vars: Record<string, string> = {};
    route.names.forEach((name, i) => (vars[name] = match[i + 1] ?? ''));
    return { action: route.action, namespace: route.namespace, body: route.body, vars, apiVersion: versioned ? apiVersion : '' };
  }
  return undefined;
}

/** The route dockerd runs for `method` on the decoded `path` (version prefix included). */
export function routeOf(method: string, path: string): MatchedRoute {
  const versioned = VERSIONED.exec(path);
  // mux tries each route with the prefix and without it; the prefixed form only matches a prefixed path.
  const matched = (versioned ? matchPath(method, versioned[2]!, versioned[1]!, true) : undefined) ?? matchPath(method, path, '', false);
  return matched ?? { action: UNKNOWN_ACTION, namespace: 'unknown', body: 'none', vars: {}, apiVersion: versioned ? versioned[1]! : '' };
}
