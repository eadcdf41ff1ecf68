/**
 * Docker image references, normalised the way dockerd normalises them (distribution/reference's
 * `ParseNormalizedNamed` followed by `TagNameOnly`), so that `busybox`, `docker.io/library/busybox:latest`
 * and `index.docker.io/library/busybox` compare equal. Anything that decides by image name (whitelists,
 * trusted registries) must compare these forms: comparing the text a client sent lets one image pass
 * under a spelling the check did not anticipate.
 *
 * Where this module departs from Docker it rejects rather than accepts, and says why at the spot.
 */

export interface ImageReference {
  /**
   * The registry host[:port], as written (Docker keeps its case), except that Docker Hub's aliases
   * become 'docker.io'. Compare with `normaliseRegistryHost(ref.registry)` to ignore case.
   */
  readonly registry: string;
  /** The repository path within the registry: 'library/busybox', 'user/app', 'app'. */
  readonly path: string;
  /** registry + '/' + path, e.g. 'docker.io/library/busybox'. */
  readonly repository: string;
  /** 'latest' when neither tag nor digest was given; absent when only a digest was given. */
  readonly tag?: string;
  /** 'sha256:<64 hex>'. */
  readonly digest?: string;
  /** repository + (':' + tag if tag) + ('@' + digest if digest), e.g. 'docker.io/library/busybox:latest'. */
  readonly canonical: string;
}

export type ParsedReference = { ok: true; ref: ImageReference } | { ok: false; problem: string };

const DEFAULT_DOMAIN = 'docker.io';
/** Domains that name Docker Hub: Docker itself folds only the legacy index name; the registry's real host is folded too so that writing it cannot bypass a check on 'docker.io'. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io', 'registry-1.docker.io']);
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const LOCALHOST = 'localhost';
/** Docker's limit applies to the path only (distribution/reference v0.6 excludes the domain). */
const PATH_LENGTH_MAX = 255;

// The grammar of distribution/reference's regexp.go. Each piece is matched on its own segment of the
// input rather than as one large expression, which keeps matching linear in the input's length: the
// input is whatever a client put in a create request.
const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6_ADDRESS = '\\[(?:[a-fA-F0-9:]+)\\]';
const HOST = `(?:${DOMAIN_NAME}|${IPV6_ADDRESS})`;

const REMOTE_NAME_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_AND_PORT_RE = new RegExp(`^${HOST}(?::([0-9]+))?$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
/** What the reference grammar accepts as a digest; which of those dockerd can use is checked after. */
const DIGEST_SYNTAX_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256_DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const IMAGE_ID_RE = /^(?:sha256:)?[a-f0-9]{64}$/;

/**
 * Docker's `splitDockerDomain`: the first component is a registry only if it looks like a host
 * (has '.' or ':', is 'localhost', or has upper case, which a repository path cannot have);
 * otherwise the image is on Docker Hub, where one-component names live under 'library/'.
 */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (first === LOCALHOST || DOCKER_HUB_ALIASES.has(first) || /[.:]/.test(first) || first.toLowerCase() !== first) {
    domain = DOCKER_HUB_ALIASES.has(first) ? DEFAULT_DOMAIN : first;
    remainder = rest;
  } else {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** Quotes input for a problem text, cut short: problems end up in logs and denial messages, and the input may be any size. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function invalid(text: string, why: string): ParsedReference {
  return { ok: false, problem: `invalid reference format (${quote(text)}): ${why}` };
}

/** Parses an image reference as `docker run`, `docker pull` and dockerd's create do, then adds the default tag. */
export function parseImageReference(text: string): ParsedReference {
  if (text === '') return { ok: false, problem: 'repository name must have at least one component' };
  // dockerd resolves such a value as an image ID, never as a repository name.
  if (IDENTIFIER_RE.test(text)) return { ok: false, problem: `${quote(text)} is an image id, not a name (cannot specify 64-byte hexadecimal strings)` };

  const { domain, remainder } = splitDockerDomain(text);
  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) return invalid(text, `repository name ${quote(remote)} must be lowercase`);

  // Docker re-parses domain + '/' + remainder with one expression; if the domain then fails the
  // domain grammar but happens to fit the path grammar ('a.b_c/d'), Docker accepts a reference with
  // no domain at all. No registry can serve that, so it is refused here.
  if (!DOMAIN_AND_PORT_RE.test(domain)) return invalid(text, `${quote(domain)} is not a registry host[:port]`);

  // Neither a path nor a tag can contain '@', and a path cannot contain ':' (the domain's port is
  // already split off), so the first of each delimits the parts.
  const at = remainder.indexOf('@');
  const name = at === -1 ? remainder : remainder.slice(0, at);
  const digestText = at === -1 ? undefined : remainder.slice(at + 1);
  const tagColon = name.indexOf(':');
  const path = tagColon === -1 ? name : name.slice(0, tagColon);
  const tagText = tagColon === -1 ? undefined : name.slice(tagColon + 1);

  if (!REMOTE_NAME_RE.test(path)) return invalid(text, `repository path ${quote(path)} is not lowercase components separated by '/'`);
  if (tagText !== undefined && !TAG_RE.test(tagText)) return invalid(text, `tag ${quote(tagText)} is not 1-128 of [A-Za-z0-9_.-] starting with [A-Za-z0-9_]`);
  if (digestText !== undefined && !DIGEST_SYNTAX_RE.test(digestText)) return invalid(text, `digest ${quote(digestText)} is not algorithm:hex`);
  if (path.length > PATH_LENGTH_MAX) return { ok: false, problem: `repository name must not be more than ${PATH_LENGTH_MAX} characters (${path.length})` };
  // dockerd also takes sha384 and sha512 digests; registries and image IDs use sha256, and a digest
  // this module cannot compare exactly is better refused than treated as another image's.
  if (digestText !== undefined && !SHA256_DIGEST_RE.test(digestText)) return { ok: false, problem: `digest ${quote(digestText)} is not sha256: followed by 64 lowercase hex digits` };

  const repository = `${domain}/${path}`;
  const tag = tagText ?? (digestText === undefined ? DEFAULT_TAG : undefined);
  const canonical = repository + (tag === undefined ? '' : `:${tag}`) + (digestText === undefined ? '' : `@${digestText}`);
  const ref: ImageReference = {
    registry: domain,
    path,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digestText === undefined ? {} : { digest: digestText }),
    canonical,
  };
  return { ok: true, ref: Object.freeze(ref) };
}

/**
 * A 'sha256:<64hex>' id or a bare 64-hex id: what dockerd resolves as an image ID rather than a name.
 * Short hex prefixes are ambiguous (dockerd tries them as a name first), so they are not ids here.
 */
export function isImageId(text: string): boolean {
  return IMAGE_ID_RE.test(text);
}

/**
 * Normalises a registry host as written in configuration (TRUSTED_REGISTRIES): lower case (host names
 * are case-insensitive), Docker Hub's names folded to 'docker.io'. Anything that is not host[:port]
 * (a scheme, a path, an empty value, a port outside 1-65535) is a problem, not a guess.
 */
export function normaliseRegistryHost(text: string): { ok: true; host: string } | { ok: false; problem: string } {
  const shown = quote(text);
  if (text === '') return { ok: false, problem: 'a registry host must not be empty' };
  if (text.includes('://')) return { ok: false, problem: `${shown}: write the registry as host[:port], without a scheme` };
  if (text.includes('/')) return { ok: false, problem: `${shown}: write the registry as host[:port], without a path` };
  const host = text.toLowerCase();
  const match = DOMAIN_AND_PORT_RE.exec(host);
  if (match === null) return { ok: false, problem: `${shown} is not a registry host[:port]` };
  const port = match[1];
  // Registries are compared as text, so '05000' would silently never equal the '5000' in an image name.
  if (port !== undefined && (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535)) {
    return { ok: false, problem: `${shown}: the port must be a number from 1 to 65535 without leading zeros` };
  }
  return { ok: true, host: host === DEFAULT_DOMAIN || DOCKER_HUB_ALIASES.has(host) ? DEFAULT_DOMAIN : host };
}
