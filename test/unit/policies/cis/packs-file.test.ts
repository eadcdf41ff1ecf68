import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CIS_CATALOG } from '../../../../src/policies/cis/catalog';
import type { CisPackConfig } from '../../../../src/policies/cis/model';
import { DEFAULT_PACKS_PATH, loadPacks, parsePacks } from '../../../../src/policies/cis/packs-file';

const FILE = 'packs.yml';
const SHIPPED = path.resolve(__dirname, '../../../../..', DEFAULT_PACKS_PATH);
const KNOWN_CHECKS = CIS_CATALOG.map((check) => `${check.cis} ${check.id}`).join(', ');
const LABELS = "exclusion by labels is not supported: a label on a create body is the caller's word (exclude by names or images)";

/** YAML text, one argument per line, so a case reads the line numbers it asserts. */
function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The compiled pack with maps and regexes as plain data, for deep comparison. */
interface PlainPack {
  mode: string;
  checkModes: Record<string, string>;
  exclude: { names: string[]; images: string[] };
  excludeChecks: Record<string, { names: string[]; images: string[] }>;
}

function plain(config: CisPackConfig): PlainPack {
  const sources = (exclusion: CisPackConfig['exclude']) => ({ names: exclusion.names.map((r) => r.source), images: exclusion.images.map((r) => r.source) });
  return {
    mode: config.mode,
    checkModes: Object.fromEntries(config.checkModes),
    exclude: sources(config.exclude),
    excludeChecks: Object.fromEntries([...config.excludeChecks].map(([id, exclusion]) => [id, sources(exclusion)])),
  };
}

function compiled(text: string): PlainPack {
  const result = parsePacks(text, FILE);
  expect(result.errors).to.deep.equal([]);
  if (!result.cis) throw new Error('no cis-docker pack');
  return plain(result.cis);
}

const DEFAULTS: PlainPack = { mode: 'WARN', checkModes: {}, exclude: { names: [], images: [] }, excludeChecks: {} };

describe('CIS packs file', () => {
  describe('files that mean no packs', () => {
    const cases: Array<{ name: string; text: string }> = [
      { name: 'an empty file', text: '' },
      { name: 'comments only', text: yaml('# nothing here yet') },
      { name: 'an empty document', text: yaml('---', '...') },
      { name: 'an empty mapping', text: yaml('{}') },
    ];
    for (const { name, text } of cases) {
      it(name, () => {
        expect(parsePacks(text, FILE)).to.deep.equal({ errors: [] });
      });
    }
  });

  describe('good files', () => {
    const cases: Array<{ name: string; text: string; expected: PlainPack }> = [
      { name: 'the pack key alone: WARN for every check', text: yaml('cis-docker:'), expected: DEFAULTS },
      { name: 'an empty pack mapping', text: yaml('cis-docker: {}'), expected: DEFAULTS },
      { name: 'mode in any case', text: yaml('cis-docker:', '  mode: kill'), expected: { ...DEFAULTS, mode: 'KILL' } },
      { name: 'mode Off', text: yaml('cis-docker:', '  mode: Off'), expected: { ...DEFAULTS, mode: 'off' } },
      {
        name: 'per-check modes by number (quoted or not) and slug, resolved to slugs',
        text: yaml('cis-docker:', '  mode: off', '  checks:', '    "5.5": KILL', '    5.10: warn', '    healthcheck-missing: OFF', '    ports-published: off'),
        expected: {
          ...DEFAULTS,
          mode: 'off',
          checkModes: { 'privileged-container': 'KILL', 'host-network': 'WARN', 'healthcheck-missing': 'off', 'ports-published': 'off' },
        },
      },
      {
        name: 'exclusions, pack-wide and per check, as written (searched in the name)',
        text: yaml(
          'cis-docker:',
          '  exclude:',
          '    names: ["monitoring-.*", ci]',
          '    images: ["registry\\\\.example\\\\.com/ops/.*"]',
          '    checks:',
          '      "5.10": { names: ["edge-proxy"], images: [] }',
          '      privileged-container:',
          '        images: ["docker:.*-dind"]',
          '      5.27:',
        ),
        expected: {
          ...DEFAULTS,
          exclude: { names: ['monitoring-.*', 'ci'], images: ['registry\\.example\\.com\\/ops\\/.*'] },
          excludeChecks: {
            'host-network': { names: ['edge-proxy'], images: [] },
            'privileged-container': { names: [], images: ['docker:.*-dind'] },
            'healthcheck-missing': { names: [], images: [] },
          },
        },
      },
      {
        name: 'anchors and aliases resolve',
        text: yaml('cis-docker:', '  mode: &strict KILL', '  checks:', '    "5.32": *strict'),
        expected: { ...DEFAULTS, mode: 'KILL', checkModes: { 'docker-socket-mounted': 'KILL' } },
      },
    ];
    for (const { name, text, expected } of cases) {
      it(name, () => {
        expect(compiled(text)).to.deep.equal(expected);
      });
    }
  });

  describe('bad files: every problem at its file:line:col', () => {
    const cases: Array<{ name: string; text: string; errors: string[] }> = [
      {
        name: 'a YAML syntax error (the shape is then not judged)',
        text: yaml('cis-docker:', '  mode: [WARN', 'other: 1'),
        errors: ['packs.yml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
      },
      {
        name: 'the same key twice (the parser)',
        text: yaml('cis-docker:', '  mode: WARN', '  mode: KILL'),
        errors: ['packs.yml:3:3: Map keys must be unique'],
      },
      { name: 'top level a list', text: yaml('- cis-docker'), errors: ['packs.yml:1:1: a packs file maps each pack name (cis-docker) to its settings, found a list'] },
      { name: 'top level a scalar', text: yaml('cis-docker'), errors: ['packs.yml:1:1: a packs file maps each pack name (cis-docker) to its settings, found "cis-docker"'] },
      { name: 'an unknown pack', text: yaml('cis-kubernetes:', '  mode: WARN'), errors: ['packs.yml:1:1: unknown pack "cis-kubernetes" (known packs: cis-docker)'] },
      { name: 'the pack not a mapping', text: yaml('cis-docker: [WARN]'), errors: ['packs.yml:1:13: pack "cis-docker" must be a mapping (mode, checks, exclude), found a list'] },
      { name: 'the pack given a mode directly', text: yaml('cis-docker: KILL'), errors: ['packs.yml:1:13: pack "cis-docker" must be a mapping (mode, checks, exclude), found "KILL"'] },
      { name: 'an unknown key in the pack', text: yaml('cis-docker:', '  level: 2'), errors: ['packs.yml:2:3: unknown key "level" in pack "cis-docker" (expected mode, checks, exclude)'] },
      { name: 'a bad mode', text: yaml('cis-docker:', '  mode: deny'), errors: ['packs.yml:2:9: mode must be off, WARN or KILL (any case), found "deny"'] },
      { name: 'a boolean mode', text: yaml('cis-docker:', '  mode: false'), errors: ['packs.yml:2:9: mode must be off, WARN or KILL (any case), found boolean false'] },
      { name: 'an empty mode', text: yaml('cis-docker:', '  mode:'), errors: ['packs.yml:2:8: mode must be off, WARN or KILL (any case), found nothing'] },
      {
        name: 'checks not a mapping',
        text: yaml('cis-docker:', '  checks: ["5.5"]'),
        errors: ['packs.yml:2:11: checks must map each check (CIS number or slug) to off, WARN or KILL (any case), found a list'],
      },
      {
        name: 'a bad per-check mode',
        text: yaml('cis-docker:', '  checks:', '    "5.5": block'),
        errors: ['packs.yml:3:12: the mode of check "5.5" must be off, WARN or KILL (any case), found "block"'],
      },
      {
        name: 'an unknown check by number (5.7 is not part of the pack)',
        text: yaml('cis-docker:', '  checks:', '    "5.7": KILL'),
        errors: [`packs.yml:3:5: unknown check "5.7" (name a check by CIS number or slug: ${KNOWN_CHECKS})`],
      },
      {
        name: 'an unknown check by slug',
        text: yaml('cis-docker:', '  checks:', '    privileged: KILL'),
        errors: [`packs.yml:3:5: unknown check "privileged" (name a check by CIS number or slug: ${KNOWN_CHECKS})`],
      },
      {
        name: 'the same check by number and by slug',
        text: yaml('cis-docker:', '  checks:', '    "5.5": KILL', '    privileged-container: off'),
        errors: ['packs.yml:4:5: check "privileged-container" (CIS 5.5 privileged-container) is already named as "5.5" on line 3'],
      },
      {
        name: 'an informational check set to WARN or KILL (off is fine)',
        text: yaml('cis-docker:', '  checks:', '    "5.9": WARN', '    image-not-pinned: KILL', '    default-bridge: off'),
        errors: [
          'packs.yml:3:12: CIS 5.9 ports-published is informational (reported, never enforced): its mode can only be off, not WARN',
          'packs.yml:4:23: CIS 5.28 image-not-pinned is informational (reported, never enforced): its mode can only be off, not KILL',
        ],
      },
      { name: 'exclude not a mapping', text: yaml('cis-docker:', '  exclude: [ci]'), errors: ['packs.yml:2:12: exclude must be a mapping (names, images, checks), found a list'] },
      { name: 'an unknown key in exclude', text: yaml('cis-docker:', '  exclude:', '    ids: [abc]'), errors: ['packs.yml:3:5: unknown key "ids" in exclude (expected names, images, checks)'] },
      { name: 'labels in exclude', text: yaml('cis-docker:', '  exclude:', '    labels: {team: ops}'), errors: [`packs.yml:3:5: ${LABELS}`] },
      {
        name: 'labels in a per-check exclusion',
        text: yaml('cis-docker:', '  exclude:', '    checks:', '      "5.10": {labels: [edge]}'),
        errors: [`packs.yml:4:16: ${LABELS}`],
      },
      {
        name: 'names not a list',
        text: yaml('cis-docker:', '  exclude:', '    names: monitoring-.*'),
        errors: ['packs.yml:3:12: names must be a list of regular expressions (searched in container names; anchor with ^ and $), found "monitoring-.*"'],
      },
      {
        name: 'a names entry that is not text',
        text: yaml('cis-docker:', '  exclude:', '    names: [ok, {a: b}, [c]]'),
        errors: ['packs.yml:3:17: each entry of names must be a regular expression, found a mapping', 'packs.yml:3:25: each entry of names must be a regular expression, found a list'],
      },
      {
        name: 'a bad regex',
        text: yaml('cis-docker:', '  exclude:', '    images: ["ops/(", "a**"]'),
        errors: ['packs.yml:3:14: invalid regular expression "ops/(": Unterminated group', 'packs.yml:3:23: invalid regular expression "a**": Nothing to repeat'],
      },
      {
        name: 'exclude.checks not a mapping',
        text: yaml('cis-docker:', '  exclude:', '    checks: ["5.10"]'),
        errors: ['packs.yml:3:13: exclude.checks must map each check (CIS number or slug) to its exclusion (names, images), found a list'],
      },
      {
        name: 'a per-check exclusion not a mapping, and one with an unknown key',
        text: yaml('cis-docker:', '  exclude:', '    checks:', '      "5.10": [edge]', '      host-pid: {names: [a], checks: {}}'),
        errors: [
          'packs.yml:4:15: the exclusion of check "5.10" must be a mapping (names, images), found a list',
          'packs.yml:5:30: unknown key "checks" in the exclusion of check "host-pid" (expected names, images)',
        ],
      },
      {
        name: 'an unknown check and a check named twice in exclude.checks',
        text: yaml('cis-docker:', '  exclude:', '    checks:', '      "5.99": {names: [a]}', '      host-network: {names: [a]}', '      5.10: {names: [b]}'),
        errors: [`packs.yml:4:7: unknown check "5.99" (name a check by CIS number or slug: ${KNOWN_CHECKS})`, 'packs.yml:6:7: check "5.10" (CIS 5.10 host-network) is already named as "host-network" on line 5'],
      },
      {
        name: 'several problems in one file, all reported in file order',
        text: yaml(
          'cis-docker:',
          '  mode: strict',
          '  checks:',
          '    "5.5": KILL',
          '    privileged-container: WARN',
          '    5.18: KILL',
          '    nope: off',
          '  exclude:',
          '    labels: [ops]',
          '    names: ["edge-("]',
          '  report: yes',
          'cis-k8s: {}',
        ),
        errors: [
          'packs.yml:2:9: mode must be off, WARN or KILL (any case), found "strict"',
          'packs.yml:5:5: check "privileged-container" (CIS 5.5 privileged-container) is already named as "5.5" on line 4',
          'packs.yml:6:11: CIS 5.18 host-devices is informational (reported, never enforced): its mode can only be off, not KILL',
          `packs.yml:7:5: unknown check "nope" (name a check by CIS number or slug: ${KNOWN_CHECKS})`,
          `packs.yml:9:5: ${LABELS}`,
          'packs.yml:10:13: invalid regular expression "edge-(": Unterminated group',
          'packs.yml:11:3: unknown key "report" in pack "cis-docker" (expected mode, checks, exclude)',
          'packs.yml:12:1: unknown pack "cis-k8s" (known packs: cis-docker)',
        ],
      },
    ];
    for (const { name, text, errors } of cases) {
      it(name, () => {
        expect(parsePacks(text, FILE)).to.deep.equal({ errors });
      });
    }
  });

  describe('loadPacks', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'packs-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('an absent file: no packs, no errors', async () => {
      expect(await loadPacks(path.join(dir, 'packs.yml'))).to.deep.equal({ errors: [] });
    });

    it('a present file: the pack and what was loaded, when', async () => {
      const file = path.join(dir, 'packs.yml');
      const text = yaml('cis-docker:', '  mode: KILL');
      await writeFile(file, text);
      const { packs, errors } = await loadPacks(file);
      expect(errors).to.deep.equal([]);
      expect(packs?.cis?.mode).to.equal('KILL');
      expect(packs?.file).to.include({ path: file, present: true, source: text });
      expect(Number.isNaN(Date.parse(packs?.file.loadedAt ?? ''))).to.equal(false);
    });

    it('an empty file: present, without a pack', async () => {
      const file = path.join(dir, 'packs.yml');
      await writeFile(file, '');
      const { packs, errors } = await loadPacks(file);
      expect(errors).to.deep.equal([]);
      expect(packs?.cis).to.equal(undefined);
      expect(packs?.file.present).to.equal(true);
    });

    it('errors carry the path given', async () => {
      const file = path.join(dir, 'packs.yml');
      await writeFile(file, yaml('cis-docker:', '  mode: maybe'));
      expect(await loadPacks(file)).to.deep.equal({ errors: [`${file}:2:9: mode must be off, WARN or KILL (any case), found "maybe"`] });
    });

    it('a path that cannot be read is an error, not "no packs"', async () => {
      const result = await loadPacks(dir);
      expect(result.packs).to.equal(undefined);
      expect(result.errors).to.have.length(1);
      expect(result.errors[0]).to.match(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:1: cannot read: EISDIR`));
    });
  });

  describe(`the shipped ${DEFAULT_PACKS_PATH}`, () => {
    it('loads with no errors: cis-docker in WARN for every check, sparing nobody', async () => {
      const { packs, errors } = await loadPacks(SHIPPED);
      expect(errors).to.deep.equal([]);
      if (!packs?.cis) throw new Error('the shipped file has no cis-docker pack');
      expect(plain(packs.cis)).to.deep.equal(DEFAULTS);
    });

    it('its commented examples are valid once uncommented', async () => {
      const text = await readFile(SHIPPED, 'utf8');
      // `  # checks:` / `  #   "5.5": KILL …` -> `  checks:` / `    "5.5": KILL …`; prose comments stay.
      const uncommented = text.replace(/^ {2}# (checks:|exclude:| {2}.*)$/gm, '  $1');
      expect(uncommented).to.not.equal(text);
      expect(compiled(uncommented)).to.deep.equal({
        mode: 'WARN',
        checkModes: { 'privileged-container': 'KILL', 'docker-socket-mounted': 'KILL', 'healthcheck-missing': 'off' },
        exclude: { names: ['^monitoring-'], images: ['^registry\\.example\\.com\\/ops\\/'] },
        excludeChecks: {
          'host-network': { names: ['^edge-proxy$'], images: [] },
          'privileged-container': { names: [], images: ['^docker:.*-dind$'] },
        },
      });
    });
  });
});
