/**
 * Which images a request names, and how each must be judged — pure, from the request facts, read
 * the way dockerd's handlers read them (moby api/server/router/{image,container,build,plugin,swarm}):
 *  - `pull`: delivered by a registry (image pull, service create/update, plugin install/upgrade):
 *    the registry must be trusted and, with keys, the digest it serves signed.
 *  - `run`: a local image about to become a container (create): verified on its content.
 *  - `start`: an existing container about to run (start, restart, unpause): verified on its image id.
 *  - `target`: a name an image is given (push, tag, commit, build, import): the registry must be trusted.
 *  - `local-build`: an image no registry vouches for (build, load, import, commit, plugin create).
 */
import type { RequestFacts } from '../../facts/request';
import { formValue } from '../../facts/request-uri';

export type TrustCheck =
  | { readonly kind: 'pull'; readonly image: string; readonly what: string; readonly allTags?: boolean }
  | { readonly kind: 'run'; readonly image: string }
  | { readonly kind: 'start'; readonly container: string }
  | { readonly kind: 'target'; readonly image: string; readonly what: string }
  | { readonly kind: 'local-build'; readonly what: string };

/**
 * `name` with a tag parameter applied, as moby applies it: a digest replaces the name's tag and
 * digest (reference.WithDigest of TrimNamed); a tag replaces the name's tag and keeps its digest
 * (reference.WithTag), so `app:old` + `new` is `app:new`, the image dockerd pulls.
 */
export function withTag(name: string, tag: string): string {
  if (tag === '') return name;
  const at = name.indexOf('@');
  const named = at === -1 ? name : name.slice(0, at);
  // A tag is a ':' after the last '/'; one before it is a registry's port.
  const colon = named.indexOf(':', named.lastIndexOf('/') + 1);
  const repository = colon === -1 ? named : named.slice(0, colon);
  if (/^[a-z0-9]+:[a-f0-9]{32,}$/i.test(tag)) return `${repository}@${tag}`;
  return `${repository}:${tag}${at === -1 ? '' : name.slice(at)}`;
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function hasTagOrDigest(name: string): boolean {
  const lastSlash = name.lastIndexOf('/');
  return name.includes('@') || name.slice(lastSlash + 1).includes(':');
}

export function trustChecks(facts: RequestFacts): TrustCheck[] {
  const { request, target } = facts;
  const query = target.query;
  const vars = request.vars;
  switch (request.action) {
    case 'imagesCreate': {
      const fromImage = formValue(query, 'fromImage');
      if (fromImage !== '') {
        // moby trims one trailing ':' (what `docker pull -a` of old clients sends), then pulls every tag.
        const image = fromImage.endsWith(':') ? fromImage.slice(0, -1) : fromImage;
        const tag = formValue(query, 'tag');
        // No tag anywhere: dockerd pulls every tag of the repository.
        return [{ kind: 'pull', image: withTag(image, tag), what: 'pull', ...(tag === '' && !hasTagOrDigest(image) ? { allTags: true } : {}) }];
      }
      const repo = formValue(query, 'repo');
      return [{ kind: 'local-build', what: 'import' }, ...(repo !== '' ? [{ kind: 'target' as const, image: withTag(repo, formValue(query, 'tag')), what: 'import' }] : [])];
    }
    case 'containersCreate': {
      const image = field(request.body, 'Image');
      return [{ kind: 'run', image: typeof image === 'string' ? image : '' }];
    }
    case 'containersStart':
    case 'containersRestart':
    case 'containersUnpause':
      return vars['name'] !== undefined ? [{ kind: 'start', container: vars['name'] }] : [];
    case 'servicesCreate':
    case 'servicesUpdate': {
      const what = request.action === 'servicesCreate' ? 'service create' : 'service update';
      // A service runs a container image, or (the plugin runtime) installs a plugin on every node;
      // the plugin spec is a protobuf type whose JSON keys are lower-case.
      const images = [field(request.body, 'TaskTemplate', 'ContainerSpec', 'Image'), field(request.body, 'TaskTemplate', 'PluginSpec', 'remote')];
      return images.filter((image): image is string => typeof image === 'string' && image !== '').map((image) => ({ kind: 'pull' as const, image, what }));
    }
    case 'pluginsInstall':
    case 'pluginsUpgrade': {
      const remote = formValue(query, 'remote');
      return [{ kind: 'pull', image: remote, what: request.action === 'pluginsInstall' ? 'plugin install' : 'plugin upgrade' }];
    }
    case 'pluginsCreate':
      return [{ kind: 'local-build', what: 'plugin create' }];
    case 'imagesPush':
      return [{ kind: 'target', image: withTag(vars['name'] ?? '', formValue(query, 'tag')), what: 'push' }];
    case 'pluginsPush':
      return [{ kind: 'target', image: vars['name'] ?? '', what: 'plugin push' }];
    case 'imagesTag':
      return [{ kind: 'target', image: withTag(formValue(query, 'repo'), formValue(query, 'tag')), what: 'tag' }];
    case 'imagesCommit': {
      const repo = formValue(query, 'repo');
      return [{ kind: 'local-build', what: 'commit' }, ...(repo !== '' ? [{ kind: 'target' as const, image: withTag(repo, formValue(query, 'tag')), what: 'commit' }] : [])];
    }
    case 'imagesBuild':
      // dockerd reads every `t`, not only the first.
      return [{ kind: 'local-build', what: 'build' }, ...(query['t'] ?? []).filter((t) => t !== '').map((t) => ({ kind: 'target' as const, image: t, what: 'build' }))];
    case 'imagesLoad':
      return [{ kind: 'local-build', what: 'load' }];
    default:
      return [];
  }
}
