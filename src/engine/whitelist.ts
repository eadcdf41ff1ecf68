/**
 * WHITE_LIST / IMAGE_WHITE_LIST semantics of the original: comma-separated entries, each a regex
 * that must match the whole name; `REGEX|rule name` (split at the first `|`) applies to one rule only.
 *
 * IMAGE_WHITE_LIST entries that parse as a plain image reference (`busybox`, `user/app:1.0`,
 * `registry.example.com/ops/app@sha256:…`; see facts/image-reference) are compared as Docker names
 * them instead of as text, because the same image is written many ways (`busybox`,
 * `docker.io/library/busybox:latest`, `index.docker.io/library/busybox`):
 * - an entry with a tag or digest spares a container whose image has the same canonical form
 *   (`busybox:latest` spares `busybox` and `docker.io/library/busybox:latest`, not `busybox:1.36`);
 * - an entry without either spares every tag and digest of that repository (`busybox` spares
 *   `busybox:1.36` and `busybox@sha256:…`; the original's text match spared only `busybox`).
 * Such an entry is not also tried as a regex: its `.` would match any character, so
 * `registry.example.com/app` would spare `registryXexample.com/app`, another registry's image.
 * It never spares a container whose image is an image ID (`sha256:…`), even the entry `sha256`,
 * which Docker would read as a repository name. Entries that do not parse (`trusted/.*`,
 * `UNDEFINED`, anything with regex syntax beyond `.`) and image IDs (`sha256:<64 hex>`) keep the
 * regex semantics above.
 * WHITE_LIST (container names) is always regex-only.
 */
import { isImageId, parseImageReference, type ImageReference } from '../facts/image-reference';

export interface WhitelistEntry {
  /** The entry without its `|rule name`, anchored. */
  readonly regex: RegExp;
  /** Set when the entry is a plain image reference; used by the image-name checks only. */
  readonly image?: {
    readonly reference: ImageReference;
    /** The entry names a tag or digest, so only that exact image matches, not the whole repository. */
    readonly pinned: boolean;
  };
}

export interface Whitelist {
  /** The entries as configured (after trimming), for /config. */
  readonly entries: readonly string[];
  readonly global: readonly WhitelistEntry[];
  /** Rule name -> entries that spare a container from that rule only. */
  readonly perRule: ReadonlyMap<string, readonly WhitelistEntry[]>;
}

export const EMPTY_WHITELIST: Whitelist = { entries: [], global: [], perRule: new Map() };

function compileAnchored(source: string): RegExp {
  // Python's re.match("^" + entry + "$") is a full match; the group keeps `a|b`-free entries intact.
  return new RegExp(`^(?:${source})$`);
}

/** Whether the entry text itself carries a tag or digest (the parsed form always has one of them). */
function namesTagOrDigest(source: string): boolean {
  if (source.includes('@')) return true;
  // A tag's ':' comes after the last '/'; an earlier ':' is a registry port.
  return source.lastIndexOf(':') > source.lastIndexOf('/');
}

function imageEntry(source: string): WhitelistEntry['image'] {
  // Docker would read `sha256:<hex>` as repository `sha256` with that tag; as an entry it means the
  // image ID, which the container's image text shows as is, so the regex (text) match must apply.
  if (isImageId(source)) return undefined;
  const parsed = parseImageReference(source);
  return parsed.ok ? { reference: parsed.ref, pinned: namesTagOrDigest(source) } : undefined;
}

export function parseWhitelist(entries: readonly string[]): { whitelist: Whitelist; errors: string[] } {
  const errors: string[] = [];
  const global: WhitelistEntry[] = [];
  const perRule = new Map<string, WhitelistEntry[]>();
  for (const entry of entries) {
    const separator = entry.indexOf('|');
    const source = separator === -1 ? entry : entry.slice(0, separator);
    let regex: RegExp;
    try {
      regex = compileAnchored(source);
    } catch (err: unknown) {
      errors.push(`entry ${JSON.stringify(entry)} is not a valid regular expression (${(err as Error).message})`);
      continue;
    }
    const image = imageEntry(source);
    const parsed: WhitelistEntry = image === undefined ? { regex } : { regex, image };
    if (separator === -1) {
      global.push(parsed);
      continue;
    }
    const ruleName = entry.slice(separator + 1);
    perRule.set(ruleName, [...(perRule.get(ruleName) ?? []), parsed]);
  }
  return { whitelist: { entries: [...entries], global, perRule }, errors };
}

function nameMatches(entries: readonly WhitelistEntry[] | undefined, value: string): boolean {
  return entries !== undefined && entries.some((entry) => entry.regex.test(value));
}

function imageMatches(entries: readonly WhitelistEntry[] | undefined, image: string): boolean {
  if (entries === undefined || entries.length === 0) return false;
  let reference: ImageReference | null | undefined;
  const containerReference = (): ImageReference | null => {
    if (reference === undefined) {
      const parsed = isImageId(image) ? undefined : parseImageReference(image);
      reference = parsed?.ok ? parsed.ref : null;
    }
    return reference;
  };
  return entries.some((entry) => {
    if (entry.image === undefined) return entry.regex.test(image);
    const ref = containerReference();
    if (ref === null) return false;
    return entry.image.pinned ? ref.canonical === entry.image.reference.canonical : ref.repository === entry.image.reference.repository;
  });
}

/** True when container name `value` is on the global list. */
export function isGloballyWhitelisted(list: Whitelist, value: string): boolean {
  return nameMatches(list.global, value);
}

/** True when container name `value` is on the list for rule `ruleName`. */
export function isWhitelistedForRule(list: Whitelist, value: string, ruleName: string): boolean {
  return nameMatches(list.perRule.get(ruleName), value);
}

/** True when `image` is on the global image list (reference-aware, see the header). */
export function isImageGloballyWhitelisted(list: Whitelist, image: string): boolean {
  return imageMatches(list.global, image);
}

/** True when `image` is on the image list for rule `ruleName` (reference-aware, see the header). */
export function isImageWhitelistedForRule(list: Whitelist, image: string, ruleName: string): boolean {
  return imageMatches(list.perRule.get(ruleName), image);
}
