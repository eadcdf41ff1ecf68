/**
 * `docker-enforcer scan --dry-run` and `scan --report FORMAT`: judges every running container once,
 * exactly as a periodic scan would (same facts, positions, whitelists, deferred metrics and packs),
 * and reports what WARN/KILL would do, or the CIS compliance report, without acting. No HTTP
 * server, no events, no triggers.
 */
import pino from 'pino';
import type { Config } from '../config';
import { Stopper } from '../actions/stopper';
import { Enforcer, type ViolationReport } from '../actions/enforcer';
import { createDockerClient } from '../docker/no-engine';
import { ContainerInspector } from '../facts/inspector';
import { createMetrics } from '../metrics';
import { PeriodicScanner } from '../modes/periodic';
import type { Container } from '../rules/api';
import { loadRuleSet } from '../rules/rule-set';
import { DetectionStore } from '../store/detections';
import { ImageTrustVerifier } from '../policies/image-trust/verifier';
import { TrustDecisions } from '../store/trust-decisions';
import { CisReport } from '../store/cis-report';
import { loadPacks } from '../policies/cis/packs-file';
import { buildReport, type CisReportJson } from '../policies/cis/report';

/** The packs file does not load: the scan would judge with settings the admin did not write. */
export class PacksLoadError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`${errors.length} problem(s) in the packs file`);
  }
}

export type ReportFormat = 'table' | 'json' | 'junit';
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'json', 'junit'];

export interface ScanRow {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly violated: readonly string[];
  readonly mode: string;
  /** What the daemon would do: `stop`, `warn`, or `nothing`. */
  readonly wouldDo: 'stop' | 'warn' | 'nothing';
}

export interface DryRunResult {
  readonly rows: ScanRow[];
  /** Containers that could not be checked. */
  readonly failed: number;
  /** The CIS results of this scan, in the shape of GET /report. */
  readonly report: CisReportJson;
}

export async function dryRunScan(config: Config): Promise<DryRunResult> {
  // The daemon acts on the packs too (a KILL check stops a container), so the dry run judges with them.
  const packs = await loadPacks(config.packsPath);
  if (packs.errors.length > 0) throw new PacksLoadError(packs.errors);
  const cisReport = new CisReport();
  const log = pino({ level: 'silent' });
  const metrics = createMetrics(config.version);
  const docker = createDockerClient(config.dockerEndpoint, config.dockerReqTimeoutS * 1000);
  const rules = await loadRuleSet({ ...config, allowedModules: config.rulesAllowedModules, timeoutMs: config.ruleTimeoutMs });
  const inspector = new ContainerInspector({ docker, log, cacheParams: false, disableParams: config.disableParams, disableMetrics: config.disableMetrics, cacheTrusted: () => false, hostName: config.hostName });
  const stopper = new Stopper(docker, config.stopTimeoutS, log, metrics);
  const enforcer = new Enforcer({ log, metrics, store: new DetectionStore({ capacity: config.maxDetections, maxBytes: config.maxDetectionBytes }), stopper, dryRun: true });
  const reports = new Map<string, ViolationReport>();
  enforcer.onViolation((report) => reports.set((report.subject as Container).id, report));
  const scanner = new PeriodicScanner({
    docker,
    inspector,
    check: {
      // The image gate judges running containers here as in a periodic scan (TRUSTED_REGISTRIES).
      ...(config.imageTrust ? { imageTrust: { verifier: new ImageTrustVerifier({ settings: config.imageTrust, docker }), decisions: new TrustDecisions(), docker } } : {}),
      inspector,
      enforcer,
      stopper,
      metrics,
      log,
      judgeOptions: { whiteList: config.whiteList, imageWhiteList: config.imageWhiteList, stopOnFirstViolation: config.stopOnFirstViolation, defaultMode: config.mode },
      rules: () => rules,
      packs: () => packs.packs,
      cisReport,
    },
    log,
    metrics,
    intervalS: config.checkIntervalS,
    immediateStart: false,
    concurrency: config.scanConcurrency,
    withMetrics: !config.disableMetrics,
    schedule: false,
  });
  let listed: Awaited<ReturnType<typeof docker.listRunning>>;
  let summary: Awaited<ReturnType<typeof scanner.tick>>;
  try {
    listed = await docker.listRunning();
    summary = await scanner.tick('dry-run');
  } finally {
    rules.close();
  }
  if (!summary) throw new Error(`cannot list containers at ${config.dockerSocket}`);
  const rows = listed.map((summaryRow): ScanRow => {
    const report = reports.get(summaryRow.id);
    if (!report) return { id: summaryRow.id, name: summaryRow.name, image: summaryRow.image, violated: [], mode: '', wouldDo: 'nothing' };
    const container = report.subject as Container;
    return { id: container.id, name: container.name, image: container.image, violated: report.reasons, mode: report.judgement.mode, wouldDo: report.action === 'stopped' ? 'stop' : 'warn' };
  });
  return { rows, failed: summary.outcomes.failed, report: buildReport(cisReport.list(), packs.packs, new Date(), scanner.status().lastRunEnd) };
}

export function formatTable(rows: readonly ScanRow[]): string {
  const header = ['CONTAINER', 'IMAGE', 'VIOLATED RULES', 'WOULD'];
  const cells = rows.map((r) => [r.name || r.id.slice(0, 12), r.image, r.violated.join(', ') || '—', r.wouldDo === 'nothing' ? '—' : `${r.wouldDo} (${r.mode})`]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
