/**
 * What a request acts on, as policies judge it (policies/policy-facts.ts): the containers, images and
 * volumes it names, the host paths it would bind, whether it asks for privilege, and the user it runs
 * as. Read from the request as dockerd reads it (request.ts), with dockerd's own view looked up only
 * where the request names something indirectly and a check needs it:
 *  - an existing container addressed by id, id prefix or name -> its real name (docker-leash needed a
 *    separate client for this; without it, `docker logs <id>` walked around ContainerName);
 *  - a named volume -> the host path it binds, when the local driver has `type=none,o=bind,device=…`
 *    (a bind by another name: `-v etcvol:/x` is a bind of /etc);
 *  - an empty run-as user -> the image's default user (a create), the container's user (an exec).
 * Host paths are normalised (`..`, `.`, `//`, a trailing `/`) before any check compares them.
 */
import * as path from 'node:path';
import { ANONYMOUS, type LookupFact, type PolicyFacts } from '../policies/policy-facts';
import type { RequestFacts } from './request';
import { formValue } from './request-uri';

/** dockerd's view of what a request names indirectly. `undefined`: no such object (dockerd answers 404 itself). */
export interface SubjectLookups {
  containerName(ref: string): Promise<string | undefined>;
  containerUser(ref: string): Promise<string | undefined>;
  /** The container an exec instance belongs to (its id). */
  execContainer(execId: string): Promise<string | undefined>;
  /** The host path a named volume binds, if it is a local bind volume. */
  volumeBindSource(name: string): Promise<string | undefined>;
  imageUser(ref: string): Promise<string | undefined>;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** An absolute host path without `.`, `..`, `//` or a trailing `/` (the root stays `/`). */
export function normaliseHostPath(hostPath: string): string {
  const normalised = path.posix.normalize(hostPath.startsWith('/') ? hostPath : `/${hostPath}`);
  return normalised.length > 1 && normalised.endsWith('/') ? normalised.slice(0, -1) : normalised;
}

/** A `src:dst[:mode]` bind spec: a host path when `src` is absolute, else a named volume. */
function parseBind(spec: string): { hostPath?: string; volume?: string } {
  const source = spec.split(':')[0] ?? '';
  if (source === '') return {};
  return source.startsWith('/') ? { hostPath: normaliseHostPath(source) } : { volume: source };
}

/** The host path local-driver options bind (`type=none`, `o` containing `bind`, `device=…`), if any. */
export function bindDevice(driver: string, options: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!options || (driver !== '' && driver !== 'local')) return undefined;
  const binds = (options['o'] ?? '').split(',').some((option) => option.trim() === 'bind' || option.trim() === 'rbind');
  const device = options['device'];
  return binds && typeof device === 'string' && device !== '' ? normaliseHostPath(device) : undefined;
}

interface Collected {
  containerRefs: Array<{ ref: string; isExec?: boolean }>;
  containerNames: string[];
  imageNames: string[];
  hostPaths: string[];
  volumes: string[];
  /** Volumes whose bind source must be looked up (named in a bind, not created inline). */
  volumesToResolve: string[];
  privileged: boolean;
  /** The run-as user as written ('' = ask dockerd), and where to ask. */
  user?: { written: string; from: { image: string } | { container: string } | { exec: string } };
}

function imageWithTag(image: string, tag: string): string {
  if (tag === '' || image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:${tag}`;
}

/** Binds, mounts and volumes of a HostConfig (create, legacy start) or a ContainerSpec (services). */
function collectMounts(hostConfig: Json | undefined, mounts: unknown, into: Collected): void {
  for (const bind of stringsOf(hostConfig?.['Binds'])) {
    const parsed = parseBind(bind);
    if (parsed.hostPath) into.hostPaths.push(parsed.hostPath);
    if (parsed.volume) {
      into.volumes.push(parsed.volume);
      into.volumesToResolve.push(parsed.volume);
    }
  }
  for (const mount of Array.isArray(mounts) ? mounts : []) {
    if (!isRecord(mount)) continue;
    const type = typeof mount['Type'] === 'string' ? mount['Type'] : '';
    const source = typeof mount['Source'] === 'string' ? mount['Source'] : '';
    if (type === 'bind' && source !== '') into.hostPaths.push(normaliseHostPath(source));
    if (type !== 'volume') continue;
    const driverConfig = isRecord(mount['VolumeOptions']) && isRecord(mount['VolumeOptions']['DriverConfig']) ? mount['VolumeOptions']['DriverConfig'] : undefined;
    const inline = driverConfig ? bindDevice(typeof driverConfig['Name'] === 'string' ? driverConfig['Name'] : '', isRecord(driverConfig['Options']) ? (driverConfig['Options'] as Record<string, string>) : undefined) : undefined;
    if (inline) into.hostPaths.push(inline);
    if (source !== '') {
      into.volumes.push(source);
      // dockerd uses an existing volume of that name as it is (inline options only shape a new one).
      into.volumesToResolve.push(source);
    }
  }
}

/** Everything the request itself says (no lookups yet). */
function collect(facts: RequestFacts): Collected {
  const { request, route, target } = facts;
  const body = isRecord(request.body) ? request.body : undefined;
  const name = request.vars['name'];
  const out: Collected = { containerRefs: [], containerNames: [], imageNames: [], hostPaths: [], volumes: [], volumesToResolve: [], privileged: false };
  const query = target.query;
  switch (route.action) {
    case 'containersCreate': {
      out.containerNames.push(formValue(query, 'name'));
      const config = facts.wrapper?.config;
      const image = typeof config?.['Image'] === 'string' ? config['Image'] : '';
      if (image !== '') out.imageNames.push(image);
      for (const hostConfig of [facts.wrapper?.legacyHostConfig, facts.wrapper?.hostConfig]) {
        if (!hostConfig) continue;
        collectMounts(hostConfig as Json, hostConfig.Mounts, out);
        if (hostConfig.Privileged === true) out.privileged = true;
      }
      out.user = { written: typeof config?.['User'] === 'string' ? config['User'] : '', from: { image } };
      break;
    }
    case 'containersStart':
      if (name !== undefined) out.containerRefs.push({ ref: name });
      if (facts.wrapper?.legacyHostConfig) {
        collectMounts(facts.wrapper.legacyHostConfig as Json, facts.wrapper.legacyHostConfig.Mounts, out);
        if (facts.wrapper.legacyHostConfig.Privileged === true) out.privileged = true;
      }
      break;
    case 'execCreate':
      if (name !== undefined) out.containerRefs.push({ ref: name });
      if (body?.['Privileged'] === true) out.privileged = true;
      out.user = { written: typeof body?.['User'] === 'string' ? body['User'] : '', from: { container: name ?? '' } };
      break;
    case 'execStart':
    case 'execResize':
    case 'execInspect':
      if (name !== undefined || request.vars['id'] !== undefined) out.containerRefs.push({ ref: name ?? request.vars['id']!, isExec: true });
      break;
    case 'imagesCreate': {
      const fromImage = formValue(query, 'fromImage');
      if (fromImage !== '') out.imageNames.push(imageWithTag(fromImage, formValue(query, 'tag')));
      const repo = formValue(query, 'repo');
      if (formValue(query, 'fromSrc') !== '' && repo !== '') out.imageNames.push(imageWithTag(repo, formValue(query, 'tag')));
      break;
    }
    case 'imagesPush':
      if (name !== undefined) out.imageNames.push(imageWithTag(name, formValue(query, 'tag')));
      break;
    case 'imagesTag': {
      if (name !== undefined) out.imageNames.push(name);
      const repo = formValue(query, 'repo');
      if (repo !== '') out.imageNames.push(imageWithTag(repo, formValue(query, 'tag')));
      break;
    }
    case 'imagesBuild':
      out.imageNames.push(...(query['t'] ?? []).filter((tag) => tag !== ''));
      break;
    case 'imagesCommit': {
      const container = formValue(query, 'container');
      if (container !== '') out.containerRefs.push({ ref: container });
      const repo = formValue(query, 'repo');
      if (repo !== '') out.imageNames.push(imageWithTag(repo, formValue(query, 'tag')));
      break;
    }
    case 'volumesCreate': {
      out.volumes.push(typeof body?.['Name'] === 'string' ? body['Name'] : '');
      const device = bindDevice(typeof body?.['Driver'] === 'string' ? body['Driver'] : '', isRecord(body?.['DriverOpts']) ? (body['DriverOpts'] as Record<string, string>) : undefined);
      if (device) out.hostPaths.push(device);
      break;
    }
    case 'servicesCreate':
    case 'servicesUpdate': {
      const spec = isRecord(body?.['TaskTemplate']) && isRecord(body['TaskTemplate']['ContainerSpec']) ? body['TaskTemplate']['ContainerSpec'] : undefined;
      if (typeof spec?.['Image'] === 'string' && spec['Image'] !== '') out.imageNames.push(spec['Image']);
      if (spec) collectMounts(undefined, spec['Mounts'], out);
      break;
    }
    default:
      if (route.namespace === 'containers' && name !== undefined) out.containerRefs.push({ ref: name });
      if (route.namespace === 'images' && name !== undefined && route.action !== 'imagesPrune') out.imageNames.push(name);
      if (route.namespace === 'volumes' && name !== undefined) out.volumes.push(name);
  }
  return out;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * The policy facts of a request. Only the lookups in `needed` are made; a lookup that fails (other
 * than "no such object") rejects, and the caller judges that as a fault.
 */
export async function policyFacts(facts: RequestFacts, needed: ReadonlySet<LookupFact>, lookups: SubjectLookups): Promise<PolicyFacts> {
  const collected = collect(facts);
  const { request } = facts;
  const containerNames = [...collected.containerNames];
  if (needed.has('containerNames')) {
    for (const { ref, isExec } of collected.containerRefs) {
      const containerRef = isExec ? await lookups.execContainer(ref) : ref;
      const real = containerRef === undefined ? undefined : await lookups.containerName(containerRef);
      // No such container: dockerd answers 404 itself; judge the name as written.
      containerNames.push((real ?? ref).replace(/^\//, ''));
    }
  }
  const hostPaths = [...collected.hostPaths];
  if (needed.has('bindSources')) {
    for (const volume of unique(collected.volumesToResolve)) {
      const source = await lookups.volumeBindSource(volume);
      if (source) hostPaths.push(normaliseHostPath(source));
    }
  }
  let runAsUser: string | undefined;
  if (collected.user) {
    runAsUser = collected.user.written;
    if (runAsUser === '' && needed.has('runAsUser')) {
      const from = collected.user.from;
      runAsUser = ('image' in from ? (from.image === '' ? undefined : await lookups.imageUser(from.image)) : 'container' in from ? await lookups.containerUser(from.container) : undefined) ?? '';
    }
  }
  return {
    action: request.action,
    namespace: request.namespace,
    method: request.method,
    user: request.user === '' ? ANONYMOUS : request.user,
    containerNames: unique(containerNames),
    imageNames: unique(collected.imageNames),
    bindSources: unique(hostPaths),
    volumeNames: unique(collected.volumes),
    privileged: collected.privileged,
    ...(runAsUser !== undefined ? { runAsUser } : {}),
  };
}
