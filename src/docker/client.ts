/**
 * The only module that talks to dockerd. Every call is bounded by a timeout and every failure
 * becomes a DockerError naming the operation, so callers never see dockerode's error zoo.
 */
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { DockerEndpoint } from '../config';
import type { ContainerMetrics, ContainerParams } from '../rules/api';

export type DockerOperation = 'ping' | 'version' | 'list' | 'inspect' | 'stats' | 'image_inspect' | 'volume_inspect' | 'exec_inspect' | 'plugin_inspect' | 'stop' | 'events';

export interface ContainerSummary {
  readonly id: string;
  /** Creation time, seconds since the epoch (Docker's `Created`). */
  readonly created: number;
  readonly name: string;
  /** Image as listed (a name, or an id when the container was created from one). */
  readonly image: string;
}

export type StopResult = 'stopped' | 'already-stopped' | 'gone';

export interface EventsOptions {
  /** Seconds since the epoch with an optional nanosecond fraction (`1700000000.123456789`). */
  readonly since?: string;
  readonly actions: readonly string[];
  readonly signal: AbortSignal;
  /** The object type: containers (the default) or images. */
  readonly type?: 'container' | 'image';
}

export interface ImageIdentity {
  readonly id: string;
  readonly repoDigests: string[];
  /** Whether the image defines a HEALTHCHECK (one that is not NONE). */
  readonly healthcheck?: boolean;
}

export interface DockerClient {
  ping(): Promise<void>;
  /** The engine's own API version (what a request without a `/v1.xx` prefix runs at). */
  apiVersion(): Promise<string>;
  /** Running containers (what `docker ps` shows). */
  listRunning(): Promise<ContainerSummary[]>;
  inspect(id: string): Promise<ContainerParams>;
  /** One stats sample with `precpu_stats` filled (dockerd waits for its next collector tick: ~1-2 s). */
  stats(id: string): Promise<ContainerMetrics>;
  /** RepoTags of an image (by id), `[]` when it has none. */
  imageTags(imageId: string): Promise<string[]>;
  /** The user an image runs as by default (its `Config.User`, '' when unset). */
  imageUser(ref: string): Promise<string>;
  /** An image by name, id or id prefix, as dockerd resolves it: its Id and the registry digests it was pulled or pushed as. */
  imageInspect(ref: string): Promise<ImageIdentity>;
  /** A volume's driver and options (`docker volume inspect`). */
  volumeInspect(name: string): Promise<{ readonly driver: string; readonly options: Readonly<Record<string, string>> }>;
  /** The id of the container an exec instance belongs to. */
  execContainer(execId: string): Promise<string>;
  /** A managed plugin's name (`name:tag`) by name, id or id prefix, as dockerd resolves it. */
  pluginName?(ref: string): Promise<string>;
  stop(id: string, graceS: number): Promise<StopResult>;
  /** Container events as a stream of JSON lines. */
  events(options: EventsOptions): Promise<Readable>;
}

export class DockerError extends Error {
  constructor(
    readonly operation: DockerOperation,
    message: string,
    readonly statusCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`docker ${operation} failed: ${message}`, options);
    this.name = 'DockerError';
  }

  get notFound(): boolean {
    return this.statusCode === 404;
  }
}

/** Observes every Docker call (metrics). */
export type DockerCallObserver = (operation: DockerOperation, seconds: number, error: DockerError | undefined) => void;

/** The endpoints dockerode can reach (DOCKER_SOCKET=none has no engine: see no-engine.ts). */
export type EngineEndpoint = Exclude<DockerEndpoint, { kind: 'none' }>;

function createDockerode(endpoint: EngineEndpoint): Docker {
  if (endpoint.kind === 'unix') return new Docker({ socketPath: endpoint.socketPath });
  return new Docker({ host: endpoint.host, port: endpoint.port, protocol: endpoint.protocol });
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export class DockerodeClient implements DockerClient {
  private readonly docker: Docker;

  constructor(
    endpoint: EngineEndpoint,
    private readonly timeoutMs: number,
    private readonly observe: DockerCallObserver = () => undefined,
  ) {
    this.docker = createDockerode(endpoint);
  }

  ping(): Promise<void> {
    return this.call('ping', this.timeoutMs, async (abortSignal) => {
      // @types/dockerode lacks the options overload; dockerode returns a promise without a callback.
      await (this.docker.ping({ abortSignal } as object as never) as unknown as Promise<unknown>);
    });
  }

  apiVersion(): Promise<string> {
    return this.call('version', this.timeoutMs, async (abortSignal) => {
      // @types/dockerode lacks the options overload (see ping).
      const info = (await (this.docker.version({ abortSignal } as object as never) as unknown as Promise<{ ApiVersion?: unknown }>));
      return typeof info.ApiVersion === 'string' ? info.ApiVersion : '';
    });
  }

  listRunning(): Promise<ContainerSummary[]> {
    return this.call('list', this.timeoutMs, async (abortSignal) => {
      const list = await this.docker.listContainers({ abortSignal });
      return list.map((c) => ({ id: c.Id, created: c.Created, name: (c.Names?.[0] ?? '').replace(/^\//, ''), image: c.Image }));
    });
  }

  inspect(id: string): Promise<ContainerParams> {
    return this.call('inspect', this.timeoutMs, (abortSignal) => this.docker.getContainer(id).inspect({ abortSignal }) as Promise<ContainerParams>);
  }

  stats(id: string): Promise<ContainerMetrics> {
    return this.call('stats', this.timeoutMs, (abortSignal) => this.docker.getContainer(id).stats({ stream: false, abortSignal } as { stream: false }) as Promise<ContainerMetrics>);
  }

  imageTags(imageId: string): Promise<string[]> {
    return this.call('image_inspect', this.timeoutMs, async (abortSignal) => {
      const info = (await this.docker.getImage(imageId).inspect({ abortSignal } as object)) as { RepoTags?: string[] | null };
      return info.RepoTags ?? [];
    });
  }

  imageUser(ref: string): Promise<string> {
    return this.call('image_inspect', this.timeoutMs, async (abortSignal) => {
      const info = (await this.docker.getImage(ref).inspect({ abortSignal } as object)) as { Config?: { User?: string } | null };
      return info.Config?.User ?? '';
    });
  }

  imageInspect(ref: string): Promise<ImageIdentity> {
    return this.call('image_inspect', this.timeoutMs, async (abortSignal) => {
      const info = (await this.docker.getImage(ref).inspect({ abortSignal } as object)) as { Id?: string; RepoDigests?: string[] | null; Config?: { Healthcheck?: { Test?: string[] | null } | null } | null };
      const test = info.Config?.Healthcheck?.Test ?? [];
      return { id: info.Id ?? '', repoDigests: info.RepoDigests ?? [], healthcheck: test.length > 0 && test[0] !== 'NONE' };
    });
  }

  volumeInspect(name: string): Promise<{ driver: string; options: Record<string, string> }> {
    return this.call('volume_inspect', this.timeoutMs, async (abortSignal) => {
      const info = (await this.docker.getVolume(name).inspect({ abortSignal } as object)) as { Driver?: string; Options?: Record<string, string> | null };
      return { driver: info.Driver ?? '', options: info.Options ?? {} };
    });
  }

  execContainer(execId: string): Promise<string> {
    return this.call('exec_inspect', this.timeoutMs, async (abortSignal) => {
      const info = (await this.docker.getExec(execId).inspect({ abortSignal } as object)) as { ContainerID?: string };
      return info.ContainerID ?? '';
    });
  }

  pluginName(ref: string): Promise<string> {
    return this.call('plugin_inspect', this.timeoutMs, async (abortSignal) => {
      const info = (await this.docker.getPlugin(ref, ref).inspect({ abortSignal } as object)) as { Name?: string };
      return info.Name ?? '';
    });
  }

  async stop(id: string, graceS: number): Promise<StopResult> {
    try {
      // The request lasts as long as the grace period, so the bound is grace + the usual timeout.
      await this.call('stop', this.timeoutMs + graceS * 1000, (abortSignal) => this.docker.getContainer(id).stop({ t: graceS, abortSignal }));
      return 'stopped';
    } catch (err: unknown) {
      if (err instanceof DockerError && err.statusCode === 304) return 'already-stopped';
      if (err instanceof DockerError && err.statusCode === 404) return 'gone';
      throw err;
    }
  }

  events(options: EventsOptions): Promise<Readable> {
    // Only the connection is bounded; the stream itself stays open until the signal aborts it.
    return this.call('events', this.timeoutMs, async () => {
      const filters = JSON.stringify({ type: [options.type ?? 'container'], event: options.actions });
      const query: Record<string, unknown> = { filters, abortSignal: options.signal };
      if (options.since !== undefined) query['since'] = options.since;
      return (await this.docker.getEvents(query)) as unknown as Readable;
    });
  }

  private async call<T>(operation: DockerOperation, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new DockerError(operation, `no answer within ${timeoutMs} ms (DOCKER_REQ_TIMEOUT_S)`, undefined));
      }, timeoutMs);
    });
    try {
      const value = await Promise.race([fn(controller.signal), timeout]);
      this.observe(operation, Number(process.hrtime.bigint() - started) / 1e9, undefined);
      return value;
    } catch (err: unknown) {
      const error =
        err instanceof DockerError ? err : new DockerError(operation, (err as Error)?.message ?? String(err), statusOf(err), { cause: err });
      // 304 (already stopped) and 404 (gone) are answers, not failures of the engine.
      const isAnswer = error.statusCode === 304 || (error.statusCode === 404 && operation !== 'ping');
      this.observe(operation, Number(process.hrtime.bigint() - started) / 1e9, isAnswer ? undefined : error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
