/**
 * The compliance report, pure: the CIS results of the last scan (one row per running container) as
 * the stable JSON of GET /report and `scan --report json`, and the same data as a text table and as
 * JUnit XML for CI. The JSON shape is documented in the README ("Compliance report"): add fields,
 * never rename or drop them, since dashboards and CI jobs parse it.
 */
import type { CheckSource } from '../../rules/api';
import type { CisReportRow } from '../../store/cis-report';
import { CIS_CATALOG, cisCheck } from './catalog';
import { effectiveMode } from './judge';
import type { CisCheckResult, PackMode } from './model';
import type { LoadedPacks } from './packs-file';

export type ReportResult = CisCheckResult['result'];

export interface ReportCheck {
  readonly id: string;
  readonly cis: string;
  readonly title: string;
  readonly level: 1 | 2;
  /** The check's mode in force (informational checks: always off). */
  readonly mode: PackMode;
  readonly informational: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly excluded: number;
  readonly not_applicable: number;
  /** passed / (passed + failed); null when no container passed or failed it. */
  readonly pass_rate: number | null;
}

export interface ReportContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** When its results were recorded, and by what (a scan, a start event). */
  readonly time: string;
  readonly source: CheckSource;
  /** passed / (passed + failed) over its checks; null when none passed or failed. */
  readonly score: number | null;
  /** Slugs of the checks it fails, in catalogue order. */
  readonly failed: readonly string[];
}

export interface ReportResultRow {
  readonly check: string;
  readonly cis: string;
  /** The container's name (its short id when it has none). */
  readonly container: string;
  readonly container_id: string;
  readonly result: ReportResult;
  readonly mode: PackMode;
  readonly time: string;
  readonly detail?: string;
}

export interface CisReportJson {
  readonly generated_at: string;
  readonly last_scan: string | null;
  /** The `cis-docker` pack in force; null when the packs file does not turn it on. */
  readonly pack: { readonly mode: PackMode } | null;
  readonly summary: {
    readonly containers: number;
    readonly checks: number;
    /** Failing results whose mode is KILL / WARN (informational and `off` checks count in neither). */
    readonly failed_kill: number;
    readonly failed_warn: number;
  };
  readonly checks: readonly ReportCheck[];
  readonly containers: readonly ReportContainer[];
  readonly results: readonly ReportResultRow[];
}

const CATALOG_ORDER = new Map(CIS_CATALOG.map((check, index) => [check.id, index] as const));

// Four places are enough to tell 2 of 3 from 3 of 4, and keep the JSON free of 0.6666666666666666.
function ratio(passed: number, failed: number): number | null {
  const judged = passed + failed;
  return judged === 0 ? null : Math.round((passed / judged) * 10_000) / 10_000;
}

function containerLabel(row: Pick<CisReportRow, 'name' | 'containerId'>): string {
  return row.name || row.containerId.slice(0, 12);
}

/**
 * The report of `rows` under `packs`. Without the `cis-docker` pack the lists are empty, even when
 * rows remain from before a reload turned it off: the report shows what is in force.
 */
export function buildReport(rows: readonly CisReportRow[], packs: LoadedPacks | undefined, generatedAt: Date, lastScan: Date | null = null): CisReportJson {
  const cis = packs?.cis;
  const base = { generated_at: generatedAt.toISOString(), last_scan: lastScan?.toISOString() ?? null };
  if (cis === undefined) return { ...base, pack: null, summary: { containers: 0, checks: 0, failed_kill: 0, failed_warn: 0 }, checks: [], containers: [], results: [] };

  // Columns: every container-scope check, and any other check a result names (exec and swarm
  // checks are judged on requests, not on containers, so they normally have none).
  const ids = new Set(CIS_CATALOG.filter((check) => check.scope === 'container').map((check) => check.id));
  for (const row of rows) for (const result of row.results) ids.add(result.id);
  const ordered = [...ids].sort((a, b) => (CATALOG_ORDER.get(a) ?? Infinity) - (CATALOG_ORDER.get(b) ?? Infinity) || a.localeCompare(b));

  const counts = new Map<string, Record<ReportResult, number>>(ordered.map((id) => [id, { pass: 0, fail: 0, excluded: 0, not_applicable: 0 }]));
  const results: ReportResultRow[] = [];
  const containers: ReportContainer[] = [];
  let failedKill = 0;
  let failedWarn = 0;
  for (const row of rows) {
    const time = row.time.toISOString();
    const byCheck = new Map(row.results.map((result) => [result.id, result] as const));
    let passed = 0;
    const failed: string[] = [];
    for (const id of ordered) {
      const result = byCheck.get(id);
      if (result === undefined) continue;
      counts.get(id)![result.result] += 1;
      if (result.result === 'pass') passed += 1;
      if (result.result === 'fail') {
        failed.push(id);
        if (result.mode === 'KILL') failedKill += 1;
        if (result.mode === 'WARN') failedWarn += 1;
      }
      results.push({
        check: id,
        cis: result.cis,
        container: containerLabel(row),
        container_id: row.containerId,
        result: result.result,
        mode: result.mode,
        time,
        ...(result.detail !== undefined && result.detail !== '' ? { detail: result.detail } : {}),
      });
    }
    containers.push({ id: row.containerId, name: row.name, image: row.image, time, source: row.source, score: ratio(passed, failed.length), failed });
  }

  const checks = ordered.map((id): ReportCheck => {
    const entry = cisCheck(id);
    const count = counts.get(id)!;
    return {
      id,
      cis: entry?.cis ?? results.find((r) => r.check === id)?.cis ?? '',
      title: entry?.title ?? '',
      level: entry?.level ?? 1,
      mode: effectiveMode(cis, id),
      informational: entry?.informational ?? false,
      passed: count.pass,
      failed: count.fail,
      excluded: count.excluded,
      not_applicable: count.not_applicable,
      pass_rate: ratio(count.pass, count.fail),
    };
  });

  return {
    ...base,
    pack: { mode: cis.mode },
    summary: { containers: containers.length, checks: checks.length, failed_kill: failedKill, failed_warn: failedWarn },
    checks,
    containers,
    results,
  };
}

/** Whether the report holds a failing check in KILL: what fails a CI job. */
export function hasKillFailure(report: CisReportJson): boolean {
  return report.summary.failed_kill > 0;
}

/** `0.6667` as `67%`; null as an em dash. */
export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${Math.round(rate * 100)}%`;
}

/** One line per container: its failing checks with their CIS numbers and modes, and its score. */
export function formatReportTable(report: CisReportJson): string {
  if (report.pack === null) return 'No cis-docker pack is loaded (PACKS_PATH): there is nothing to report.';
  const byId = new Map(report.checks.map((check) => [check.id, check] as const));
  const modeOf = new Map(report.results.map((r) => [`${r.container_id} ${r.check}`, r.mode] as const));
  const header = ['CONTAINER', 'IMAGE', 'SCORE', 'FAILED CHECKS'];
  const cells = report.containers.map((c) => [
    c.name || c.id.slice(0, 12),
    c.image,
    formatRate(c.score),
    c.failed.map((id) => `${byId.get(id)?.cis ?? '?'} ${id} [${modeOf.get(`${c.id} ${id}`) ?? '?'}]`).join(', ') || '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const table = [header, ...cells].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  const { summary } = report;
  table.push('', `${summary.containers} container(s), ${summary.checks} check(s): ${summary.failed_kill} failing in KILL, ${summary.failed_warn} failing in WARN`);
  return table.join('\n');
}

// XML 1.0 cannot carry these characters at all, escaped or not: a container name or a detail
// holding one would make the whole document unreadable, so they become U+FFFD.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text safe inside an XML attribute value (double-quoted) or element. */
export function escapeXml(value: string): string {
  return value
    .replace(NOT_XML, '\uFFFD')
    .replace(/[&<>"'\t\n\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' })[c]!);
}

/**
 * JUnit XML: one testsuite per check, one testcase per container. A failing check is a
 * `<failure>` whatever its mode (the mode is its `type`); excluded and not applicable are
 * `<skipped>`. CI tools show it as tests; the exit code, not this file, decides the job.
 */
export function formatReportJunit(report: CisReportJson): string {
  const attrs = (values: Record<string, string | number>): string =>
    Object.entries(values)
      .map(([key, value]) => ` ${key}="${escapeXml(String(value))}"`)
      .join('');
  const byCheck = new Map<string, ReportResultRow[]>();
  for (const result of report.results) byCheck.set(result.check, [...(byCheck.get(result.check) ?? []), result]);
  const suites = report.checks.map((check) => {
    const cases = (byCheck.get(check.id) ?? []).map((r) => {
      const open = `    <testcase${attrs({ classname: `cis-docker.${check.id}`, name: r.container, time: 0 })}`;
      if (r.result === 'pass') return `${open}/>`;
      if (r.result === 'fail') {
        const message = `CIS ${check.cis} ${check.title} [${r.mode}]${r.detail ? `: ${r.detail}` : ''}`;
        return `${open}>\n      <failure${attrs({ message, type: r.mode })}>${escapeXml(`${r.container} (${r.container_id}): ${message}`)}</failure>\n    </testcase>`;
      }
      const why = r.result === 'excluded' ? 'excluded by the packs file or a whitelist' : 'not applicable';
      return `${open}>\n      <skipped${attrs({ message: why })}/>\n    </testcase>`;
    });
    const properties = `    <properties>\n${Object.entries({ cis: check.cis, id: check.id, level: check.level, mode: check.mode, informational: String(check.informational) })
      .map(([name, value]) => `      <property${attrs({ name, value })}/>`)
      .join('\n')}\n    </properties>`;
    const head = attrs({
      name: `${check.cis} ${check.title}`,
      id: check.id,
      tests: check.passed + check.failed + check.excluded + check.not_applicable,
      failures: check.failed,
      errors: 0,
      skipped: check.excluded + check.not_applicable,
      timestamp: report.generated_at,
    });
    return `  <testsuite${head}>\n${[properties, ...cases].join('\n')}\n  </testsuite>`;
  });
  const total = report.results.length;
  const failures = report.results.filter((r) => r.result === 'fail').length;
  const skipped = report.results.filter((r) => r.result === 'excluded' || r.result === 'not_applicable').length;
  const root = attrs({ name: 'CIS Docker Benchmark (docker-enforcer)', tests: total, failures, errors: 0, skipped, timestamp: report.generated_at });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${root}>${suites.length > 0 ? `\n${suites.join('\n')}\n` : ''}</testsuites>\n`;
}
