import type { Logger } from 'pino';
import type { DockerClient } from '../docker/client';
import type { CheckSource, Container, ContainerMetrics, ContainerParams } from '../rules/api';
import { buildContainer } from './container-facts';

export interface InspectorOptions {
  readonly docker: DockerClient;
  readonly log: Logger;
  readonly cacheParams: boolean;
  readonly disableParams: boolean;
  readonly disableMetrics: boolean;
  /**
   * Whether cached params can be trusted right now: only while the event feed that invalidates them
   * (rename, update, destroy) is connected. Otherwise every read goes to dockerd.
   */
  readonly cacheTrusted: () => boolean;
  /** HOST_NAME: the host every container seen here is on (`c.host`). */
  readonly hostName?: string;
}

export interface FactsRequest {
  readonly id: string;
  readonly position: number;
  readonly checkSource: CheckSource;
  /** Bypass (and refresh) the params cache: events always want fresh params. */
  readonly refresh?: boolean;
  /**
   * `true`: fetch a stats sample with the params. `false`: none (`{}`). `'lazy'`: none yet; the
   * check judges with deferred metrics and fetches a sample only if a rule read `c.metrics`.
   */
  readonly withMetrics: boolean | 'lazy';
  readonly listedName?: string;
  readonly listedImage?: string;
  /** Params already fetched by the caller (a scan inspects everything first, for positions). */
  readonly params?: ContainerParams;
}

const IMAGE_CACHE_LIMIT = 1024;

/** Fetches what rules need about a container, with the params cache and image-name resolution. */
export class ContainerInspector {
  private readonly paramsCache = new Map<string, ContainerParams>();
  private readonly imageNames = new Map<string, string>();

  constructor(private readonly options: InspectorOptions) {}

  invalidate(id: string): void {
    this.paramsCache.delete(id);
  }

  clearCache(): void {
    this.paramsCache.clear();
  }

  /** Drops cached params of containers that are no longer running. */
  prune(liveIds: ReadonlySet<string>): void {
    for (const id of this.paramsCache.keys()) if (!liveIds.has(id)) this.paramsCache.delete(id);
  }

  async params(id: string, refresh = false): Promise<ContainerParams> {
    if (this.options.disableParams) return {};
    const useCache = this.options.cacheParams && this.options.cacheTrusted();
    if (useCache && !refresh) {
      const cached = this.paramsCache.get(id);
      if (cached) return cached;
    }
    const params = await this.options.docker.inspect(id);
    if (useCache) this.paramsCache.set(id, params);
    return params;
  }

  /** Precise creation time (for positions); undefined when params are disabled. */
  async createdAt(id: string): Promise<string | undefined> {
    if (this.options.disableParams) return undefined;
    return (await this.params(id)).Created;
  }

  get metricsDisabled(): boolean {
    return this.options.disableMetrics;
  }

  async metrics(id: string): Promise<ContainerMetrics> {
    if (this.options.disableMetrics) return {};
    return this.options.docker.stats(id);
  }

  /** `Config.Image`, or the image's first RepoTag when that is a `sha256:` id (memoised per id). */
  async imageName(params: ContainerParams, listedImage = ''): Promise<string> {
    const configured = params.Config?.Image ?? listedImage;
    if (!configured.startsWith('sha256:')) return configured;
    const known = this.imageNames.get(configured);
    if (known !== undefined) return known;
    let name = configured;
    try {
      name = (await this.options.docker.imageTags(configured))[0] ?? configured;
    } catch (err: unknown) {
      this.options.log.warn({ err, image: configured }, 'cannot resolve image id to a tag; using the id');
      return configured;
    }
    if (this.imageNames.size >= IMAGE_CACHE_LIMIT) this.imageNames.clear();
    this.imageNames.set(configured, name);
    return name;
  }

  /** Fetches params and (when wanted) metrics concurrently and builds the Container. */
  async container(request: FactsRequest): Promise<Container> {
    const [params, metrics] = await Promise.all([
      request.params ?? this.params(request.id, request.refresh),
      request.withMetrics === true ? this.metrics(request.id) : Promise.resolve({}),
    ]);
    return buildContainer({
      id: request.id,
      params,
      metrics,
      image: await this.imageName(params, request.listedImage),
      position: request.position,
      checkSource: request.checkSource,
      listedName: request.listedName,
      ...(this.options.hostName !== undefined ? { host: this.options.hostName } : {}),
    });
  }
}
