import type { Logger } from 'pino';
import type { DockerClient, StopResult } from '../docker/client';
import type { Metrics } from '../metrics';

/**
 * Stops containers without blocking whoever asked: each stop runs on its own, and a container
 * already being stopped (by a scan, an event, …) is not stopped a second time.
 */
export class Stopper {
  private readonly inFlight = new Map<string, Promise<StopResult | 'failed'>>();

  constructor(
    private readonly docker: DockerClient,
    private readonly graceS: number,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  isStopping(id: string): boolean {
    return this.inFlight.has(id);
  }

  /** Starts stopping `id` (or joins the stop already under way); never rejects. */
  stop(id: string, name: string): Promise<StopResult | 'failed'> {
    const existing = this.inFlight.get(id);
    if (existing) return existing;
    const started = Date.now();
    const stopping = this.docker
      .stop(id, this.graceS)
      .then((result) => {
        if (result === 'stopped') this.metrics.containersStopped.inc();
        this.log.info({ containerId: id, name, result, ms: Date.now() - started }, 'container stop finished');
        return result;
      })
      .catch((err: unknown) => {
        this.metrics.stopFailures.inc();
        this.log.error({ err, containerId: id, name }, 'failed to stop container');
        return 'failed' as const;
      })
      .finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, stopping);
    return stopping;
  }

  /** Waits for the stops under way, at most `timeoutMs` (shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
