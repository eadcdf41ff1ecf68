/**
 * Docker Engine API routes -> named actions (in the spirit of docker-leash's action list), so a
 * request rule reads `r.action === 'containersArchive'` instead of matching URIs. Covers the Engine
 * API up to v1.47; anything else is `unknown`. Archive routes share one action (`containersArchive`):
 * `r.method` tells HEAD (stat), GET (copy out) and PUT (copy in, `docker cp` into a container).
 */
type Route = readonly [method: string, pattern: string, action: string];

const ROUTES: readonly Route[] = [
  ['GET', '/_ping', 'ping'],
  ['HEAD', '/_ping', 'ping'],
  ['GET', '/version', 'version'],
  ['GET', '/info', 'info'],
  ['GET', '/events', 'events'],
  ['GET', '/system/df', 'systemDataUsage'],
  ['POST', '/auth', 'auth'],
  ['GET', '/distribution/{name*}/json', 'distributionInspect'],
  ['POST', '/session', 'session'],
  ['POST', '/grpc', 'grpc'],

  ['GET', '/containers/json', 'containersList'],
  ['POST', '/containers/create', 'containersCreate'],
  ['POST', '/containers/prune', 'containersPrune'],
  ['GET', '/containers/{id}/json', 'containersInspect'],
  ['GET', '/containers/{id}/top', 'containersListProcess'],
  ['GET', '/containers/{id}/logs', 'containersLogs'],
  ['GET', '/containers/{id}/changes', 'containersChanges'],
  ['GET', '/containers/{id}/export', 'containersExport'],
  ['GET', '/containers/{id}/stats', 'containersStats'],
  ['POST', '/containers/{id}/resize', 'containersResizeTTY'],
  ['POST', '/containers/{id}/start', 'containersStart'],
  ['POST', '/containers/{id}/stop', 'containersStop'],
  ['POST', '/containers/{id}/restart', 'containersRestart'],
  ['POST', '/containers/{id}/kill', 'containersKill'],
  ['POST', '/containers/{id}/update', 'containersUpdate'],
  ['POST', '/containers/{id}/rename', 'containersRename'],
  ['POST', '/containers/{id}/pause', 'containersPause'],
  ['POST', '/containers/{id}/unpause', 'containersUnpause'],
  ['POST', '/containers/{id}/attach', 'containersAttach'],
  ['GET', '/containers/{id}/attach/ws', 'containersAttachWebsocket'],
  ['POST', '/containers/{id}/wait', 'containersWait'],
  ['DELETE', '/containers/{id}', 'containersRemove'],
  ['HEAD', '/containers/{id}/archive', 'containersArchive'],
  ['GET', '/containers/{id}/archive', 'containersArchive'],
  ['PUT', '/containers/{id}/archive', 'containersArchive'],
  ['POST', '/containers/{id}/exec', 'execCreate'],
  ['POST', '/containers/{id}/copy', 'containersCopy'],
  ['POST', '/commit', 'imagesCommit'],

  ['POST', '/exec/{id}/start', 'execStart'],
  ['POST', '/exec/{id}/resize', 'execResize'],
  ['GET', '/exec/{id}/json', 'execInspect'],

  ['GET', '/images/json', 'imagesList'],
  ['POST', '/build', 'imagesBuild'],
  ['POST', '/build/prune', 'buildPrune'],
  ['POST', '/build/cancel', 'buildCancel'],
  ['POST', '/images/create', 'imagesCreate'],
  ['POST', '/images/load', 'imagesLoad'],
  ['GET', '/images/get', 'imagesExportMultiple'],
  ['GET', '/images/search', 'imagesSearch'],
  ['POST', '/images/prune', 'imagesPrune'],
  ['GET', '/images/{name*}/json', 'imagesInspect'],
  ['GET', '/images/{name*}/history', 'imagesHistory'],
  ['POST', '/images/{name*}/push', 'imagesPush'],
  ['POST', '/images/{name*}/tag', 'imagesTag'],
  ['GET', '/images/{name*}/get', 'imagesExport'],
  ['DELETE', '/images/{name*}', 'imagesRemove'],

  ['GET', '/networks', 'networksList'],
  ['POST', '/networks/create', 'networksCreate'],
  ['POST', '/networks/prune', 'networksPrune'],
  ['GET', '/networks/{id}', 'networksInspect'],
  ['DELETE', '/networks/{id}', 'networksRemove'],
  ['POST', '/networks/{id}/connect', 'networksConnect'],
  ['POST', '/networks/{id}/disconnect', 'networksDisconnect'],

  ['GET', '/volumes', 'volumesList'],
  ['POST', '/volumes/create', 'volumesCreate'],
  ['POST', '/volumes/prune', 'volumesPrune'],
  ['GET', '/volumes/{name}', 'volumesInspect'],
  ['PUT', '/volumes/{name}', 'volumesUpdate'],
  ['DELETE', '/volumes/{name}', 'volumesRemove'],

  ['GET', '/swarm', 'swarmInspect'],
  ['POST', '/swarm/init', 'swarmInit'],
  ['POST', '/swarm/join', 'swarmJoin'],
  ['POST', '/swarm/leave', 'swarmLeave'],
  ['POST', '/swarm/update', 'swarmUpdate'],
  ['GET', '/swarm/unlockkey', 'swarmUnlockKey'],
  ['POST', '/swarm/unlock', 'swarmUnlock'],
  ['GET', '/nodes', 'nodesList'],
  ['GET', '/nodes/{id}', 'nodesInspect'],
  ['DELETE', '/nodes/{id}', 'nodesRemove'],
  ['POST', '/nodes/{id}/update', 'nodesUpdate'],
  ['GET', '/services', 'servicesList'],
  ['POST', '/services/create', 'servicesCreate'],
  ['GET', '/services/{id}', 'servicesInspect'],
  ['DELETE', '/services/{id}', 'servicesRemove'],
  ['POST', '/services/{id}/update', 'servicesUpdate'],
  ['GET', '/services/{id}/logs', 'servicesLogs'],
  ['GET', '/tasks', 'tasksList'],
  ['GET', '/tasks/{id}', 'tasksInspect'],
  ['GET', '/tasks/{id}/logs', 'tasksLogs'],
  ['GET', '/secrets', 'secretsList'],
  ['POST', '/secrets/create', 'secretsCreate'],
  ['GET', '/secrets/{id}', 'secretsInspect'],
  ['DELETE', '/secrets/{id}', 'secretsRemove'],
  ['POST', '/secrets/{id}/update', 'secretsUpdate'],
  ['GET', '/configs', 'configsList'],
  ['POST', '/configs/create', 'configsCreate'],
  ['GET', '/configs/{id}', 'configsInspect'],
  ['DELETE', '/configs/{id}', 'configsRemove'],
  ['POST', '/configs/{id}/update', 'configsUpdate'],

  ['GET', '/plugins', 'pluginsList'],
  ['GET', '/plugins/privileges', 'pluginsPrivileges'],
  ['POST', '/plugins/pull', 'pluginsInstall'],
  ['POST', '/plugins/create', 'pluginsCreate'],
  ['GET', '/plugins/{name*}/json', 'pluginsInspect'],
  ['DELETE', '/plugins/{name*}', 'pluginsRemove'],
  ['POST', '/plugins/{name*}/enable', 'pluginsEnable'],
  ['POST', '/plugins/{name*}/disable', 'pluginsDisable'],
  ['POST', '/plugins/{name*}/upgrade', 'pluginsUpgrade'],
  ['POST', '/plugins/{name*}/push', 'pluginsPush'],
  ['POST', '/plugins/{name*}/set', 'pluginsSet'],
];

interface CompiledRoute {
  readonly method: string;
  readonly regex: RegExp;
  readonly action: string;
}

function compile([method, pattern, action]: Route): CompiledRoute {
  const source = pattern
    .split('/')
    .map((segment) => {
      if (segment === '{name*}') return '.+';
      if (/^\{\w+\}$/.test(segment)) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { method, regex: new RegExp(`^${source}/?$`), action };
}

// Exact routes (no parameter) first, so `/containers/create` never reads as `/containers/{id}`.
const COMPILED = [...ROUTES].sort((a, b) => Number(a[1].includes('{')) - Number(b[1].includes('{'))).map(compile);

/** The named action of a request, or `unknown`. `path` is without the `/v1.xx` prefix and query. */
export function actionOf(method: string, path: string): string {
  const upper = method.toUpperCase();
  for (const route of COMPILED) {
    if (route.method === upper && route.regex.test(path)) return route.action;
  }
  return 'unknown';
}
