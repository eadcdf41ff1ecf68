import { parsePolicyTexts } from '../../../src/policies/leash/load';
import type { LoadedPolicies } from '../../../src/policies/loaded';
import { expect } from 'chai';
import pino from 'pino';
import request from 'supertest';
import { loadConfig } from '../../../src/config';
import { EMPTY_GROUP } from '../../../src/engine/judge';
import { createHttpApp } from '../../../src/http/app';
import type { HealthReport, HttpDeps, PeriodicRunStatus } from '../../../src/http/deps';
import { createMetrics } from '../../../src/metrics';
import type { RuleSet } from '../../../src/rules/rule-set';
import { DetectionStore, type DetectionInput } from '../../../src/store/detections';

const RUN_START = new Date('2026-11-22T10:00:00.000Z');

function detection(overrides: Partial<DetectionInput>): DetectionInput {
  return {
    id: 'a'.repeat(64),
    name: 'web',
    violatedRules: ['must have memory limit', 'no privileged'],
    owner: '[unknown]',
    source: 'periodic',
    image: 'busybox:latest',
    labels: { team: 'x' },
    mode: 'KILL',
    action: 'stopped',
    ...overrides,
  };
}

function deps(overrides: { periodic?: PeriodicRunStatus | null; health?: HealthReport; policies?: LoadedPolicies } = {}): HttpDeps {
  const store = new DetectionStore({ capacity: 100 });
  store.record(detection({ id: 'old', name: 'old-one' }), new Date('2026-11-22T09:00:00.000Z'));
  store.record(detection({ id: 'new', name: 'tricky "name" \\ <script>x</script>', violatedRules: ['rule with "quotes"'] }), new Date('2026-11-22T10:30:00.000Z'));
  const ruleSet: RuleSet = {
    containerRules: { handle: 0, rules: [{ name: 'must have memory limit', mode: undefined, index: 0 }, { name: 'no privileged', mode: 'WARN', index: 1 }] },
    whitelistRules: EMPTY_GROUP,
    requestRules: EMPTY_GROUP,
    files: [{ kind: 'rules', path: '/etc/de/rules.ts', present: true, loadedAt: '2026-11-22T08:00:00.000Z', source: "const x = '<b>';", names: ['must have memory limit', 'no privileged'] }],
    evaluator: { evaluate: async () => [] },
    close: () => undefined,
  };
  return {
    config: loadConfig({ MODE: 'KILL' }, '/', 'test'),
    log: pino({ level: 'silent' }),
    metrics: createMetrics('test'),
    store,
    rules: () => ruleSet,
    periodicStatus: () => (overrides.periodic === undefined ? { lastRunStart: RUN_START, lastRunEnd: new Date('2026-11-22T10:00:02.500Z'), lastRunSeconds: 2.5 } : overrides.periodic),
    health: () => overrides.health ?? { healthy: true, problems: [], details: { docker: { reachable: true } } },
    reloadStatus: () => null,
    policies: () => overrides.policies,
    triggers: () => ({ kind: 'triggers', path: '/etc/de/triggers.ts', present: true, loadedAt: '2026-11-22T08:00:00.000Z', source: 'export const triggers = [];', names: ['webhook'] }),
  };
}

describe('HTTP API', () => {
  it('GET / has the run fields and the detections, as real JSON', async () => {
    const response = await request(createHttpApp(deps()).callback()).get('/').set('accept', '*/*');
    expect(response.status).to.equal(200);
    expect(response.type).to.equal('application/json');
    expect(response.body.last_full_check_run_timestamp_start).to.equal('2026-11-22T10:00:00.000Z');
    expect(response.body.last_full_check_run_time).to.equal(2.5);
    expect(response.body.detections).to.have.length(2);
    expect(response.body.detections[1]).to.deep.equal({
      id: 'new',
      name: 'tricky "name" \\ <script>x</script>',
      violated_rule: 'rule with "quotes"',
      owner: '[unknown]',
      source: 'periodic',
      count: 1,
      last_timestamp: '2026-11-22T10:30:00.000Z',
      mode: 'KILL',
      action: 'stopped',
    });
  });

  it('applies show_all_violated_rules and show_image_and_labels, and rejects bad values', async () => {
    const app = createHttpApp(deps()).callback();
    const all = await request(app).get('/?show_all_violated_rules=1&show_image_and_labels=1');
    expect(all.body.detections[0].violated_rule).to.deep.equal(['must have memory limit', 'no privileged']);
    expect(all.body.detections[0]).to.include({ image: 'busybox:latest' });
    expect(all.body.detections[0].labels).to.deep.equal({ team: 'x' });
    const bad = await request(app).get('/?show_all_violated_rules=maybe');
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.include('show_all_violated_rules');
  });

  it('omits the run fields without periodic mode, and /recent keeps detections since the latest run start', async () => {
    const noPeriodic = await request(createHttpApp(deps({ periodic: null })).callback()).get('/');
    expect(Object.keys(noPeriodic.body)).to.deep.equal(['detections']);
    const recent = await request(createHttpApp(deps()).callback()).get('/recent');
    expect(recent.body.detections.map((d: { id: string }) => d.id)).to.deep.equal(['new']);
  });

  it('sends HTML only to clients that ask for text/html, escaping user-controlled strings', async () => {
    const page = await request(createHttpApp(deps()).callback()).get('/').set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(page.type).to.equal('text/html');
    expect(page.text).to.include('<table id="detections"');
    expect(page.text).to.include('&lt;script&gt;x&lt;/script&gt;');
    expect(page.text).not.to.include('<script>x</script>');
    const rules = await request(createHttpApp(deps()).callback()).get('/rules').set('accept', 'text/html');
    expect(rules.text).to.include('&#39;&lt;b&gt;&#39;');
  });

  it('GET /rules lists the loaded rules with their effective modes and the file', async () => {
    const response = await request(createHttpApp(deps()).callback()).get('/rules');
    expect(response.body.rules).to.deep.equal([
      { name: 'must have memory limit', mode: 'KILL' },
      { name: 'no privileged', mode: 'WARN' },
    ]);
    expect(response.body.files[0]).to.include({ path: '/etc/de/rules.ts', loaded_at: '2026-11-22T08:00:00.000Z' });
  });

  it('GET /triggers lists the loaded triggers and their file', async () => {
    const response = await request(createHttpApp(deps()).callback()).get('/triggers');
    expect(response.body.triggers).to.deep.equal([{ name: 'webhook' }]);
    expect(response.body.files[0]).to.include({ path: '/etc/de/triggers.ts' });
  });

  it('serves Prometheus text at /metrics', async () => {
    const response = await request(createHttpApp(deps()).callback()).get('/metrics').set('accept', 'text/html');
    expect(response.type).to.equal('text/plain');
    expect(response.text).to.include('# TYPE containers_stopped_total counter');
    expect(response.text).to.include('docker_enforcer_build_info{version="test"} 1');
  });

  it('answers /health with 200 or 503 and the reasons', async () => {
    const ok = await request(createHttpApp(deps()).callback()).get('/health');
    expect(ok.status).to.equal(200);
    expect(ok.body.status).to.equal('ok');
    const bad = await request(createHttpApp(deps({ health: { healthy: false, problems: ['docker unreachable'], details: {} } })).callback()).get('/health');
    expect(bad.status).to.equal(503);
    expect(bad.body.problems).to.deep.equal(['docker unreachable']);
  });

  it('answers unknown paths with 404 JSON and wrong methods with 405 JSON', async () => {
    const app = createHttpApp(deps()).callback();
    const missing = await request(app).get('/nope');
    expect(missing.status).to.equal(404);
    expect(missing.body).to.deep.equal({ error: 'not found: /nope' });
    const wrong = await request(app).post('/rules');
    expect(wrong.status).to.equal(405);
    expect(wrong.headers['allow']).to.include('GET');
    expect(wrong.body.error).to.include('not allowed');
  });

  it('shows the policies in force on /policies, JSON and HTML (escaped), and says when there are none', async () => {
    const texts = {
      policies: { path: '/etc/de/policies.yml', text: "- description: Users <b>own</b> theirs\n  hosts: ['+.*']\n  default: ReadOnly\n  mode: WARN\n  policies:\n    - members: [users]\n      rules:\n        containers:\n          ContainerName: ['^$USER-']\n" },
      groups: { path: '/etc/de/groups.yml', text: 'users: [alice, bob]\n' },
    };
    const parsed = parsePolicyTexts(texts);
    if (!parsed.config) throw new Error(JSON.stringify(parsed.errors));
    const policies: LoadedPolicies = { config: parsed.config, files: [{ kind: 'policies', path: texts.policies.path, present: true, loadedAt: 't', source: texts.policies.text }] };
    const app = createHttpApp(deps({ policies })).callback();
    const json = await request(app).get('/policies');
    expect(json.body).to.deep.include({ enabled: true, format: 'list', applies: { index: 1, name: 'Users <b>own</b> theirs' }, groups: { users: ['alice', 'bob'] } });
    expect(json.body.rule_sets[0]).to.deep.include({ default: 'ReadOnly', mode: 'WARN' });
    expect(json.body.rule_sets[0].policies[0]).to.deep.include({ members: ['users'], rules: { containers: ['ContainerName'] } });
    const html = await request(app).get('/policies').set('accept', 'text/html');
    expect(html.text).to.include('Users &lt;b&gt;own&lt;/b&gt; theirs').and.not.include('<b>own</b>');
    const none = await request(createHttpApp(deps()).callback()).get('/policies');
    expect(none.body).to.deep.include({ enabled: false, rule_sets: [] });
  });
});
