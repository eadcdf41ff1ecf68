import { expect } from 'chai';
import { CIS_CATALOG } from '../../../../src/policies/cis/catalog';
import type { CisCheckResult, CisPackConfig, PackMode } from '../../../../src/policies/cis/model';
import type { LoadedPacks } from '../../../../src/policies/cis/packs-file';
import { buildReport, escapeXml, formatReportJunit, formatReportTable, hasKillFailure, type CisReportJson } from '../../../../src/policies/cis/report';
import type { CisReportRow } from '../../../../src/store/cis-report';
import { parseXml } from './xml';

const GENERATED = new Date('2026-11-23T12:00:00.000Z');
const SCANNED = new Date('2026-11-23T11:59:00.000Z');
const CONTAINER_CHECKS = CIS_CATALOG.filter((check) => check.scope === 'container');

function packs(mode: PackMode, checkModes: Record<string, PackMode> = {}): LoadedPacks {
  const cis: CisPackConfig = { mode, checkModes: new Map(Object.entries(checkModes)), exclude: { names: [], images: [] }, excludeChecks: new Map() };
  return { cis, file: { path: '/etc/de/packs.yml', present: true, source: '', loadedAt: GENERATED.toISOString() } };
}

/** Every container-scope check passes, except those named; modes as the pack would give them. */
function results(config: LoadedPacks, overrides: Record<string, Pick<CisCheckResult, 'result'> & { detail?: string }> = {}): CisCheckResult[] {
  const cis = config.cis!;
  return CONTAINER_CHECKS.map((check) => {
    const override = overrides[check.id];
    const mode = check.informational ? 'off' : (cis.checkModes.get(check.id) ?? cis.mode);
    return { id: check.id, cis: check.cis, result: override?.result ?? 'pass', mode, ...(override?.detail ? { detail: override.detail } : {}) };
  });
}

function row(name: string, id: string, list: CisCheckResult[]): CisReportRow {
  return { containerId: id.repeat(64 / id.length), name, image: `img/${name}:1`, time: new Date('2026-11-23T11:59:30.000Z'), source: 'periodic', results: list };
}

describe('CIS compliance report', () => {
  describe('buildReport', () => {
    it('is empty, with pack null, when no cis-docker pack is loaded', () => {
      const rows = [row('web', 'a', results(packs('WARN')))];
      for (const loaded of [undefined, { file: packs('WARN').file }]) {
        expect(buildReport(rows, loaded, GENERATED, SCANNED)).to.deep.equal({
          generated_at: '2026-11-23T12:00:00.000Z',
          last_scan: '2026-11-23T11:59:00.000Z',
          pack: null,
          summary: { containers: 0, checks: 0, failed_kill: 0, failed_warn: 0 },
          checks: [],
          containers: [],
          results: [],
        });
      }
      expect(buildReport([], undefined, GENERATED).last_scan).to.equal(null);
    });

    it('has the documented keys, in a stable order', () => {
      const loaded = packs('WARN');
      const report = buildReport([row('web', 'a', results(loaded, { 'privileged-container': { result: 'fail', detail: 'Privileged' } }))], loaded, GENERATED, SCANNED);
      expect(Object.keys(report)).to.deep.equal(['generated_at', 'last_scan', 'pack', 'summary', 'checks', 'containers', 'results']);
      expect(Object.keys(report.summary)).to.deep.equal(['containers', 'checks', 'failed_kill', 'failed_warn']);
      expect(Object.keys(report.checks[0]!)).to.deep.equal(['id', 'cis', 'title', 'level', 'mode', 'informational', 'passed', 'failed', 'excluded', 'not_applicable', 'pass_rate']);
      expect(Object.keys(report.containers[0]!)).to.deep.equal(['id', 'name', 'image', 'time', 'source', 'score', 'failed']);
      expect(Object.keys(report.results.find((r) => r.result === 'fail')!)).to.deep.equal(['check', 'cis', 'container', 'container_id', 'result', 'mode', 'time', 'detail']);
      expect(Object.keys(report.results.find((r) => r.result === 'pass')!)).to.deep.equal(['check', 'cis', 'container', 'container_id', 'result', 'mode', 'time']);
      // Round-trips through JSON unchanged: no Dates, Maps or undefined left in it.
      expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
    });

    const loaded = packs('WARN', { 'privileged-container': 'KILL', 'healthcheck-missing': 'off' });
    const rows = [
      row('priv', 'a', results(loaded, { 'privileged-container': { result: 'fail', detail: 'Privileged: true' }, 'memory-unlimited': { result: 'fail' }, 'healthcheck-missing': { result: 'fail' }, 'host-devices': { result: 'not_applicable' } })),
      row('limited', 'b', results(loaded, { 'healthcheck-missing': { result: 'fail' }, 'image-not-pinned': { result: 'fail' } })),
      row('spared', 'c', results(loaded).map((r) => ({ ...r, result: 'excluded' as const }))),
      row('', 'd', results(loaded, { 'memory-unlimited': { result: 'not_applicable' } })),
    ];
    const report = buildReport(rows, loaded, GENERATED, SCANNED);
    const check = (id: string) => report.checks.find((c) => c.id === id)!;
    const container = (id: string) => report.containers.find((c) => c.id.startsWith(id))!;

    const checkCases: Array<[string, Partial<CisReportJson['checks'][number]>]> = [
      ['privileged-container', { cis: '5.5', mode: 'KILL', passed: 2, failed: 1, excluded: 1, not_applicable: 0, pass_rate: 0.6667, informational: false }],
      ['memory-unlimited', { cis: '5.11', mode: 'WARN', passed: 1, failed: 1, excluded: 1, not_applicable: 1, pass_rate: 0.5 }],
      ['healthcheck-missing', { cis: '5.27', mode: 'off', passed: 1, failed: 2, pass_rate: 0.3333 }],
      ['host-devices', { cis: '5.18', mode: 'off', informational: true, passed: 2, failed: 0, not_applicable: 1, pass_rate: 1 }],
      ['image-not-pinned', { cis: '5.28', mode: 'off', informational: true, passed: 2, failed: 1 }],
      ['cpu-unlimited', { cis: '5.12', title: 'CPU priority is set appropriately on containers', level: 1, passed: 3, failed: 0, pass_rate: 1 }],
    ];
    for (const [id, expected] of checkCases) {
      it(`counts check ${id}`, () => {
        expect(check(id)).to.include(expected);
      });
    }

    it('lists every container-scope check in catalogue order, and no exec or swarm check', () => {
      expect(report.checks.map((c) => c.id)).to.deep.equal(CONTAINER_CHECKS.map((c) => c.id));
      expect(report.summary).to.deep.equal({ containers: 4, checks: CONTAINER_CHECKS.length, failed_kill: 1, failed_warn: 1 });
      expect(hasKillFailure(report)).to.equal(true);
    });

    const containerCases: Array<[string, number | null, string[]]> = [
      ['a', Math.round(((CONTAINER_CHECKS.length - 4) / (CONTAINER_CHECKS.length - 1)) * 10_000) / 10_000, ['privileged-container', 'memory-unlimited', 'healthcheck-missing']],
      ['b', Math.round(((CONTAINER_CHECKS.length - 2) / CONTAINER_CHECKS.length) * 10_000) / 10_000, ['healthcheck-missing', 'image-not-pinned']],
      ['c', null, []],
      ['d', 1, []],
    ];
    for (const [id, score, failed] of containerCases) {
      it(`scores container ${id}`, () => {
        expect(container(id).score).to.equal(score);
        expect(container(id).failed).to.deep.equal(failed);
      });
    }

    it('has one result per container and check, named by container (short id when nameless), with details only where given', () => {
      expect(report.results).to.have.length(4 * CONTAINER_CHECKS.length);
      expect(report.results.find((r) => r.container === 'priv' && r.check === 'privileged-container')).to.deep.equal({
        check: 'privileged-container',
        cis: '5.5',
        container: 'priv',
        container_id: 'a'.repeat(64),
        result: 'fail',
        mode: 'KILL',
        time: '2026-11-23T11:59:30.000Z',
        detail: 'Privileged: true',
      });
      expect(report.results.filter((r) => r.container_id === 'd'.repeat(64)).map((r) => r.container)).to.satisfy((names: string[]) => names.every((n) => n === 'dddddddddddd'));
      expect(report.results.filter((r) => 'detail' in r)).to.have.length(1);
    });

    it('a WARN pack with no failing KILL check does not fail a CI job', () => {
      const warn = packs('WARN');
      expect(hasKillFailure(buildReport([row('x', 'e', results(warn, { 'privileged-container': { result: 'fail' } }))], warn, GENERATED))).to.equal(false);
    });
  });

  describe('table', () => {
    it('prints failing checks with CIS numbers and modes, and the score', () => {
      const loaded = packs('WARN', { 'privileged-container': 'KILL' });
      const report = buildReport([row('priv', 'a', results(loaded, { 'privileged-container': { result: 'fail' } })), row('ok', 'b', results(loaded))], loaded, GENERATED);
      const lines = formatReportTable(report).split('\n');
      expect(lines[0]).to.match(/^CONTAINER\s+IMAGE\s+SCORE\s+FAILED CHECKS$/);
      expect(lines.find((l) => l.startsWith('priv'))).to.match(/img\/priv:1\s+96%\s+5\.5 privileged-container \[KILL\]$/);
      expect(lines.find((l) => l.startsWith('ok '))).to.match(/100%\s+—$/);
      expect(lines.at(-1)).to.equal(`2 container(s), ${CONTAINER_CHECKS.length} check(s): 1 failing in KILL, 0 failing in WARN`);
      expect(formatReportTable(buildReport([], undefined, GENERATED))).to.include('No cis-docker pack');
    });
  });

  describe('JUnit XML', () => {
    const loaded = packs('WARN', { 'privileged-container': 'KILL' });
    const tricky = 'evil"<name>&\'x';
    const detail = 'Privileged: true & <script>alert("x")</script>\nline two \u0001 end';
    const report = buildReport(
      [
        row(tricky, 'a', results(loaded, { 'privileged-container': { result: 'fail', detail }, 'host-devices': { result: 'not_applicable' } })),
        row('spared', 'b', results(loaded).map((r) => ({ ...r, result: 'excluded' as const }))),
      ],
      loaded,
      GENERATED,
    );
    const xml = formatReportJunit(report);
    const root = parseXml(xml);

    it('is well-formed: one root, every tag closed, attributes quoted and escaped, only XML characters', () => {
      expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).to.equal(true);
      expect(root.name).to.equal('testsuites');
      // Characters XML 1.0 forbids even as references.
      expect(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(xml)).to.equal(false);
    });

    it('has one testsuite per check and one testcase per container', () => {
      const suites = root.children.filter((c) => c.name === 'testsuite');
      expect(suites.map((s) => s.attrs['id'])).to.deep.equal(CONTAINER_CHECKS.map((c) => c.id));
      for (const suite of suites) expect(suite.children.filter((c) => c.name === 'testcase').map((c) => c.attrs['name'])).to.deep.equal([tricky, 'spared']);
      expect(root.attrs).to.include({ tests: String(2 * CONTAINER_CHECKS.length), failures: '1', skipped: String(CONTAINER_CHECKS.length + 1), errors: '0' });
    });

    it('reports a failure with its message and mode, unescaped back to the original text', () => {
      const suite = root.children.find((c) => c.attrs['id'] === 'privileged-container')!;
      expect(suite.attrs).to.include({ name: '5.5 Privileged containers are not used', tests: '2', failures: '1', skipped: '1' });
      const failing = suite.children.find((c) => c.attrs['name'] === tricky)!;
      const failure = failing.children.find((c) => c.name === 'failure')!;
      expect(failure.attrs['type']).to.equal('KILL');
      expect(failure.attrs['message']).to.equal(`CIS 5.5 Privileged containers are not used [KILL]: ${detail.replace('\u0001', '\uFFFD')}`);
      expect(failure.text).to.include('<script>');
      const skipped = suite.children.find((c) => c.attrs['name'] === 'spared')!.children;
      expect(skipped.map((c) => c.name)).to.deep.equal(['skipped']);
      const devices = root.children.find((c) => c.attrs['id'] === 'host-devices')!;
      expect(devices.children.find((c) => c.attrs['name'] === tricky)!.children[0]!.attrs['message']).to.equal('not applicable');
      expect(root.children.find((c) => c.attrs['id'] === 'memory-unlimited')!.children.find((c) => c.attrs['name'] === tricky)!.children).to.deep.equal([]);
    });

    it('is an empty testsuites element without the pack', () => {
      const empty = parseXml(formatReportJunit(buildReport([], undefined, GENERATED)));
      expect(empty.name).to.equal('testsuites');
      expect(empty.children).to.deep.equal([]);
    });

    it('escapes markup, quotes and line breaks in attributes', () => {
      expect(escapeXml(`a&b<c>d"e'f\ng\th\u0000`)).to.equal('a&amp;b&lt;c&gt;d&quot;e&apos;f&#10;g&#9;h\uFFFD');
      expect(escapeXml('\uD83D\uDC33 ok \uD83D alone')).to.equal('\uD83D\uDC33 ok \uFFFD alone');
    });

    it('the checker itself rejects what is not well-formed', () => {
      for (const bad of ['<a><b></a></b>', '<a x="1 < 2"/>', '<a>&nope;</a>', '<a x=1/>', '<a></a><b/>', '<a>', '<a x="1" x="2"/>']) {
        expect(() => parseXml(bad), bad).to.throw();
      }
    });
  });
});
