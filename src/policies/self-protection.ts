/**
 * Self-protection (AuthZ mode, SELF_PROTECTION): a user who may run containers must not be able to
 * switch the enforcer off or rewrite what it enforces. Reserved to the TLS users in
 * SELF_PROTECTION_ADMINS, whatever MODE says (a WARN-mode enforcer that can be stopped protects
 * nothing), are:
 *  - stopping, killing, restarting, pausing, removing, updating, renaming, checkpointing the
 *    enforcer's own container, and reaching into it: exec, attach, `docker cp` either way, export and
 *    commit (both copy its filesystem out, as `docker cp` does);
 *  - disabling, removing, configuring or upgrading its plugin, and installing or creating a plugin
 *    under its name (dockerd prefers a managed plugin of that name to the enforcer);
 *  - binding a host path at, below or above one of its folders (rules, policies, packs) — `-v /:/host`
 *    exposes them as much as `-v /etc/docker-enforcer:/x` does.
 * Pure: what a reference names is dockerd's to say (a name, an id or an id prefix), so the caller
 * asks it and passes the answer in `resolvesToSelf`.
 */
import * as path from 'node:path';
import type { SourceVerdict } from '../engine/decide';
import { parseImageReference } from '../facts/image-reference';
import type { RequestFacts } from '../facts/request';
import { formValue } from '../facts/request-uri';
import { normaliseHostPath } from '../facts/subjects';

export const SELF_PROTECTION_SOURCE = 'self-protection';
const PREFIX = 'self-protection: ';
const RESERVED = 'is reserved to SELF_PROTECTION_ADMINS';

/** What the enforcer knows of itself (SELF_CONTAINER or /proc, SELF_PLUGIN_NAMES, its folders, SELF_PROTECTION_ADMINS). */
export interface SelfProtectionSettings {
  /** The enforcer's own container id, when it runs in one and the id is known. */
  readonly selfContainerId?: string;
  /** Names of that container (SELF_CONTAINER when it is a name): what to compare while the id is not known yet. */
  readonly selfContainerNames: readonly string[];
  /** The names dockerd knows the plugin by (`authorization-plugins`). */
  readonly pluginNames: readonly string[];
  /** Host paths of the enforcer's folders, normalised. */
  readonly protectedPaths: readonly string[];
  /** TLS users (client-certificate CN) who may do all of the above. */
  readonly admins: readonly string[];
}

export interface SelfProtectionContext extends SelfProtectionSettings {
  /** dockerd resolves the request's container (or exec, or plugin id) reference to the enforcer's own. */
  readonly resolvesToSelf: boolean;
  /** Why dockerd could not say what the request names: judged as touching the enforcer (fails closed). */
  readonly unresolved?: string;
  /** The host paths the request binds, named bind volumes resolved (the facts layer's `bindSources`). */
  readonly bindSources?: readonly string[];
}

/** What a protected action acts on, as written in the request. */
export interface ProtectedTarget {
  readonly kind: 'container' | 'exec' | 'plugin';
  readonly ref: string;
  /** How the docker CLI calls the action (for the reason). */
  readonly verb: string;
  /** The request names a plugin to be made under this name (install, create), not an existing one. */
  readonly newPlugin?: boolean;
}

const CONTAINER_VERBS: Readonly<Record<string, string>> = {
  containersStop: 'docker stop',
  containersKill: 'docker kill',
  containersRestart: 'docker restart',
  containersPause: 'docker pause',
  containersRemove: 'docker rm',
  containersUpdate: 'docker update',
  containersRename: 'docker rename',
  // Stops the container unless told to leave it running.
  containersCheckpointCreate: 'docker checkpoint create',
  execCreate: 'docker exec',
  containersAttach: 'docker attach',
  containersAttachWebsocket: 'docker attach',
  containersArchive: 'docker cp',
  containersCopy: 'docker cp',
  containersExport: 'docker export',
};

const PLUGIN_VERBS: Readonly<Record<string, string>> = {
  pluginsDisable: 'docker plugin disable',
  pluginsRemove: 'docker plugin rm',
  pluginsSet: 'docker plugin set',
  pluginsUpgrade: 'docker plugin upgrade',
  pluginsInstall: 'docker plugin install',
  pluginsCreate: 'docker plugin create',
};

/** Actions whose bodies can bind host paths (create, legacy start, services, bind volumes). */
export const BINDING_ACTIONS: ReadonlySet<string> = new Set(['containersCreate', 'containersStart', 'servicesCreate', 'servicesUpdate', 'volumesCreate']);

/** The container, exec or plugin a protected action names; undefined for every other request. */
export function protectedTarget(facts: RequestFacts): ProtectedTarget | undefined {
  const { action, vars } = facts.request;
  const query = facts.target.query;
  if (action === 'imagesCommit') {
    const ref = formValue(query, 'container');
    return ref === '' ? undefined : { kind: 'container', ref, verb: 'docker commit' };
  }
  if (action === 'execStart') return vars['name'] === undefined ? undefined : { kind: 'exec', ref: vars['name'], verb: 'docker exec' };
  const containerVerb = CONTAINER_VERBS[action];
  if (containerVerb !== undefined) return vars['name'] === undefined ? undefined : { kind: 'container', ref: vars['name'], verb: containerVerb };
  const pluginVerb = PLUGIN_VERBS[action];
  if (pluginVerb === undefined) return undefined;
  // dockerd names an installed plugin after `name`, else after `remote`.
  if (action === 'pluginsInstall') return { kind: 'plugin', ref: formValue(query, 'name') || formValue(query, 'remote'), verb: pluginVerb, newPlugin: true };
  if (action === 'pluginsCreate') return { kind: 'plugin', ref: formValue(query, 'name'), verb: pluginVerb, newPlugin: true };
  return vars['name'] === undefined ? undefined : { kind: 'plugin', ref: vars['name'], verb: pluginVerb };
}

/** A plugin reference as dockerd compares names (`enforcer` = `docker.io/library/enforcer:latest`). */
function pluginKey(ref: string): { repository: string; tag?: string } | undefined {
  const parsed = parseImageReference(ref);
  return parsed.ok ? { repository: parsed.ref.repository, ...(parsed.ref.tag !== undefined ? { tag: parsed.ref.tag } : {}) } : undefined;
}

/** Whether `ref` is one of `names` as dockerd reads plugin names; a digest-only reference matches its repository. */
export function namesPlugin(ref: string, names: readonly string[]): boolean {
  const key = pluginKey(ref);
  if (!key) return false;
  return names.some((name) => {
    const other = pluginKey(name);
    return other !== undefined && other.repository === key.repository && (key.tag === undefined || other.tag === key.tag);
  });
}

/** Whether a container (as dockerd describes it: full id, `/name`) is the enforcer's own. */
export function isOwnContainer(id: string | undefined, name: string | undefined, settings: Pick<SelfProtectionSettings, 'selfContainerId' | 'selfContainerNames'>): boolean {
  if (id !== undefined && id !== '' && id === settings.selfContainerId) return true;
  const bare = (name ?? '').replace(/^\//, '');
  return bare !== '' && settings.selfContainerNames.includes(bare);
}

/** Whether the enforcer knows which container is its own (else container actions are not protected). */
export function knowsOwnContainer(settings: Pick<SelfProtectionSettings, 'selfContainerId' | 'selfContainerNames'>): boolean {
  return (settings.selfContainerId ?? '') !== '' || settings.selfContainerNames.length > 0;
}

/** Whether a bind of `source` exposes `folder`: the same path, one below it, or one above it. */
export function exposes(source: string, folder: string): boolean {
  const s = normaliseHostPath(source);
  const f = normaliseHostPath(folder);
  return s === f || s === '/' || f.startsWith(`${s}/`) || s.startsWith(`${f}/`);
}

/** A TLS user listed in SELF_PROTECTION_ADMINS (the unix socket's caller has no name and is never one). */
function isAdmin(facts: RequestFacts, admins: readonly string[]): boolean {
  const { user, authMethod } = facts.request;
  return user !== '' && authMethod === 'TLS' && admins.includes(user);
}

/**
 * Self-protection's answer to a request: undefined when it touches nothing of the enforcer's; a
 * denial in KILL mode naming each reason; an allow (no reasons) when an admin does it.
 */
export function selfProtectionVerdict(facts: RequestFacts, context: SelfProtectionContext): SourceVerdict | undefined {
  const reasons: string[] = [];
  const target = protectedTarget(facts);
  if (target) {
    if (target.kind === 'plugin') {
      if (context.pluginNames.length > 0 && (context.resolvesToSelf || namesPlugin(target.ref, context.pluginNames))) {
        reasons.push(`${PREFIX}${target.verb} ${target.newPlugin ? "under the enforcer's plugin name" : "of the enforcer's own plugin"} ${RESERVED}`);
      }
    } else if (knowsOwnContainer(context)) {
      const direct = target.kind === 'container' && (target.ref === context.selfContainerId || isOwnContainer(undefined, target.ref, context));
      if (context.resolvesToSelf || direct) reasons.push(`${PREFIX}${target.verb} of the enforcer's own container ${RESERVED}`);
    }
  }
  for (const source of new Set(context.bindSources ?? [])) {
    const folder = context.protectedPaths.find((protectedPath) => exposes(source, protectedPath));
    if (folder !== undefined) reasons.push(`${PREFIX}a bind of ${normaliseHostPath(source)} exposes the enforcer's folder ${folder} and ${RESERVED}`);
  }
  if (context.unresolved !== undefined && reasons.length === 0) {
    reasons.push(`${PREFIX}cannot tell whether ${facts.request.action} touches the enforcer's own container, plugin or folders (${context.unresolved}); it ${RESERVED}`);
  }
  if (reasons.length === 0) return undefined;
  if (isAdmin(facts, context.admins)) return { source: SELF_PROTECTION_SOURCE, allow: true, mode: 'KILL', reasons: [] };
  return { source: SELF_PROTECTION_SOURCE, allow: false, mode: 'KILL', reasons };
}

/** The enforcer's folders: where its rule, policy and pack files live. */
export function enforcerFolders(files: readonly string[]): string[] {
  return [...new Set(files.map((file) => normaliseHostPath(path.posix.dirname(file))))];
}

/**
 * Where `folders` (as the enforcer sees them) are on the host, when it runs in a container: each
 * mount at or above a folder maps it to the mount's host source.
 */
export function hostPathsOfMounts(folders: readonly string[], mounts: ReadonlyArray<{ readonly Source?: string; readonly Destination?: string }>): string[] {
  const out: string[] = [];
  for (const mount of mounts) {
    if (!mount.Source || !mount.Destination) continue;
    const destination = normaliseHostPath(mount.Destination);
    for (const folder of folders) {
      if (folder === destination) out.push(normaliseHostPath(mount.Source));
      else if (folder.startsWith(destination === '/' ? '/' : `${destination}/`)) out.push(normaliseHostPath(`${mount.Source}/${folder.slice(destination.length)}`));
    }
  }
  return [...new Set(out)];
}
