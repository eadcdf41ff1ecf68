import { expect } from 'chai';
import { CIS_CATALOG } from '../../../../src/policies/cis/catalog';
import { cisViolations, effectiveMode, excluded, judgeContainerCis, judgeExecCis, judgeRequestCis } from '../../../../src/policies/cis/judge';
import type { CisCheckLogic, CisCheckResult, CisPackConfig, ContainerSubject, ExecSubject, PackMode } from '../../../../src/policies/cis/model';
import { parsePacks } from '../../../../src/policies/cis/packs-file';

const anchored = (sources: readonly string[]): RegExp[] => sources.map((source) => new RegExp(`^(?:${source})$`));

interface PackSpec {
  mode?: PackMode;
  checkModes?: Record<string, PackMode>;
  names?: string[];
  images?: string[];
  excludeChecks?: Record<string, { names?: string[]; images?: string[] }>;
}

function pack(spec: PackSpec = {}): CisPackConfig {
  return {
    mode: spec.mode ?? 'WARN',
    checkModes: new Map(Object.entries(spec.checkModes ?? {})),
    exclude: { names: anchored(spec.names ?? []), images: anchored(spec.images ?? []) },
    excludeChecks: new Map(Object.entries(spec.excludeChecks ?? {}).map(([id, e]) => [id, { names: anchored(e.names ?? []), images: anchored(e.images ?? []) }])),
  };
}

/** Compiled by the packs file itself, so the judge is tested against what an admin writes. */
function fromFile(...lines: string[]): CisPackConfig {
  const result = parsePacks(`${lines.join('\n')}\n`, 'packs.yml');
  if (!result.cis) throw new Error(`unexpected: ${result.errors.join('\n')}`);
  return result.cis;
}

const CONTAINER_IDS = CIS_CATALOG.filter((c) => c.scope === 'container').map((c) => c.id);

/** Fake container logic: privileged fails with a detail, host-network on NetworkMode, one check throws, one exec-only. */
const FAKE_LOGIC: readonly CisCheckLogic[] = [
  { id: 'privileged-container', container: (s) => (s.params.HostConfig?.Privileged ? { result: 'fail', detail: 'Privileged: true' } : { result: 'pass' }) },
  { id: 'host-network', container: (s) => (s.params.HostConfig?.NetworkMode === 'host' ? { result: 'fail' } : { result: 'pass' }) },
  { id: 'ports-published', container: () => ({ result: 'fail', detail: '8080/tcp' }) },
  { id: 'memory-unlimited', exec: () => ({ result: 'fail' }) },
  {
    id: 'healthcheck-missing',
    container: () => {
      throw new Error('Healthcheck is not an object');
    },
  },
  { id: 'exec-privileged', exec: (s) => (s.privileged ? { result: 'fail', detail: 'Privileged exec' } : { result: 'pass' }) },
  { id: 'exec-as-root', exec: (s) => (s.user === 'root' || s.user === '0' ? { result: 'fail', detail: `User ${s.user}` } : { result: 'pass' }) },
  { id: 'swarm-mode-enabled', request: (action) => (action === 'swarmInit' || action === 'swarmJoin' ? { result: 'fail' } : { result: 'pass' }) },
];

const PRIVILEGED: ContainerSubject = { form: 'runtime', params: { HostConfig: { Privileged: true, NetworkMode: 'host' } } };
const PLAIN: ContainerSubject = { form: 'admission', params: { HostConfig: {} } };

function byId(results: readonly CisCheckResult[]): Map<string, CisCheckResult> {
  return new Map(results.map((r) => [r.id, r]));
}

describe('CIS judge', () => {
  describe('effectiveMode', () => {
    const cases: Array<{ name: string; config: CisPackConfig; check: string; mode: PackMode }> = [
      { name: 'the pack mode when nothing overrides it', config: pack({ mode: 'KILL' }), check: 'privileged-container', mode: 'KILL' },
      { name: 'a per-check override beats the pack mode', config: pack({ mode: 'WARN', checkModes: { 'privileged-container': 'KILL' } }), check: 'privileged-container', mode: 'KILL' },
      { name: 'a per-check off in a KILL pack', config: pack({ mode: 'KILL', checkModes: { 'memory-unlimited': 'off' } }), check: 'memory-unlimited', mode: 'off' },
      { name: 'a per-check KILL in an off pack', config: pack({ mode: 'off', checkModes: { 'host-pid': 'KILL' } }), check: 'host-pid', mode: 'KILL' },
      { name: 'an off pack', config: pack({ mode: 'off' }), check: 'host-pid', mode: 'off' },
      { name: 'an override does not leak to other checks', config: pack({ mode: 'WARN', checkModes: { 'host-pid': 'KILL' } }), check: 'host-ipc', mode: 'WARN' },
      { name: 'informational checks are off in a KILL pack', config: pack({ mode: 'KILL' }), check: 'ports-published', mode: 'off' },
      { name: 'informational checks stay off whatever the override', config: pack({ mode: 'WARN', checkModes: { 'default-bridge': 'KILL' } }), check: 'default-bridge', mode: 'off' },
      { name: 'asked by CIS number, the slug override applies', config: pack({ mode: 'WARN', checkModes: { 'privileged-container': 'KILL' } }), check: '5.5', mode: 'KILL' },
      { name: 'informational asked by CIS number', config: pack({ mode: 'KILL' }), check: '5.28', mode: 'off' },
      { name: 'from the file: number override', config: fromFile('cis-docker:', '  mode: warn', '  checks:', '    "5.10": kill'), check: 'host-network', mode: 'KILL' },
    ];
    for (const { name, config, check, mode } of cases) {
      it(name, () => {
        expect(effectiveMode(config, check)).to.equal(mode);
      });
    }
  });

  describe('excluded', () => {
    const config = fromFile(
      'cis-docker:',
      '  exclude:',
      '    names: ["^monitoring-", "^ci-"]',
      '    images: ["^registry\\\\.example\\\\.com/ops/"]',
      '    checks:',
      '      "5.10": { names: ["^edge-proxy$"] }',
      '      privileged-container: { images: ["^docker:.*-dind$"] }',
      '      host-pid: { names: [".*"] }',
    );
    const cases: Array<{ name: string; check: string; container: string; image: string; excluded: boolean }> = [
      { name: 'a pack-wide name', check: 'privileged-container', container: 'monitoring-node', image: 'busybox', excluded: true },
      { name: 'a pack-wide name spares every check', check: 'memory-unlimited', container: 'monitoring-node', image: 'busybox', excluded: true },
      { name: "Docker's leading / is not part of the name", check: 'memory-unlimited', container: '/monitoring-node', image: 'busybox', excluded: true },
      { name: 'an anchored pattern: not in the middle', check: 'memory-unlimited', container: 'x-monitoring-node', image: 'busybox', excluded: false },
      { name: '"^ci-" spares every name starting with ci-', check: 'memory-unlimited', container: 'ci-runner', image: 'busybox', excluded: true },
      { name: '"^edge-proxy$" spares that name only', check: 'host-network', container: 'edge-proxy-2', image: 'nginx', excluded: false },
      { name: 'a pack-wide image', check: 'host-network', container: 'app', image: 'registry.example.com/ops/agent:1.2', excluded: true },
      { name: 'an anchored image pattern: another registry with the same path', check: 'host-network', container: 'app', image: 'evil.io/registry.example.com/ops/agent', excluded: false },
      { name: 'an escaped dot is a dot', check: 'host-network', container: 'app', image: 'registryXexample.com/ops/agent', excluded: false },
      { name: 'images are matched as given, not normalised', check: 'host-network', container: 'app', image: 'docker.io/library/busybox', excluded: false },
      { name: 'a per-check name spares that check', check: 'host-network', container: 'edge-proxy', image: 'nginx', excluded: true },
      { name: 'a per-check entry found by CIS number', check: '5.10', container: 'edge-proxy', image: 'nginx', excluded: true },
      { name: 'a per-check name does not spare other checks', check: 'privileged-container', container: 'edge-proxy', image: 'nginx', excluded: false },
      { name: 'a per-check image spares that check', check: 'privileged-container', container: 'build', image: 'docker:27-dind', excluded: true },
      { name: 'a per-check image does not spare other checks', check: 'host-network', container: 'build', image: 'docker:27-dind', excluded: false },
      { name: 'a nameless create matches no name exclusion, even ".*"', check: 'host-pid', container: '', image: 'busybox', excluded: false },
      { name: '".*" spares every named container from that check', check: 'host-pid', container: 'anything', image: 'busybox', excluded: true },
      { name: 'nobody else', check: 'host-network', container: 'app', image: 'nginx', excluded: false },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(excluded(config, c.check, c.container, c.image)).to.equal(c.excluded);
      });
    }
  });

  describe('judgeContainerCis', () => {
    it('one result per container-scope check, in catalogue order', () => {
      const results = judgeContainerCis(pack(), FAKE_LOGIC, PLAIN, 'app', 'nginx');
      expect(results.map((r) => r.id)).to.deep.equal(CONTAINER_IDS);
      expect(results.map((r) => r.cis)).to.deep.equal(CIS_CATALOG.filter((c) => c.scope === 'container').map((c) => c.cis));
    });

    const cases: Array<{ name: string; config: CisPackConfig; subject: ContainerSubject; container?: string; image?: string; expected: Record<string, Partial<CisCheckResult>> }> = [
      {
        name: 'findings with the effective mode; a missing form or missing logic is not_applicable',
        config: pack({ mode: 'WARN', checkModes: { 'host-network': 'KILL' } }),
        subject: PRIVILEGED,
        expected: {
          'privileged-container': { result: 'fail', mode: 'WARN', detail: 'Privileged: true' },
          'host-network': { result: 'fail', mode: 'KILL' },
          'ports-published': { result: 'fail', mode: 'off', detail: '8080/tcp' },
          'memory-unlimited': { result: 'not_applicable', mode: 'WARN' },
          'host-pid': { result: 'not_applicable', mode: 'WARN' },
        },
      },
      {
        name: 'passing checks',
        config: pack({ mode: 'KILL' }),
        subject: PLAIN,
        expected: { 'privileged-container': { result: 'pass', mode: 'KILL' }, 'host-network': { result: 'pass', mode: 'KILL' } },
      },
      {
        name: 'a check that throws fails, with why',
        config: pack(),
        subject: PLAIN,
        expected: { 'healthcheck-missing': { result: 'fail', mode: 'WARN', detail: 'the check failed: Healthcheck is not an object' } },
      },
      {
        name: 'a pack-wide exclusion: every check excluded, mode kept',
        config: pack({ mode: 'KILL', names: ['app'] }),
        subject: PRIVILEGED,
        expected: Object.fromEntries(CONTAINER_IDS.map((id) => [id, { result: 'excluded', mode: CIS_CATALOG.find((e) => e.id === id)?.informational ? 'off' : 'KILL' }])),
      },
      {
        name: 'a per-check exclusion: that check only',
        config: pack({ excludeChecks: { 'privileged-container': { images: ['docker:.*-dind'] } } }),
        subject: PRIVILEGED,
        image: 'docker:27-dind',
        expected: { 'privileged-container': { result: 'excluded', mode: 'WARN' }, 'host-network': { result: 'fail', mode: 'WARN' } },
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const results = byId(judgeContainerCis(c.config, FAKE_LOGIC, c.subject, c.container ?? 'app', c.image ?? 'nginx'));
        for (const [id, expected] of Object.entries(c.expected)) {
          const result = results.get(id);
          expect(result, id).to.deep.equal({ id, cis: CIS_CATALOG.find((e) => e.id === id)?.cis, ...expected });
        }
      });
    }

    it('an excluded check is not run', () => {
      let ran = 0;
      const logic: CisCheckLogic[] = [{ id: 'privileged-container', container: () => (ran++, { result: 'fail' }) }];
      judgeContainerCis(pack({ names: ['app'] }), logic, PLAIN, 'app', 'nginx');
      expect(ran).to.equal(0);
      judgeContainerCis(pack(), logic, PLAIN, 'app', 'nginx');
      expect(ran).to.equal(1);
    });
  });

  describe('judgeExecCis', () => {
    const cases: Array<{ name: string; config: CisPackConfig; subject: ExecSubject; container?: string; expected: Array<Partial<CisCheckResult>> }> = [
      {
        name: 'a plain exec passes both',
        config: pack(),
        subject: { form: 'admission', user: 'app', privileged: false },
        expected: [
          { id: 'exec-privileged', cis: '5.23', result: 'pass', mode: 'WARN' },
          { id: 'exec-as-root', cis: '5.24', result: 'pass', mode: 'WARN' },
        ],
      },
      {
        name: 'a privileged root exec fails both, each in its mode',
        config: pack({ mode: 'WARN', checkModes: { 'exec-privileged': 'KILL' } }),
        subject: { form: 'runtime', user: 'root', privileged: true },
        expected: [
          { id: 'exec-privileged', cis: '5.23', result: 'fail', mode: 'KILL', detail: 'Privileged exec' },
          { id: 'exec-as-root', cis: '5.24', result: 'fail', mode: 'WARN', detail: 'User root' },
        ],
      },
      {
        name: "the exec's container excluded for one check",
        config: pack({ excludeChecks: { 'exec-as-root': { names: ['db'] } } }),
        subject: { form: 'admission', user: '0', privileged: true },
        container: 'db',
        expected: [
          { id: 'exec-privileged', cis: '5.23', result: 'fail', mode: 'WARN', detail: 'Privileged exec' },
          { id: 'exec-as-root', cis: '5.24', result: 'excluded', mode: 'WARN' },
        ],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(judgeExecCis(c.config, FAKE_LOGIC, c.subject, c.container ?? 'app', 'nginx')).to.deep.equal(c.expected);
      });
    }

    it('no exec logic: not_applicable', () => {
      expect(judgeExecCis(pack(), [], { form: 'admission', user: 'root', privileged: true }, 'app', 'nginx').map((r) => r.result)).to.deep.equal(['not_applicable', 'not_applicable']);
    });
  });

  describe('judgeRequestCis', () => {
    const cases: Array<{ name: string; config: CisPackConfig; action: string; expected: CisCheckResult[] }> = [
      { name: 'swarm init fails 5.1', config: pack({ mode: 'KILL' }), action: 'swarmInit', expected: [{ id: 'swarm-mode-enabled', cis: '5.1', result: 'fail', mode: 'KILL' }] },
      { name: 'another action passes', config: pack(), action: 'containersList', expected: [{ id: 'swarm-mode-enabled', cis: '5.1', result: 'pass', mode: 'WARN' }] },
      { name: 'turned off: still judged, mode off', config: pack({ checkModes: { 'swarm-mode-enabled': 'off' } }), action: 'swarmJoin', expected: [{ id: 'swarm-mode-enabled', cis: '5.1', result: 'fail', mode: 'off' }] },
      { name: 'container exclusions do not apply to a request', config: pack({ names: ['.*'], images: ['.*'] }), action: 'swarmInit', expected: [{ id: 'swarm-mode-enabled', cis: '5.1', result: 'fail', mode: 'WARN' }] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(judgeRequestCis(c.config, FAKE_LOGIC, c.action)).to.deep.equal(c.expected);
      });
    }
  });

  describe('cisViolations', () => {
    const cases: Array<{ name: string; result: CisCheckResult; violation?: { id: string; cis: string; mode: 'WARN' | 'KILL'; reason: string } }> = [
      {
        name: 'a WARN failure with a detail',
        result: { id: 'privileged-container', cis: '5.5', result: 'fail', mode: 'WARN', detail: 'Privileged: true' },
        violation: { id: 'privileged-container', cis: '5.5', mode: 'WARN', reason: 'CIS 5.5 privileged-container: Privileged: true' },
      },
      {
        name: 'a KILL failure without a detail: the title',
        result: { id: 'host-network', cis: '5.10', result: 'fail', mode: 'KILL' },
        violation: { id: 'host-network', cis: '5.10', mode: 'KILL', reason: "CIS 5.10 host-network: The host's network namespace is not shared" },
      },
      { name: 'a failure in mode off', result: { id: 'ports-published', cis: '5.9', result: 'fail', mode: 'off', detail: '80/tcp' } },
      { name: 'a pass', result: { id: 'host-pid', cis: '5.16', result: 'pass', mode: 'KILL' } },
      { name: 'excluded', result: { id: 'host-pid', cis: '5.16', result: 'excluded', mode: 'KILL' } },
      { name: 'not applicable', result: { id: 'host-pid', cis: '5.16', result: 'not_applicable', mode: 'KILL' } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(cisViolations([c.result])).to.deep.equal(c.violation ? [c.violation] : []);
      });
    }

    it('end to end: a privileged host-network container against a WARN pack with 5.10 in KILL', () => {
      const config = fromFile('cis-docker:', '  checks:', '    "5.10": KILL');
      expect(cisViolations(judgeContainerCis(config, FAKE_LOGIC, PRIVILEGED, 'app', 'nginx'))).to.deep.equal([
        { id: 'privileged-container', cis: '5.5', mode: 'WARN', reason: 'CIS 5.5 privileged-container: Privileged: true' },
        { id: 'host-network', cis: '5.10', mode: 'KILL', reason: "CIS 5.10 host-network: The host's network namespace is not shared" },
        { id: 'healthcheck-missing', cis: '5.27', mode: 'WARN', reason: 'CIS 5.27 healthcheck-missing: the check failed: Healthcheck is not an object' },
      ]);
    });
  });
});
