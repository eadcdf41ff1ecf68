import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Metrics } from '../metrics';
import type { RuleFileInfo } from '../rules/loader';
import type { RuleSet } from '../rules/rule-set';
import type { LoadedPolicies } from '../policies/loaded';
import type { DetectionStore } from '../store/detections';
import type { TrustDecision } from '../store/trust-decisions';
import type { CisReportRow } from '../store/cis-report';
import type { LoadedPacks } from '../policies/cis/packs-file';

/** Times of the latest periodic run (null fields until the first run completes). */
export interface PeriodicRunStatus {
  readonly lastRunStart: Date | null;
  readonly lastRunEnd: Date | null;
  readonly lastRunSeconds: number | null;
}

export interface HealthReport {
  readonly healthy: boolean;
  /** Why it is unhealthy, when it is. */
  readonly problems: readonly string[];
  readonly details: Readonly<Record<string, unknown>>;
}

/** The latest reload attempt (null before any). */
export interface ReloadStatus {
  readonly at: string;
  readonly result: 'success' | 'failure';
  readonly reason: string;
  /** Why the new rules were refused (file:line:col where known); the previous rules stay. */
  readonly errors: readonly string[];
}

/** What the HTTP layer may read; it never changes daemon state. */
export interface HttpDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly store: DetectionStore;
  /** The rules currently enforced (swapped as a whole on reload). */
  rules(): RuleSet;
  /** null when periodic mode is off. */
  periodicStatus(): PeriodicRunStatus | null;
  health(): HealthReport;
  /** The docker-leash policies in force (undefined when there are no policy files). */
  policies(): LoadedPolicies | undefined;
  /** The loaded triggers file (undefined before start). */
  triggers(): RuleFileInfo | undefined;
  reloadStatus(): ReloadStatus | null;
  /** The compliance report's data: the last scan's CIS results and the packs in force. */
  cisReport?(): { readonly rows: readonly CisReportRow[]; readonly packs: LoadedPacks | undefined; readonly lastScan: PeriodicRunStatus | null };
  /** The latest image-trust verdicts, newest first ([] when the gate is off). */
  trustDecisions?(): readonly TrustDecision[];
}
