import { expect } from 'chai';
import pino from 'pino';
import request from 'supertest';
import { loadConfig } from '../../../src/config';
import { EMPTY_GROUP } from '../../../src/engine/judge';
import { createHttpApp } from '../../../src/http/app';
import type { HttpDeps } from '../../../src/http/deps';
import { createMetrics } from '../../../src/metrics';
import { CIS_CATALOG } from '../../../src/policies/cis/catalog';
import type { CisCheckResult } from '../../../src/policies/cis/model';
import { parsePacks, type LoadedPacks } from '../../../src/policies/cis/packs-file';
import type { RuleSet } from '../../../src/rules/rule-set';
import type { CisReportRow } from '../../../src/store/cis-report';
import { DetectionStore } from '../../../src/store/detections';

const SCAN_END = new Date('2026-11-23T10:00:02.000Z');

function loaded(text: string): LoadedPacks {
  const parsed = parsePacks(text, 'packs.yml');
  expect(parsed.errors).to.deep.equal([]);
  return { cis: parsed.cis!, file: { path: 'packs.yml', present: true, source: text, loadedAt: SCAN_END.toISOString() } };
}

function results(fail: readonly string[]): CisCheckResult[] {
  return CIS_CATALOG.filter((c) => c.scope === 'container').map((c) => ({ id: c.id, cis: c.cis, result: fail.includes(c.id) ? 'fail' : 'pass', mode: c.informational ? 'off' : 'WARN' }));
}

function deps(cis: { rows: CisReportRow[]; packs: LoadedPacks | undefined } | undefined): HttpDeps {
  const ruleSet: RuleSet = { containerRules: EMPTY_GROUP, whitelistRules: EMPTY_GROUP, requestRules: EMPTY_GROUP, files: [], evaluator: { evaluate: async () => [] }, close: () => undefined };
  const periodic = { lastRunStart: new Date('2026-11-23T10:00:00.000Z'), lastRunEnd: SCAN_END, lastRunSeconds: 2 };
  return {
    config: loadConfig({}, '/', 'test'),
    log: pino({ level: 'silent' }),
    metrics: createMetrics('test'),
    store: new DetectionStore({ capacity: 10 }),
    rules: () => ruleSet,
    periodicStatus: () => periodic,
    health: () => ({ healthy: true, problems: [], details: {} }),
    reloadStatus: () => null,
    policies: () => undefined,
    triggers: () => undefined,
    ...(cis ? { cisReport: () => ({ ...cis, lastScan: periodic }) } : {}),
  };
}

const ROWS: CisReportRow[] = [
  { containerId: 'a'.repeat(64), name: '<img src=x onerror=alert(1)>', image: 'busybox', time: SCAN_END, source: 'periodic', results: results(['privileged-container']) },
  { containerId: 'b'.repeat(64), name: 'fine', image: 'busybox', time: SCAN_END, source: 'event', results: results([]) },
];

describe('GET /report', () => {
  it('answers JSON by default, in the report shape, from the last scan', async () => {
    const response = await request(createHttpApp(deps({ rows: ROWS, packs: loaded('cis-docker: { mode: WARN }\n') })).callback()).get('/report').set('accept', '*/*');
    expect(response.status).to.equal(200);
    expect(response.type).to.equal('application/json');
    expect(response.body.last_scan).to.equal(SCAN_END.toISOString());
    expect(response.body.pack).to.deep.equal({ mode: 'WARN' });
    expect(response.body.summary).to.include({ containers: 2, failed_warn: 1, failed_kill: 0 });
    expect(response.body.containers.map((c: { name: string; failed: string[] }) => [c.name, c.failed])).to.deep.equal([
      ['<img src=x onerror=alert(1)>', ['privileged-container']],
      ['fine', []],
    ]);
  });

  it('renders a matrix page for a browser, escaping names, with pass rates, scores and the filter', async () => {
    const response = await request(createHttpApp(deps({ rows: ROWS, packs: loaded('cis-docker:\n') })).callback()).get('/report').set('accept', 'text/html');
    expect(response.type).to.equal('text/html');
    expect(response.text).to.include('id="cis-matrix"').and.include('id="failures-only"').and.include('id="pass-rates"');
    expect(response.text).to.include('&lt;img src=x onerror=alert(1)&gt;').and.not.include('<img src=x');
    expect(response.text).to.include('title="5.5 Privileged containers are not used');
    expect(response.text).to.match(/<tr class="has-failure" data-failed="1">/).and.match(/<tr class="no-failure" data-failed="0">/);
    expect(response.text).to.not.match(/<script[^>]+src=/);
  });

  it('says so when no pack is loaded, in JSON and in the page', async () => {
    for (const cis of [undefined, { rows: ROWS, packs: undefined }]) {
      const app = createHttpApp(deps(cis)).callback();
      const json = await request(app).get('/report');
      expect(json.body).to.include({ pack: null });
      expect(json.body.results).to.deep.equal([]);
      const html = await request(app).get('/report').set('accept', 'text/html');
      expect(html.text).to.include('No packs are loaded');
    }
  });
});
