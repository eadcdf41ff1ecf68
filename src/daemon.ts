import { X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { lstat, mkdir, readFile, realpath, unlink } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { Enforcer } from './actions/enforcer';
import { Stopper } from './actions/stopper';
import type { Config } from './config';
import type { DockerClient, DockerError, DockerOperation } from './docker/client';
import { createDockerClient } from './docker/no-engine';
import { ContainerEventStream } from './docker/event-stream';
import type { JudgeOptions } from './engine/judge';
import { ContainerInspector } from './facts/inspector';
import { createHttpApp } from './http/app';
import { authzHandler } from './http/authz-handler';
import type { HealthReport, HttpDeps, ReloadStatus } from './http/deps';
import { createMetrics, observeVerification, type Metrics } from './metrics';
import { AuthzService } from './modes/authz';
import { ImageTrustVerifier } from './policies/image-trust/verifier';
import { TrustDecisions } from './store/trust-decisions';
import { CisReport } from './store/cis-report';
import type { ContainerCheckDeps } from './modes/container-check';
import { EventsMode, eventActions } from './modes/events';
import { PeriodicScanner } from './modes/periodic';
import { loadRuleSet, RuleSetLoadError, type RuleSet } from './rules/rule-set';
import { RuleLoadError } from './rules/rule-load-error';
import { TriggerRunner } from './triggers/trigger-runner';
import { loadPolicies, type LoadedPolicies } from './policies/loaded';
import { loadPacks, type LoadedPacks } from './policies/cis/packs-file';
import { isAllowedPeer } from './util/peers';
import { containerIdFromProc, isContainerId } from './facts/self-container';
import { DetectionStore } from './store/detections';
import { enforcerFolders, hostPathsOfMounts, type SelfProtectionSettings } from './policies/self-protection';

export interface DaemonDeps {
  readonly config: Config;
  readonly log: Logger;
  /** Defaults to a dockerode client on DOCKER_SOCKET. */
  readonly docker?: DockerClient;
  /** Values of the TRIGGERS_ENV variables (read by main.ts, the only reader of process.env). */
  readonly triggerEnv?: Readonly<Record<string, string>>;
  /** Decide and report only: no container is stopped (`scan --dry-run`). */
  readonly dryRun?: boolean;
}

/** Everything enforced, loaded and validated together and swapped as one. */
export interface Enforced {
  readonly rules: RuleSet;
  /** docker-leash policies; undefined when neither policy file exists. */
  readonly policies: LoadedPolicies | undefined;
  /** Built-in packs (PACKS_PATH); undefined when the file does not exist. */
  readonly packs: LoadedPacks | undefined;
}

const HEALTH_PING_MS = 5000;
const SHUTDOWN_DRAIN_MS = 5000;
const TRIGGER_DRAIN_MS = 1000;
const RELOAD_DEBOUNCE_MS = 300;
/** Pings between refreshes of the engine's API version (5 s each). */
const ENGINE_REFRESH_PINGS = 12;

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
  private readonly eventStream: ContainerEventStream | undefined;
  private readonly stopper: Stopper;
  private readonly enforcer: Enforcer;
  /** Always built (events mode resyncs with a full scan); scheduled only with RUN_PERIODIC. */
  private readonly periodic: PeriodicScanner;
  private readonly events: EventsMode | undefined;
  private readonly authz: AuthzService;
  private triggers: TriggerRunner;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private lastReload: ReloadStatus | null = null;
  private watchers: FSWatcher[] = [];
  private watchTimer: NodeJS.Timeout | undefined;
  private enforced: Enforced | undefined;
  private servers: Array<http.Server | https.Server> = [];
  /** The HTTPS AuthZ listener (AUTHZ_TLS_*), also in `servers`. */
  private tlsServer: https.Server | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();
  /** The enforcer's own container id, when it runs in one (see facts/self-container.ts). */
  private selfContainerId: string | undefined;
  /** The enforcer's folders as the host names them (self-protection); grows as start-up and dockerd tell more. */
  private protectedPaths: readonly string[];
  /** The host sources of the own container's mounts have been read. */
  private ownMountsRead = false;
  /** The engine's API version, refreshed while dockerd answers (requests without a version prefix run at it). */
  private engineApiVersion: string | undefined;
  private pingCount = 0;
  private imageEvents: ContainerEventStream | undefined;
  /** The CIS results of the last scan, per running container (GET /report). */
  readonly cisReport = new CisReport();
  private imageTrust: { readonly verifier: ImageTrustVerifier; readonly decisions: TrustDecisions } | undefined;

  constructor(private readonly deps: DaemonDeps) {
    const { config } = deps;
    const log = deps.log;
    this.log = log;
    this.metrics = createMetrics(config.version);
    this.protectedPaths = enforcerFolders(this.ruleFiles());
    this.store = new DetectionStore({ capacity: config.maxDetections, maxBytes: config.maxDetectionBytes, metrics: this.metrics });
    this.docker =
      deps.docker ??
      createDockerClient(config.dockerEndpoint, config.dockerReqTimeoutS * 1000, (operation, seconds, error) => {
        this.metrics.dockerDuration.observe({ operation }, seconds);
        if (error) this.metrics.dockerErrors.inc({ operation });
        this.connectivity.observe(operation, error);
      });
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
      hostName: config.hostName,
    });
    if (this.eventStream) {
      this.eventStream.onEvent((event) => {
        if (['rename', 'update', 'destroy', 'die'].includes(event.action)) inspector.invalidate(event.id);
      });
      this.eventStream.onResync(() => inspector.clearCache());
    }
    this.stopper = new Stopper(this.docker, config.stopTimeoutS, log.child({ module: 'stop' }), this.metrics);
    this.enforcer = new Enforcer({ log: log.child({ module: 'enforce' }), metrics: this.metrics, store: this.store, stopper: this.stopper, dryRun: deps.dryRun });
    const judgeOptions: JudgeOptions = {
      whiteList: config.whiteList,
      imageWhiteList: config.imageWhiteList,
      stopOnFirstViolation: config.stopOnFirstViolation,
      defaultMode: config.mode,
      selfContainerId: () => this.selfContainerId,
    };
    const imageTrust = this.createImageTrust();
    const check: ContainerCheckDeps = {
      ...(imageTrust ? { imageTrust: { ...imageTrust, docker: this.docker } } : {}),
      packs: () => this.enforced?.packs,
      cisReport: this.cisReport,
      inspector,
      enforcer: this.enforcer,
      stopper: this.stopper,
      metrics: this.metrics,
      log: log.child({ module: 'check' }),
      judgeOptions,
      rules: () => this.rules(),
    };
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
    if (actions.length > 0 && this.eventStream) {
      this.events = new EventsMode({ stream: this.eventStream, docker: this.docker, inspector, check, log: log.child({ module: 'events' }), actions, periodic: this.periodic });
    }
    this.triggers = this.createTriggerRunner();
    this.enforcer.onViolation((report) => this.triggers.fire(report));
    this.authz = new AuthzService({
      config,
      log: log.child({ module: 'authz' }),
      metrics: this.metrics,
      docker: this.docker,
      inspector,
      enforcer: this.enforcer,
      judgeOptions,
      snapshot: () => this.snapshot(),
      engineApiVersion: () => this.engineApiVersion,
      ...(imageTrust ? { imageTrust } : {}),
      selfProtection: () => this.selfProtectionSettings(),
    });
  }

  /** Every file whose folder holds what the enforcer enforces (watched for reloads, guarded by self-protection). */
  private ruleFiles(): string[] {
    const { config } = this.deps;
    return [config.rulesPath, config.whitelistRulesPath, config.requestRulesPath, config.triggersPath, config.policiesPath, config.groupsPath, config.packsPath];
  }

  /** What self-protection knows of the enforcer right now. */
  private selfProtectionSettings(): SelfProtectionSettings {
    const { config } = this.deps;
    return {
      ...(this.selfContainerId !== undefined ? { selfContainerId: this.selfContainerId } : {}),
      selfContainerNames: config.selfContainer !== '' && !isContainerId(config.selfContainer) ? [config.selfContainer] : [],
      pluginNames: config.selfPluginNames,
      protectedPaths: this.protectedPaths,
      admins: config.selfProtectionAdmins,
    };
  }

  /** Adds where the folders really are: a symlinked folder is bound by its target as well. */
  private async resolveProtectedPaths(): Promise<void> {
    const real = await Promise.all(this.protectedPaths.map((folder) => realpath(folder).catch(() => folder)));
    this.protectedPaths = [...new Set([...this.protectedPaths, ...real])];
  }

  /** The image-trust gate, when TRUSTED_REGISTRIES is set: one verifier (and cache) for every mode. */
  private createImageTrust(): { verifier: ImageTrustVerifier; decisions: TrustDecisions } | undefined {
    const settings = this.deps.config.imageTrust;
    if (!settings) return undefined;
    // No engine here: local images cannot be looked up, so nothing to follow (a local build is a fault).
    if (this.deps.config.serverProfile) {
      const verifier = new ImageTrustVerifier({ settings, docker: this.docker, identitiesCacheable: () => false, observe: observeVerification(this.metrics) });
      this.imageTrust = { verifier, decisions: new TrustDecisions() };
      return this.imageTrust;
    }
    // Image events let the verifier remember what names resolve to (no dockerd call per cached create).
    const imageEvents = new ContainerEventStream({
      docker: this.docker,
      log: this.log.child({ module: 'image-events' }),
      type: 'image',
      actions: ['tag', 'untag', 'pull', 'push', 'load', 'import', 'delete'],
      onReconnect: () => this.metrics.eventReconnects.inc(),
    });
    const verifier = new ImageTrustVerifier({
      settings,
      docker: this.docker,
      identitiesCacheable: () => imageEvents.connected,
      observe: observeVerification(this.metrics),
    });
    imageEvents.onEvent(() => verifier.forgetImageNames());
    imageEvents.onResync(() => verifier.forgetImageNames());
    this.imageEvents = imageEvents;
    this.imageTrust = { verifier, decisions: new TrustDecisions() };
    return this.imageTrust;
  }

  /** The rules being enforced (throws before start()). */
  rules(): RuleSet {
    return this.snapshot().rules;
  }

  /** Everything being enforced, as one snapshot (throws before start()). */
  snapshot(): Enforced {
    if (!this.enforced) throw new Error('rules are not loaded yet');
    return this.enforced;
  }

  /** Resolves when every violation handed to the triggers has been processed (tests). */
  triggersIdle(): Promise<void> {
    return this.triggers.idle();
  }

  /** Where violations are reported (triggers subscribe here). */
  get violations(): Enforcer {
    return this.enforcer;
  }

  /** The TCP server's address, once listening. */
  address(): AddressInfo | undefined {
    const address = this.servers[0]?.address();
    return address && typeof address === 'object' ? address : undefined;
  }

  /** The HTTPS AuthZ listener's address (AUTHZ_TLS_PORT), once listening. */
  tlsAddress(): AddressInfo | undefined {
    const address = this.tlsServer?.address();
    return address && typeof address === 'object' ? address : undefined;
  }

  async start(): Promise<void> {
    const { config } = this.deps;
    this.selfContainerId = await this.findOwnContainer();
    await this.resolveProtectedPaths();
    this.log.info({ version: config.version, dockerSocket: config.dockerSocket, mode: config.mode }, 'starting docker-enforcer');
    const loaded = await this.loadRules(this.triggers);
    this.enforced = loaded;
    this.countRules();
    this.log.info({ rules: loaded.rules.containerRules.rules.map((r) => r.name), files: loaded.rules.files.map((f) => f.path), policies: loaded.policies?.config.ruleSets.length ?? 0 }, 'rules loaded');
    await this.startHttp();
    this.startDockerFacing();
    if (config.reloadOnChange) this.watchRuleFolders();
  }

  /** SELF_CONTAINER when it is an id; else what /proc says (a name is resolved once dockerd answers). */
  private async findOwnContainer(): Promise<string | undefined> {
    const { config } = this.deps;
    if (isContainerId(config.selfContainer)) return config.selfContainer;
    if (config.selfContainer !== '') return undefined;
    const read = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');
    const id = containerIdFromProc(await read('/proc/self/cgroup'), await read('/proc/self/mountinfo'));
    if (id) this.log.info({ id }, 'running in a container; it is never stopped');
    return id;
  }

  /**
   * Loads and validates every rule file and the triggers completely, then swaps them in at once; on
   * any error the running rules stay, and the error is logged, counted and shown on /rules. Reloads
   * never overlap: one asked for during a reload runs right after it.
   */
  reload(reason: string): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.reloadOnce(reason).finally(() => {
      this.reloading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload(`${reason} (again)`);
      }
    });
    return this.reloading;
  }

  reloadStatus(): ReloadStatus | null {
    return this.lastReload;
  }

  private async reloadOnce(reason: string): Promise<void> {
    const triggers = this.createTriggerRunner();
    try {
      const loaded = await this.loadRules(triggers);
      const previousTriggers = this.triggers;
      const previousRules = this.enforced?.rules;
      // One assignment: a request is judged by one whole snapshot (rules and policies together).
      this.enforced = loaded;
      // Checks that started with the old rules finish with them; then its worker ends.
      previousRules?.close();
      this.triggers = triggers;
      void previousTriggers.stop(TRIGGER_DRAIN_MS);
      this.countRules();
      this.lastReload = { at: new Date().toISOString(), result: 'success', reason, errors: [] };
      this.metrics.ruleReloads.inc({ result: 'success' });
      this.log.info({ reason, rules: loaded.rules.containerRules.rules.map((r) => r.name), policies: loaded.policies?.config.ruleSets.length ?? 0 }, 'rules reloaded');
    } catch (err: unknown) {
      await triggers.stop(0).catch(() => undefined);
      const errors = err instanceof RuleSetLoadError ? err.errors.map((e) => e.message) : [(err as Error)?.message ?? String(err)];
      this.lastReload = { at: new Date().toISOString(), result: 'failure', reason, errors };
      this.metrics.ruleReloads.inc({ result: 'failure' });
      this.log.error({ reason, errors }, 'rule reload failed; the previous rules stay in force');
    }
  }

  private createTriggerRunner(): TriggerRunner {
    const { config } = this.deps;
    return new TriggerRunner({
      path: config.triggersPath,
      allowedModules: config.triggersAllowedModules,
      timeoutMs: config.triggerTimeoutMs,
      env: this.deps.triggerEnv ?? {},
      log: this.log.child({ module: 'triggers' }),
      metrics: this.metrics,
    });
  }

  /**
   * Everything enforced — every rule file, the triggers and the policy files — or one
   * RuleSetLoadError naming every broken file (policy problems with file:line:col).
   */
  private async loadRules(triggers: TriggerRunner): Promise<Enforced> {
    const { config } = this.deps;
    const errors: RuleLoadError[] = [];
    const [policies, packs] = await Promise.all([loadPolicies(config.policiesPath, config.groupsPath), loadPacks(config.packsPath)]);
    for (const [problem, file] of [...policies.errors.map((e) => [e, config.policiesPath] as const), ...packs.errors.map((e) => [e, config.packsPath] as const)]) {
      // `file:line:col: message`
      const split = problem.indexOf(': ');
      errors.push(split === -1 ? new RuleLoadError(file, problem) : new RuleLoadError(problem.slice(0, split), problem.slice(split + 2)));
    }
    const ruleSet = await loadRuleSet({
      rulesPath: config.rulesPath,
      whitelistRulesPath: config.whitelistRulesPath,
      requestRulesPath: config.requestRulesPath,
      allowedModules: config.rulesAllowedModules,
      timeoutMs: config.ruleTimeoutMs,
      onConsole: (level, args) => this.log.info({ module: 'rules', level, args: args.map(String) }, 'rule console output'),
      onRestart: (reason, detail) => this.log.warn({ module: 'rules', reason, detail }, 'rule worker or host replaced; the call is judged as a violation, or the check as a fault (fail-closed)'),
    }).catch((err: unknown) => {
      if (!(err instanceof RuleSetLoadError)) throw err;
      errors.push(...err.errors);
      return undefined;
    });
    await triggers.start().catch((err: unknown) => {
      if (!(err instanceof RuleLoadError)) throw err;
      errors.push(err);
    });
    if (errors.length > 0 || !ruleSet) {
      ruleSet?.close();
      await triggers.stop(0).catch(() => undefined);
      throw new RuleSetLoadError(errors);
    }
    return { rules: ruleSet, policies: policies.policies, packs: packs.packs };
  }

  private countRules(): void {
    const ruleSet = this.rules();
    this.metrics.rulesLoaded.set({ kind: 'container' }, ruleSet.containerRules.rules.length);
    this.metrics.rulesLoaded.set({ kind: 'whitelist' }, ruleSet.whitelistRules.rules.length);
    this.metrics.rulesLoaded.set({ kind: 'request' }, ruleSet.requestRules.rules.length);
  }

  /** Reloads (debounced) when a file in a rule folder changes: editors write files in several steps. */
  private watchRuleFolders(): void {
    const { config } = this.deps;
    const folders = new Set([config.rulesPath, config.whitelistRulesPath, config.requestRulesPath, config.triggersPath, config.policiesPath, config.groupsPath, config.packsPath].map((file) => path.dirname(file)));
    for (const folder of folders) {
      try {
        const watcher = watch(folder, () => {
          clearTimeout(this.watchTimer);
          this.watchTimer = setTimeout(() => void this.reload(`file change in ${folder}`), RELOAD_DEBOUNCE_MS);
        });
        watcher.on('error', (err) => this.log.warn({ err, folder }, 'cannot watch a rule folder; reload with SIGHUP'));
        this.watchers.push(watcher);
      } catch (err: unknown) {
        this.log.warn({ err, folder }, 'cannot watch a rule folder; reload with SIGHUP');
      }
    }
  }

  async stop(): Promise<void> {
    this.log.info('stopping docker-enforcer');
    clearTimeout(this.watchTimer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    await this.reloading;
    clearInterval(this.pingTimer);
    this.events?.stop();
    this.eventStream?.stop();
    this.imageEvents?.stop();
    await this.periodic.stop();
    await this.stopper.drain(SHUTDOWN_DRAIN_MS);
    await this.triggers.stop(TRIGGER_DRAIN_MS);
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    this.servers = [];
    this.tlsServer = undefined;
    this.enforced?.rules.close();
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
      periodicStatus: () => (config.runPeriodic ? this.periodic.status() : null),
      health: () => this.health(),
      triggers: () => this.triggers.info(),
      policies: () => this.enforced?.policies,
      reloadStatus: () => this.reloadStatus(),
      trustDecisions: () => this.imageTrust?.decisions.recent() ?? [],
      cisReport: () => ({ rows: this.cisReport.list(), packs: this.enforced?.packs, lastScan: config.runPeriodic ? this.periodic.status() : null }),
    };
    const app = createHttpApp(httpDeps).callback();
    const refused = (req: http.IncomingMessage): void => {
      this.metrics.authzRefused.inc();
      this.log.warn({ peer: req.socket.remoteAddress ?? null, path: req.url ?? null }, 'plugin call refused: caller not in AUTHZ_ALLOWED_PEERS');
    };
    const tcpHandler = authzHandler(this.authz, app, { serve: config.authzOnHttpPort, allowPeer: (req) => isAllowedPeer(config.authzAllowedPeers, req.socket.remoteAddress), onRefused: refused });
    await this.listen(tcpHandler, (server, done) => server.listen(config.httpPort, config.httpHost, done));
    if (config.authzSocket !== '') {
      await prepareSocketPath(config.authzSocket);
      const socketHandler = authzHandler(this.authz, app, { serve: true, allowPeer: () => true });
      await this.listen(socketHandler, (server, done) => server.listen(config.authzSocket, done));
      this.log.info({ socket: config.authzSocket }, 'authz plugin socket listening');
    }
    if (config.authzTls) await this.listenTls(config.authzTls, app);
    if (!config.authzOnHttpPort && config.authzSocket === '' && !config.authzTls) this.log.info('AuthZ plugin endpoints are off (AUTHZ_ON_HTTP_PORT=False and no AUTHZ_SOCKET)');
    this.log.info({ address: this.address() }, 'http api listening');
  }

  /**
   * AUTHZ_TLS_*: the plugin endpoints and /health over HTTPS, for dockerds on other hosts. TLS itself
   * refuses a caller without a certificate the CA signed (and plain HTTP): such a caller never reaches
   * a handler. The calling host is its certificate's subject CN — the envelope carries no host.
   */
  private async listenTls(tls: NonNullable<Config['authzTls']>, app: http.RequestListener): Promise<void> {
    const server = https.createServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true });
    const refused = (req: http.IncomingMessage): void => {
      this.metrics.authzRefused.inc();
      this.log.warn({ peer: req.socket.remoteAddress ?? null, path: req.url ?? null }, 'plugin call refused: the client certificate names no host (subject CN)');
    };
    // Only the plugin endpoints and /health (load balancers check it with a client certificate).
    const healthOnly: http.RequestListener = (req, res) => {
      const pathname = (req.url ?? '').split('?')[0];
      if (pathname === '/health') return app(req, res);
      req.resume();
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'the AuthZ TLS port serves only the plugin endpoints and /health' }));
    };
    const handler = authzHandler(this.authz, healthOnly, { serve: true, allowPeer: (req) => peerHost(req) !== undefined, onRefused: refused, caller: (req) => ({ host: peerHost(req) }) });
    server.on('request', handler);
    server.on('tlsClientError', (err, socket) => this.log.debug({ err, peer: socket.remoteAddress ?? null }, 'TLS handshake refused on AUTHZ_TLS_PORT'));
    await this.bindServer(server, (done) => server.listen(tls.port, tls.host, done));
    this.tlsServer = server;
    // An expired server certificate makes every host's dockerd refuse all API calls: alert on it early.
    const notAfter = Date.parse(new X509Certificate(tls.cert).validTo);
    if (Number.isFinite(notAfter)) this.metrics.tlsCertificateExpiry.set({ listener: 'authz' }, notAfter / 1000);
    this.log.info({ address: this.tlsAddress() }, 'authz plugin listening over TLS (client certificates required)');
  }

  private async listen(handler: http.RequestListener, bind: (server: http.Server, done: () => void) => void): Promise<void> {
    const server = http.createServer(handler);
    await this.bindServer(server, (done) => bind(server, done));
  }

  private async bindServer(server: http.Server | https.Server, bind: (done: () => void) => void): Promise<void> {
    // dockerd keeps AuthZ connections alive; so do Prometheus and browsers.
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      bind(() => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
  }

  private startDockerFacing(): void {
    const { config } = this.deps;
    if (config.serverProfile) {
      this.log.info('DOCKER_SOCKET=none: server profile, no engine here (AuthZ only; what needs the calling host is denied in KILL mode)');
      return;
    }
    if (!this.events && !config.runPeriodic) this.log.info('neither events nor periodic checks are enabled: AuthZ plugin mode only');
    this.events?.start();
    this.eventStream?.start();
    this.imageEvents?.start();
    this.periodic.start();
    this.pingTimer = setInterval(() => void this.pingDocker(), HEALTH_PING_MS);
    this.pingTimer.unref();
    void this.docker.ping().then(
      () => this.learnEngine(),
      (err: unknown) => this.log.error({ err }, 'docker is not reachable yet; the enforcer keeps retrying'),
    );
  }

  /** The health ping; every minute (or until known) it also refreshes what the daemon knows of the engine. */
  private async pingDocker(): Promise<void> {
    try {
      await this.docker.ping();
      if (this.engineApiVersion === undefined || this.pingCount++ % ENGINE_REFRESH_PINGS === 0) await this.learnEngine();
    } catch {
      // counted and shown on /health by the connectivity observer
    }
  }

  /** The engine's API version, and the id of the enforcer's own container when SELF_CONTAINER names it. */
  private async learnEngine(): Promise<void> {
    const version = await this.docker.apiVersion().catch(() => undefined);
    if (version) this.engineApiVersion = version;
    const self = this.deps.config.selfContainer;
    if (self !== '' && !isContainerId(self) && this.selfContainerId === undefined) {
      try {
        this.selfContainerId = (await this.docker.inspect(self)).Id;
        this.log.info({ container: self, id: this.selfContainerId }, 'own container found (SELF_CONTAINER); it is never stopped');
      } catch (err: unknown) {
        this.log.error({ err, container: self }, 'SELF_CONTAINER names no container dockerd knows; nothing is spared');
      }
    }
    if (this.selfContainerId !== undefined && !this.ownMountsRead) await this.readOwnMounts(this.selfContainerId);
  }

  /** Inside a container the folders' host paths are the sources of its mounts: those are what a bind would name. */
  private async readOwnMounts(id: string): Promise<void> {
    try {
      const mounts = (await this.docker.inspect(id)).Mounts ?? [];
      this.ownMountsRead = true;
      const hostPaths = hostPathsOfMounts(enforcerFolders(this.ruleFiles()), mounts);
      if (hostPaths.length > 0) this.log.info({ hostPaths }, 'own folders found on the host (self-protection)');
      this.protectedPaths = [...new Set([...this.protectedPaths, ...hostPaths])];
    } catch (err: unknown) {
      this.log.debug({ err, id }, 'cannot read the own container\'s mounts yet');
    }
  }

  health(): HealthReport {
    const problems: string[] = [];
    const { config } = this.deps;
    if (config.serverProfile) {
      return { healthy: true, problems, details: { docker: { socket: 'none', reachable: null, last_ok: null }, started_at: this.startedAt.toISOString(), last_scan_end: null, last_scan_seconds: null } };
    }
    if (this.connectivity.reachable === false) problems.push(`docker unreachable at ${config.dockerSocket}: ${this.connectivity.lastError ?? 'no answer'}`);
    if (this.connectivity.reachable === undefined) problems.push(`docker not contacted yet at ${config.dockerSocket}`);
    const periodic = config.runPeriodic ? this.periodic.status() : undefined;
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

  /** Runs one full scan now (tests, CLI); resolves when it is done. */
  scanNow(reason = 'manual'): Promise<unknown> {
    return this.periodic.tick(reason);
  }
}

/** The verified client certificate's subject CN (the calling host), undefined when it names none. */
function peerHost(req: http.IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN as unknown;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

/** A stale socket file from a previous run would make listen() fail with EADDRINUSE. */
async function prepareSocketPath(socketPath: string): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true });
  const existing = await lstat(socketPath).catch(() => undefined);
  if (existing?.isSocket()) await unlink(socketPath);
}
