import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Enforcer } from './actions/enforcer';
import { Stopper } from './actions/stopper';
import type { Config } from './config';
import { DockerodeClient, type DockerClient, type DockerError, type DockerOperation } from './docker/client';
import { ContainerEventStream } from './docker/event-stream';
import type { JudgeOptions } from './engine/judge';
import { ContainerInspector } from './facts/inspector';
import { createHttpApp } from './http/app';
import type { HealthReport, HttpDeps } from './http/deps';
import { createMetrics, type Metrics } from './metrics';
import type { ContainerCheckDeps } from './modes/container-check';
import { EventsMode, eventActions } from './modes/events';
import { PeriodicScanner } from './modes/periodic';
import { loadRuleSet, type RuleSet } from './rules/rule-set';
import { DetectionStore } from './store/detections';

export interface DaemonDeps {
  readonly config: Config;
  readonly log: Logger;
  /** Defaults to a dockerode client on DOCKER_SOCKET. */
  readonly docker?: DockerClient;
}

const HEALTH_PING_MS = 5000;
const SHUTDOWN_DRAIN_MS = 5000;

/** Tracks whether dockerd answers, from every call the daemon makes plus a light ping. */
class DockerConnectivity {
  reachable: boolean | undefined;
  lastError: string | undefined;
  lastOkAt: Date | undefined;

  observe(operation: DockerOperation, error: DockerError | undefined): void {
    if (!error) {
      this.reachable = true;
      this.lastOkAt = new Date();
      this.lastError = undefined;
    } else if (operation === 'ping' || operation === 'list' || error.statusCode === undefined) {
      this.reachable = false;
      this.lastError = error.message;
    }
  }
}

/**
 * Builds the parts from config; start() brings them up in order (rules, HTTP, Docker-facing modes),
 * stop() takes them down in reverse. Docker being unreachable never stops start(): the HTTP API
 * comes up, /health says why, and the modes retry.
 */
export class Daemon {
  readonly metrics: Metrics;
  readonly store: DetectionStore;
  private readonly log: Logger;
  private readonly docker: DockerClient;
  private readonly connectivity = new DockerConnectivity();
  private ruleSet: RuleSet | undefined;
  private server: http.Server | undefined;
  /** Always built (events mode resyncs with a full scan); scheduled only with RUN_PERIODIC. */
  private periodic: PeriodicScanner | undefined;
  private events: EventsMode | undefined;
  private eventStream: ContainerEventStream | undefined;
  private stopper: Stopper | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();

  constructor(private readonly deps: DaemonDeps) {
    const { config } = deps;
    this.log = deps.log;
    this.metrics = createMetrics(config.version);
    this.store = new DetectionStore(config.maxDetections);
    this.docker =
      deps.docker ??
      new DockerodeClient(config.dockerEndpoint, config.dockerReqTimeoutS * 1000, (operation, seconds, error) => {
        this.metrics.dockerDuration.observe({ operation }, seconds);
        if (error) this.metrics.dockerErrors.inc({ operation });
        this.connectivity.observe(operation, error);
      });
  }

  /** The rules being enforced (throws before start()). */
  rules(): RuleSet {
    if (!this.ruleSet) throw new Error('rules are not loaded yet');
    return this.ruleSet;
  }

  /** The HTTP server's address, once listening. */
  address(): AddressInfo | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address : undefined;
  }

  async start(): Promise<void> {
    const { config } = this.deps;
    this.log.info({ version: config.version, dockerSocket: config.dockerSocket, mode: config.mode }, 'starting docker-enforcer');
    this.ruleSet = await loadRuleSet({
      rulesPath: config.rulesPath,
      whitelistRulesPath: config.whitelistRulesPath,
      requestRulesPath: config.requestRulesPath,
      allowedModules: config.rulesAllowedModules,
      timeoutMs: config.ruleTimeoutMs,
      onConsole: (level, args) => this.log.info({ module: 'rules', level, args: args.map(String) }, 'rule console output'),
    });
    this.metrics.rulesLoaded.set({ kind: 'container' }, this.ruleSet.containerRules.rules.length);
    this.metrics.rulesLoaded.set({ kind: 'whitelist' }, this.ruleSet.whitelistRules.rules.length);
    this.metrics.rulesLoaded.set({ kind: 'request' }, this.ruleSet.requestRules.rules.length);
    this.log.info({ rules: this.ruleSet.containerRules.rules.map((r) => r.name), files: this.ruleSet.files.map((f) => f.path) }, 'rules loaded');

    await this.startHttp();
    this.startDockerFacing();
  }

  async stop(): Promise<void> {
    this.log.info('stopping docker-enforcer');
    clearInterval(this.pingTimer);
    this.events?.stop();
    this.eventStream?.stop();
    await this.periodic?.stop();
    await this.stopper?.drain(SHUTDOWN_DRAIN_MS);
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info('stopped');
  }

  private async startHttp(): Promise<void> {
    const { config } = this.deps;
    const httpDeps: HttpDeps = {
      config,
      log: this.log.child({ module: 'http' }),
      metrics: this.metrics,
      store: this.store,
      rules: () => this.rules(),
      periodicStatus: () => (this.periodic && config.runPeriodic ? this.periodic.status() : null),
      health: () => this.health(),
    };
    const app = createHttpApp(httpDeps);
    this.server = http.createServer(app.callback());
    // dockerd keeps AuthZ connections alive; so do Prometheus and browsers.
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(config.httpPort, config.httpHost, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.log.info({ address: this.address() }, 'http api listening');
  }

  private startDockerFacing(): void {
    const { config } = this.deps;
    const log = this.log;
    const actions = eventActions(config);
    // The params cache is only trusted while an event feed can invalidate it (rename/update/destroy).
    if (actions.length > 0 || (config.cacheParams && config.runPeriodic)) {
      this.eventStream = new ContainerEventStream({
        docker: this.docker,
        log: log.child({ module: 'events' }),
        actions: [...new Set([...actions, 'rename', 'update', 'destroy', 'die'])],
        onReconnect: () => this.metrics.eventReconnects.inc(),
      });
    }
    const inspector = new ContainerInspector({
      docker: this.docker,
      log: log.child({ module: 'inspect' }),
      cacheParams: config.cacheParams,
      disableParams: config.disableParams,
      disableMetrics: config.disableMetrics,
      cacheTrusted: () => this.eventStream?.connected ?? false,
    });
    this.stopper = new Stopper(this.docker, config.stopTimeoutS, log.child({ module: 'stop' }), this.metrics);
    const enforcer = new Enforcer({ log: log.child({ module: 'enforce' }), metrics: this.metrics, store: this.store, stopper: this.stopper });
    const judgeOptions: JudgeOptions = {
      whiteList: config.whiteList,
      imageWhiteList: config.imageWhiteList,
      stopOnFirstViolation: config.stopOnFirstViolation,
      defaultMode: config.mode,
    };
    const check: ContainerCheckDeps = {
      inspector,
      enforcer,
      stopper: this.stopper,
      metrics: this.metrics,
      log: log.child({ module: 'check' }),
      judgeOptions,
      rules: () => this.rules(),
    };
    if (this.eventStream) {
      const stream = this.eventStream;
      stream.onEvent((event) => {
        if (event.action === 'rename' || event.action === 'update' || event.action === 'destroy' || event.action === 'die') inspector.invalidate(event.id);
      });
      stream.onResync(() => inspector.clearCache());
    }
    {
      this.periodic = new PeriodicScanner({
        docker: this.docker,
        inspector,
        check,
        log: log.child({ module: 'periodic' }),
        metrics: this.metrics,
        intervalS: config.checkIntervalS,
        immediateStart: config.immediatePeriodicalStart,
        concurrency: config.scanConcurrency,
        withMetrics: !config.disableMetrics,
        schedule: config.runPeriodic,
      });
    }
    if (actions.length > 0 && this.eventStream) {
      this.events = new EventsMode({ stream: this.eventStream, docker: this.docker, inspector, check, log: log.child({ module: 'events' }), actions, periodic: this.periodic });
      this.events.start();
    }
    if (actions.length === 0 && !config.runPeriodic) log.info('neither events nor periodic checks are enabled: AuthZ plugin mode only');
    this.eventStream?.start();
    this.periodic?.start();
    this.pingTimer = setInterval(() => void this.docker.ping().catch(() => undefined), HEALTH_PING_MS);
    this.pingTimer.unref();
    void this.docker.ping().catch((err: unknown) => log.error({ err }, 'docker is not reachable yet; the enforcer keeps retrying'));
  }

  health(): HealthReport {
    const problems: string[] = [];
    const { config } = this.deps;
    if (this.connectivity.reachable === false) problems.push(`docker unreachable at ${config.dockerSocket}: ${this.connectivity.lastError ?? 'no answer'}`);
    if (this.connectivity.reachable === undefined) problems.push(`docker not contacted yet at ${config.dockerSocket}`);
    const periodic = config.runPeriodic ? this.periodic?.status() : undefined;
    const eventStatus = this.events ? this.eventStream?.status() : undefined;
    if (eventStatus && eventStatus.state !== 'connected') problems.push(`docker event stream is ${eventStatus.state}${eventStatus.lastError ? `: ${eventStatus.lastError}` : ''}`);
    return {
      healthy: problems.length === 0,
      problems,
      details: {
        docker: { socket: config.dockerSocket, reachable: this.connectivity.reachable ?? null, last_ok: this.connectivity.lastOkAt?.toISOString() ?? null },
        started_at: this.startedAt.toISOString(),
        last_scan_end: periodic?.lastRunEnd?.toISOString() ?? null,
        last_scan_seconds: periodic?.lastRunSeconds ?? null,
        ...(eventStatus ? { event_stream: eventStatus } : {}),
      },
    };
  }

  /** Runs one periodic scan now (tests, CLI). */
  scanNow(reason = 'manual'): Promise<unknown> {
    if (!this.periodic) throw new Error('the daemon is not started');
    return this.periodic.tick(reason);
  }
}
