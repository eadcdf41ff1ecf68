import type { Logger } from 'pino';
import { reasonsOf, type Judgement } from '../engine/judge';
import type { Metrics } from '../metrics';
import type { ActionTaken, CheckSource, Container, Mode } from '../rules/api';
import { TIMEOUT_ERROR_CLASS } from '../rules/sandbox';
import type { DetectionStore } from '../store/detections';
import type { Stopper } from './stopper';

/** How a container created without a name is recorded (the original's value). */
export const UNNAMED_CONTAINER = '<unnamed_container>';

/** One violation as reported to listeners (triggers). */
export interface ViolationReport {
  readonly kind: 'container' | 'request';
  readonly subject: unknown;
  readonly reasons: readonly string[];
  readonly judgement: Judgement;
  readonly action: ActionTaken;
  readonly source: CheckSource;
  readonly time: Date;
}

/**
 * Verdict -> action: logs, counts, records the detection, stops in KILL mode, and tells listeners.
 * Shared by every mode so a violation looks the same whichever path found it.
 */
export class Enforcer {
  private readonly listeners: Array<(report: ViolationReport) => void> = [];

  constructor(
    private readonly deps: {
      log: Logger;
      metrics: Metrics;
      store: DetectionStore;
      stopper: Stopper;
      now?: () => Date;
      /** `scan --dry-run`: decide and report, never stop anything. */
      dryRun?: boolean;
    },
  ) {}

  onViolation(listener: (report: ViolationReport) => void): void {
    this.listeners.push(listener);
  }

  /** Acts on a container judgement; returns what was done, or undefined when nothing was violated. */
  handleContainer(container: Container, judgement: Judgement, action?: ActionTaken): ActionTaken | undefined {
    this.countErrors(judgement, 'container', container.id);
    if (judgement.violations.length === 0) return undefined;
    const taken = action ?? (judgement.mode === 'KILL' ? 'stopped' : 'warned');
    const reasons = reasonsOf(judgement);
    const now = this.now();
    this.countViolations(judgement, container.checkSource);
    this.deps.log.warn(
      { containerId: container.id, name: container.name, image: container.image, rules: reasons, mode: judgement.mode, action: taken, source: container.checkSource },
      taken === 'stopped' ? 'container violates rules; stopping it' : `container violates rules; ${taken}`,
    );
    this.deps.store.record(
      {
        id: container.id !== '' ? container.id : container.name || UNNAMED_CONTAINER,
        // The original recorded an AuthZ create without a name under this name; dashboards parse it.
        name: container.name || (container.id === '' ? UNNAMED_CONTAINER : ''),
        violatedRules: reasons,
        owner: container.owner,
        ...(container.host !== '' ? { host: container.host } : {}),
        source: container.checkSource,
        image: container.image,
        labels: container.params.Config?.Labels ?? {},
        mode: judgement.mode,
        action: taken,
      },
      now,
    );
    if (taken === 'stopped' && !this.deps.dryRun) void this.deps.stopper.stop(container.id, container.name);
    this.notify({ kind: 'container', subject: container, reasons, judgement, action: taken, source: container.checkSource, time: now });
    return taken;
  }

  /**
   * Records, logs and reports what the declarative policies denied (or would have, in WARN mode): a
   * detection keyed by what the request acts on, with the caller as owner; triggers see the request.
   */
  handlePolicyDenial(report: { readonly request: unknown; readonly subject: string; readonly user: string; readonly host?: string; readonly image: string; readonly reasons: readonly string[]; readonly mode: Mode; readonly action: ActionTaken; readonly source?: 'policies' | 'image trust' | 'cis-docker' | 'self-protection' }): void {
    const now = this.now();
    const source = report.source ?? 'policies';
    this.deps.store.record(
      { id: `${source === 'policies' ? 'policy' : source.replace(' ', '-')}:${report.user}:${report.subject}`, name: report.subject, violatedRules: report.reasons, owner: report.user, ...(report.host !== undefined ? { host: report.host } : {}), source: 'authz', image: report.image, labels: {}, mode: report.mode, action: report.action },
      now,
    );
    const judgement: Judgement = { violations: report.reasons.map((reason) => ({ rule: source, mode: report.mode, reason })), mode: report.mode, whitelistErrors: [], deferredRead: [] };
    this.notify({ kind: 'request', subject: report.request, reasons: report.reasons, judgement, action: report.action, source: 'authz', time: now });
  }

  /** Counts and reports a request-rule judgement (AuthZ); the reply itself is the caller's business. */
  handleRequest(request: unknown, judgement: Judgement, action: ActionTaken): void {
    this.countErrors(judgement, 'request', '');
    if (judgement.violations.length === 0) return;
    this.countViolations(judgement, 'authz');
    const reasons = reasonsOf(judgement);
    this.notify({ kind: 'request', subject: request, reasons, judgement, action, source: 'authz', time: this.now() });
  }

  private countViolations(judgement: Judgement, source: CheckSource): void {
    for (const violation of judgement.violations) this.deps.metrics.violations.inc({ rule: violation.rule, source, mode: violation.mode });
  }

  private countErrors(judgement: Judgement, kind: 'container' | 'request', subjectId: string): void {
    for (const violation of judgement.violations) {
      if (!violation.error) continue;
      this.deps.metrics.ruleErrors.inc({ rule: violation.rule, kind });
      if (violation.error.errorClass === TIMEOUT_ERROR_CLASS) this.deps.metrics.ruleTimeouts.inc({ rule: violation.rule });
      this.deps.log.warn({ rule: violation.rule, subjectId, errorClass: violation.error.errorClass, error: violation.error.message }, 'rule failed; counted as a violation');
    }
    for (const error of judgement.whitelistErrors) {
      this.deps.metrics.ruleErrors.inc({ rule: error.rule, kind: 'whitelist' });
      this.deps.log.warn({ rule: error.rule, subjectId, errorClass: error.errorClass, error: error.message }, 'custom whitelist rule failed; trying the next one');
    }
  }

  private notify(report: ViolationReport): void {
    for (const listener of this.listeners) {
      try {
        listener(report);
      } catch (err: unknown) {
        this.deps.log.error({ err }, 'violation listener failed');
      }
    }
  }

  private now(): Date {
    return this.deps.now ? this.deps.now() : new Date();
  }
}
