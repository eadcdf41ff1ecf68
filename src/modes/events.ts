import type { Logger } from 'pino';
import type { Config } from '../config';
import type { DockerClient } from '../docker/client';
import type { ContainerEvent, ContainerEventStream } from '../docker/event-stream';
import type { ContainerInspector } from '../facts/inspector';
import { resolvePositions } from '../facts/positions';
import { checkContainer, type ContainerCheckDeps } from './container-check';
import type { PeriodicScanner } from './periodic';

/** The event actions that trigger a check, from RUN_START_EVENTS / RUN_UPDATE_EVENTS / RUN_RENAME_EVENTS (each on its own). */
export function eventActions(config: Pick<Config, 'runStartEvents' | 'runUpdateEvents' | 'runRenameEvents'>): string[] {
  const actions: string[] = [];
  if (config.runStartEvents) actions.push('start');
  if (config.runUpdateEvents) actions.push('update');
  if (config.runRenameEvents) actions.push('rename');
  return actions;
}

export interface EventsModeOptions {
  readonly stream: ContainerEventStream;
  readonly docker: DockerClient;
  readonly inspector: ContainerInspector;
  readonly check: ContainerCheckDeps;
  readonly log: Logger;
  readonly actions: readonly string[];
  /** Runs the full scan when the stream cannot bridge a gap. */
  readonly periodic: PeriodicScanner | undefined;
  readonly concurrency?: number;
}

const DEFAULT_CONCURRENCY = 32;

/**
 * Judges a container the moment it starts, is updated or renamed. Checks run with bounded
 * parallelism; a container queued twice is checked once (memory is bounded by the number of
 * containers, and no event is dropped). Rules that never read `c.metrics` do not wait for a stats
 * sample: the first judgement runs without one, and only if a rule read `metrics` is a sample
 * fetched and the container judged again.
 */
export class EventsMode {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private stopped = false;
  private listing: Promise<Map<string, number>> | undefined;

  constructor(private readonly options: EventsModeOptions) {}

  start(): void {
    const wanted = new Set(this.options.actions);
    this.options.stream.onEvent((event) => {
      if (wanted.has(event.action)) this.enqueue(event);
    });
    this.options.stream.onResync((reason) => {
      this.options.log.info({ reason }, 'events may have been missed; running a full scan');
      void this.options.periodic?.tick('resync');
    });
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.queued.clear();
  }

  private enqueue(event: ContainerEvent): void {
    if (this.stopped) return;
    this.options.log.debug({ containerId: event.id, action: event.action, name: event.name }, 'container event');
    if (!this.queued.has(event.id)) {
      this.queued.add(event.id);
      this.queue.push(event.id);
    }
    this.pump();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? DEFAULT_CONCURRENCY;
    while (this.active < limit && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      this.queued.delete(id);
      this.active += 1;
      void this.checkOne(id).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  private async checkOne(id: string): Promise<void> {
    try {
      await checkContainer(this.options.check, {
        id,
        // Listing running containers costs a Docker call (more in bursts): only if a rule reads it.
        position: async () => {
          const positions = await this.positions();
          // A container too new for the shared listing is the newest one.
          return positions.get(id) ?? positions.size;
        },
        checkSource: 'event',
        refresh: true,
        withMetrics: 'lazy',
      });
    } catch (err: unknown) {
      this.options.log.error({ err, containerId: id }, 'event check failed');
    }
  }

  /** One container listing shared by all checks that start while it is in flight (bursts). */
  private positions(): Promise<Map<string, number>> {
    if (!this.listing) {
      this.listing = this.options.docker
        .listRunning()
        .then((list) => resolvePositions(list, (id) => this.options.inspector.createdAt(id)))
        .catch((err: unknown) => {
          this.options.log.warn({ err }, 'cannot list containers for positions; using 0');
          return new Map<string, number>();
        })
        .finally(() => {
          this.listing = undefined;
        });
    }
    return this.listing;
  }
}
