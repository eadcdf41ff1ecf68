/**
 * The packs file (PACKS_PATH, rules/packs.yml by default): which check packs are on, in which mode,
 * and whom they spare. Optional: no file means no packs. Every problem is reported at once as
 * `file:line:col: message`, as for the docker-leash policy files, so the daemon turns each into a
 * RuleLoadError the same way.
 *
 *   cis-docker:
 *     mode: WARN                 # off | WARN | KILL (any case); WARN when omitted
 *     checks:                    # per-check mode, by CIS number or slug
 *       "5.5": KILL
 *       healthcheck-missing: off
 *     exclude:                   # regexes searched in the name, as docker-bench's -x patterns (anchor with ^ and $)
 *       names: ["monitoring-.*"]
 *       images: ["registry\\.example\\.com/ops/.*"]
 *       checks:
 *         "5.10": { names: ["edge-proxy"] }
 */
import { readFile } from 'node:fs/promises';
import { regexError } from '../leash/checks/regex-list';
import { isEmpty, isMap, isScalar, isSeq, itemsOf, keyedEntries, parseSource, Problems, rootOf, textOf, type Entry, type Node, type SourceFile } from '../leash/yaml-source';
import { CIS_CATALOG, cisCheck, type CisCatalogEntry } from './catalog';
import type { CisPackConfig, Exclusion, PackMode } from './model';

export const DEFAULT_PACKS_PATH = 'rules/packs.yml';
export const CIS_PACK = 'cis-docker';
export const KNOWN_PACKS: readonly string[] = [CIS_PACK];

const PACK_KEYS = ['mode', 'checks', 'exclude'];
const EXCLUDE_KEYS = ['names', 'images', 'checks'];
const CHECK_EXCLUDE_KEYS = ['names', 'images'];
const MODES = 'off, WARN or KILL (any case)';
const KNOWN_CHECKS = CIS_CATALOG.map((check) => `${check.cis} ${check.id}`).join(', ');
// Anyone who may create a container writes its labels, so a label exclusion would let every caller
// spare their own container from the checks meant to bind them.
const NO_LABELS = "exclusion by labels is not supported: a label on a create body is the caller's word (exclude by names or images)";

export interface PacksFileInfo {
  readonly path: string;
  readonly present: boolean;
  readonly source: string;
  readonly loadedAt: string;
}

export interface LoadedPacks {
  /** The `cis-docker` pack; undefined when the file does not name it. */
  readonly cis?: CisPackConfig;
  readonly file: PacksFileInfo;
}

/** The compiled file, or (with no config) every problem as `file:line:col: message`. */
export interface ParsedPacks {
  readonly cis?: CisPackConfig;
  readonly errors: readonly string[];
}

const EMPTY_EXCLUSION: Exclusion = { names: [], images: [] };

interface Context {
  readonly file: SourceFile;
  readonly problems: Problems;
}

export function parsePacks(text: string, path: string): ParsedPacks {
  const problems = new Problems([path]);
  const file = parseSource(path, text, problems);
  // The shape of a file that does not parse is not judged: its nodes are not what the admin meant.
  if (file === undefined) return { errors: problems.texts() };
  const context: Context = { file, problems };
  const root = rootOf(file);
  if (root === null) return { errors: [] };
  if (!isMap(root)) {
    problems.at(file, root, `a packs file maps each pack name (${KNOWN_PACKS.join(', ')}) to its settings, found ${describe(root)}`);
    return { errors: problems.texts() };
  }
  let cis: CisPackConfig | undefined;
  for (const { key, keyNode, value } of keyedEntries(file, root, problems)) {
    if (key !== CIS_PACK) {
      problems.at(file, keyNode, `unknown pack "${key}" (known packs: ${KNOWN_PACKS.join(', ')})`);
      continue;
    }
    cis = compileCisPack(keyNode, value, context);
  }
  if (problems.count > 0) return { errors: problems.texts() };
  return cis === undefined ? { errors: [] } : { cis, errors: [] };
}

/** The file compiled, with what /policies-style views show; absent file: no packs, no errors. */
export async function loadPacks(path: string): Promise<{ packs?: LoadedPacks; errors: string[] }> {
  const loadedAt = new Date().toISOString();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { errors: [] };
    return { errors: [`${path}:1:1: cannot read: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const parsed = parsePacks(text, path);
  if (parsed.errors.length > 0) return { errors: [...parsed.errors] };
  const file: PacksFileInfo = { path, present: true, source: text, loadedAt };
  return { packs: parsed.cis === undefined ? { file } : { cis: parsed.cis, file }, errors: [] };
}

function compileCisPack(keyNode: Node | null, value: Node | null, context: Context): CisPackConfig | undefined {
  const { file, problems } = context;
  const config = { mode: 'WARN' as PackMode, checkModes: new Map<string, PackMode>(), exclude: EMPTY_EXCLUSION, excludeChecks: new Map<string, Exclusion>() };
  // `cis-docker:` alone turns the pack on with its defaults.
  if (isEmpty(value)) return config;
  if (!isMap(value)) {
    problems.at(file, value ?? keyNode, `pack "${CIS_PACK}" must be a mapping (${PACK_KEYS.join(', ')}), found ${describe(value)}`);
    return undefined;
  }
  const entries = keyedEntries(file, value, problems);
  reportUnknownKeys(entries, PACK_KEYS, `pack "${CIS_PACK}"`, context);
  const modeEntry = field(entries, 'mode');
  if (modeEntry !== undefined) {
    const mode = modeOf(modeEntry, 'mode', context);
    if (mode !== undefined) config.mode = mode;
  }
  const checksEntry = field(entries, 'checks');
  if (checksEntry !== undefined) compileCheckModes(checksEntry, config.checkModes, context);
  const excludeEntry = field(entries, 'exclude');
  if (excludeEntry !== undefined) compileExclude(excludeEntry, config, context);
  // Any problem here fails the whole file (parsePacks), so a half-read pack is never returned.
  return config;
}

function compileCheckModes(entry: Entry, checkModes: Map<string, PackMode>, context: Context): void {
  const { file, problems } = context;
  if (isEmpty(entry.value)) return;
  if (!isMap(entry.value)) {
    problems.at(file, entry.value ?? entry.keyNode, `checks must map each check (CIS number or slug) to ${MODES}, found ${describe(entry.value)}`);
    return;
  }
  const seen = new Map<string, Entry>();
  for (const checkEntry of keyedEntries(file, entry.value, problems)) {
    const check = checkOf(checkEntry, seen, context);
    const mode = modeOf(checkEntry, `the mode of check "${checkEntry.key}"`, context);
    if (check === undefined || mode === undefined) continue;
    if (check.informational && mode !== 'off') {
      problems.at(file, checkEntry.value, `CIS ${check.cis} ${check.id} is informational (reported, never enforced): its mode can only be off, not ${mode}`);
      continue;
    }
    checkModes.set(check.id, mode);
  }
}

function compileExclude(entry: Entry, config: { exclude: Exclusion; excludeChecks: Map<string, Exclusion> }, context: Context): void {
  const { file, problems } = context;
  if (isEmpty(entry.value)) return;
  if (!isMap(entry.value)) {
    problems.at(file, entry.value ?? entry.keyNode, `exclude must be a mapping (${EXCLUDE_KEYS.join(', ')}), found ${describe(entry.value)}`);
    return;
  }
  const entries = keyedEntries(file, entry.value, problems);
  reportUnknownKeys(entries, EXCLUDE_KEYS, 'exclude', context);
  config.exclude = exclusionOf(entries, context);
  const checks = field(entries, 'checks');
  if (checks === undefined || isEmpty(checks.value)) return;
  if (!isMap(checks.value)) {
    problems.at(file, checks.value ?? checks.keyNode, `exclude.checks must map each check (CIS number or slug) to its exclusion (names, images), found ${describe(checks.value)}`);
    return;
  }
  const seen = new Map<string, Entry>();
  for (const checkEntry of keyedEntries(file, checks.value, problems)) {
    const check = checkOf(checkEntry, seen, context);
    let exclusion: Exclusion = EMPTY_EXCLUSION;
    if (isMap(checkEntry.value)) {
      const inner = keyedEntries(file, checkEntry.value, problems);
      reportUnknownKeys(inner, CHECK_EXCLUDE_KEYS, `the exclusion of check "${checkEntry.key}"`, context);
      exclusion = exclusionOf(inner, context);
    } else if (!isEmpty(checkEntry.value)) {
      problems.at(file, checkEntry.value, `the exclusion of check "${checkEntry.key}" must be a mapping (${CHECK_EXCLUDE_KEYS.join(', ')}), found ${describe(checkEntry.value)}`);
      continue;
    }
    if (check !== undefined) config.excludeChecks.set(check.id, exclusion);
  }
}

/** The catalogue entry a check key names, reporting unknown checks and a check named twice. */
function checkOf(entry: Entry & { readonly key: string }, seen: Map<string, Entry>, { file, problems }: Context): CisCatalogEntry | undefined {
  const check = cisCheck(entry.key);
  if (check === undefined) {
    problems.at(file, entry.keyNode, `unknown check "${entry.key}" (name a check by CIS number or slug: ${KNOWN_CHECKS})`);
    return undefined;
  }
  const earlier = seen.get(check.id);
  if (earlier !== undefined) {
    // The parser already rejects the same key twice; this is the same check by number and by slug.
    const where = earlier.keyNode?.range ? ` on line ${file.lineCounter.linePos(earlier.keyNode.range[0]).line}` : '';
    problems.at(file, entry.keyNode, `check "${entry.key}" (CIS ${check.cis} ${check.id}) is already named as "${earlier.key ?? ''}"${where}`);
    return undefined;
  }
  seen.set(check.id, entry);
  return check;
}

function modeOf(entry: Entry, what: string, { file, problems }: Context): PackMode | undefined {
  const text = textOf(entry.value);
  switch (text?.toLowerCase()) {
    case 'off':
      return 'off';
    case 'warn':
      return 'WARN';
    case 'kill':
      return 'KILL';
  }
  problems.at(file, entry.value ?? entry.keyNode, `${what} must be ${MODES}, found ${describe(entry.value)}`);
  return undefined;
}

function exclusionOf(entries: readonly Entry[], context: Context): Exclusion {
  for (const entry of entries) {
    if (entry.key === 'labels') context.problems.at(context.file, entry.keyNode, NO_LABELS);
  }
  return {
    names: regexesOf(field(entries, 'names'), 'names', 'container names', context),
    images: regexesOf(field(entries, 'images'), 'images', 'image names', context),
  };
}

function regexesOf(entry: Entry | undefined, key: string, what: string, { file, problems }: Context): RegExp[] {
  if (entry === undefined || isEmpty(entry.value)) return [];
  const usage = `${key} must be a list of regular expressions (searched in ${what}; anchor with ^ and $)`;
  if (!isSeq(entry.value)) {
    problems.at(file, entry.value ?? entry.keyNode, `${usage}, found ${describe(entry.value)}`);
    return [];
  }
  const out: RegExp[] = [];
  for (const item of itemsOf(file, entry.value)) {
    const source = textOf(item);
    if (source === undefined) {
      problems.at(file, item ?? entry.value, `each entry of ${key} must be a regular expression, found ${describe(item)}`);
      continue;
    }
    const invalid = regexError(source);
    if (invalid !== undefined) {
      problems.at(file, item, `invalid regular expression "${source}": ${invalid}`);
      continue;
    }
    out.push(new RegExp(source));
  }
  return out;
}

function field(entries: readonly Entry[], key: string): Entry | undefined {
  return entries.find((e) => e.key === key);
}

function reportUnknownKeys(entries: readonly Entry[], known: readonly string[], where: string, { file, problems }: Context): void {
  for (const { key, keyNode } of entries) {
    // `labels` gets its own message (exclusionOf) where exclusions are read.
    if (key === undefined || known.includes(key) || (key === 'labels' && known.includes('names'))) continue;
    problems.at(file, keyNode, `unknown key "${key}" in ${where} (expected ${known.join(', ')})`);
  }
}

function describe(node: Node | null): string {
  if (isEmpty(node)) return 'nothing';
  if (isScalar(node) && typeof node.value !== 'string') return `${typeof node.value} ${textOf(node) ?? ''}`;
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return `"${textOf(node) ?? ''}"`;
}
