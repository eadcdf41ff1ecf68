import type { VerificationObserver } from './policies/image-trust/verifier';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every series the daemon exports, on a registry the daemon owns (no global state, so tests can
 * build several daemons). Labels come from bounded sets only: rule names, modes, sources, operations.
 */
export function createMetrics(version: string) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges `_total`, which Prometheus reserves for counters (promtool flags it).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const metrics = {
    registry,
    buildInfo: new Gauge({ name: 'docker_enforcer_build_info', help: 'Always 1; the version is in the label.', labelNames: ['version'], registers: [registry] }),
    containersStopped: new Counter({
      name: 'containers_stopped_total',
      help: 'Containers actually stopped by the enforcer (the original counted detections here).',
      registers: [registry],
    }),
    stopFailures: new Counter({ name: 'docker_enforcer_stop_failures_total', help: 'Stop requests that failed.', registers: [registry] }),
    violations: new Counter({
      name: 'docker_enforcer_violations_total',
      help: 'Rule violations found, by rule, check source and effective mode.',
      labelNames: ['rule', 'source', 'mode'],
      registers: [registry],
    }),
    ruleErrors: new Counter({
      name: 'docker_enforcer_rule_errors_total',
      help: 'Rule evaluations that threw or timed out (each also counts as a violation).',
      labelNames: ['rule', 'kind'],
      registers: [registry],
    }),
    ruleTimeouts: new Counter({
      name: 'docker_enforcer_rule_timeouts_total',
      help: 'Rule evaluations cut off by RULE_TIMEOUT_MS.',
      labelNames: ['rule'],
      registers: [registry],
    }),
    scans: new Counter({ name: 'docker_enforcer_scans_total', help: 'Periodic scans, by result.', labelNames: ['result'], registers: [registry] }),
    scansSkipped: new Counter({
      name: 'docker_enforcer_scans_skipped_total',
      help: 'Scheduled scans skipped because the previous one was still running.',
      registers: [registry],
    }),
    scanDuration: new Histogram({
      name: 'docker_enforcer_scan_duration_seconds',
      help: 'Duration of periodic scans.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    lastScan: new Gauge({ name: 'docker_enforcer_last_scan_timestamp_seconds', help: 'End time of the last completed scan.', registers: [registry] }),
    containersChecked: new Counter({
      name: 'docker_enforcer_containers_checked_total',
      help: 'Containers judged, by check source.',
      labelNames: ['source'],
      registers: [registry],
    }),
    dockerErrors: new Counter({
      name: 'docker_enforcer_docker_errors_total',
      help: 'Failed Docker API calls, by operation.',
      labelNames: ['operation'],
      registers: [registry],
    }),
    dockerDuration: new Histogram({
      name: 'docker_enforcer_docker_request_duration_seconds',
      help: 'Docker API call latency, by operation.',
      labelNames: ['operation'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    eventReconnects: new Counter({
      name: 'docker_enforcer_event_stream_reconnects_total',
      help: 'Reconnects of the Docker event stream.',
      registers: [registry],
    }),
    authzRequests: new Counter({
      name: 'docker_enforcer_authz_requests_total',
      help: 'AuthZ requests answered, by decision (allow, deny, warn = allowed with violations or unjudgeable in WARN mode, default_allow/default_deny = envelopes that are not Docker requests) and calling host (HOST_NAME for local callers, else the CN of a client certificate the AUTHZ_TLS_CA issued).',
      labelNames: ['decision', 'host'],
      registers: [registry],
    }),
    authzDuration: new Histogram({
      name: 'docker_enforcer_authz_request_duration_seconds',
      help: 'Time to decide an AuthZ request.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    authzUnjudgeable: new Counter({
      name: 'docker_enforcer_authz_unjudgeable_total',
      help: 'AuthZ requests that could not be judged as dockerd will run them, by kind (fault, unreadable, missing_body, unknown_action); denied in KILL mode.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    policyDecisions: new Counter({
      name: 'docker_enforcer_policy_decisions_total',
      help: 'Requests judged by the docker-leash policies, by rule set (1-based index, or "none" when no rule set applies to this host) and result (allow, deny, would_deny = a denial in WARN mode).',
      labelNames: ['rule_set', 'result'],
      registers: [registry],
    }),
    imageVerifications: new Counter({
      name: 'docker_enforcer_image_verifications_total',
      help: 'Image-trust verifications, by result (trusted, untrusted, unavailable = the registry gave no answer) and source (cache, registry).',
      labelNames: ['result', 'source'],
      registers: [registry],
    }),
    imageVerificationDuration: new Histogram({
      name: 'docker_enforcer_image_verification_seconds',
      help: 'Image-trust verification latency when the registry was asked (source="registry"); cache hits are only counted.',
      labelNames: ['source'],
      buckets: [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    authzRefused: new Counter({
      name: 'docker_enforcer_authz_refused_total',
      help: 'Calls to the plugin endpoints refused because the caller is not in AUTHZ_ALLOWED_PEERS.',
      registers: [registry],
    }),
    detectionStoreBytes: new Gauge({
      name: 'docker_enforcer_detection_store_bytes',
      help: 'Estimated size of the detections kept for / and /recent (bounded by MAX_DETECTION_BYTES).',
      registers: [registry],
    }),
    detectionsTruncated: new Counter({
      name: 'docker_enforcer_detections_truncated_total',
      help: 'Detections whose name, image, labels or reasons were cut to their size bound.',
      registers: [registry],
    }),
    triggerRuns: new Counter({
      name: 'docker_enforcer_trigger_runs_total',
      help: 'Trigger calls, by trigger and result (ok, error, timeout).',
      labelNames: ['trigger', 'result'],
      registers: [registry],
    }),
    triggerErrors: new Counter({
      name: 'docker_enforcer_trigger_errors_total',
      help: 'Trigger calls that threw, rejected or timed out.',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    triggerDropped: new Counter({
      name: 'docker_enforcer_trigger_dropped_total',
      help: 'Violations not handed to triggers because the trigger queue was full.',
      registers: [registry],
    }),
    ruleReloads: new Counter({
      name: 'docker_enforcer_rule_reloads_total',
      help: 'Rule reloads (SIGHUP or a file change), by result (success, failure: the old rules stay).',
      labelNames: ['result'],
      registers: [registry],
    }),
    rulesLoaded: new Gauge({ name: 'docker_enforcer_rules_loaded', help: 'Rules loaded, by kind.', labelNames: ['kind'], registers: [registry] }),
    // Labelled so that it has no sample (rather than 0, "expired in 1970") when AUTHZ_TLS_* is unset.
    tlsCertificateExpiry: new Gauge({
      name: 'docker_enforcer_tls_certificate_expiry_seconds',
      help: 'notAfter of the AUTHZ_TLS_CERT server certificate, as a Unix time (listener: authz).',
      labelNames: ['listener'],
      registers: [registry],
    }),
  };
  metrics.buildInfo.set({ version }, 1);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** How the image-trust verifier reports each verification (the daemon's and the bench's). */
export function observeVerification(metrics: Metrics): VerificationObserver {
  return (verdict, source, seconds) => {
    metrics.imageVerifications.inc({ result: verdict.trusted ? 'trusted' : verdict.unavailable ? 'unavailable' : 'untrusted', source });
    // Latency is worth a histogram only when the registry was asked; a cache hit is microseconds.
    if (source === 'registry') metrics.imageVerificationDuration.observe({ source }, seconds);
  };
}
