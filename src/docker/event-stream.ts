/**
 * A container (or image) event subscription that survives dockerd going away: it reconnects with capped
 * exponential backoff and resumes from the last event seen (`since`), so events emitted while it was
 * disconnected are still delivered. When continuity cannot be assured (first connect, or possibly
 * more missed events than dockerd buffers) it asks its owner to resynchronise with a full scan.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { DockerClient } from './client';

export interface ContainerEvent {
  readonly id: string;
  readonly action: string;
  /** Container name from the event's attributes, when present. */
  readonly name: string;
  /** Event time in nanoseconds since the epoch. */
  readonly timeNano: bigint;
  /** When we received it (ms since the epoch), for latency figures. */
  readonly receivedAt: number;
}

export type EventStreamState = 'stopped' | 'connecting' | 'connected' | 'waiting-to-reconnect';

export interface EventStreamStatus {
  readonly state: EventStreamState;
  readonly connectedSince: string | null;
  readonly lastEventAt: string | null;
  readonly reconnects: number;
  readonly lastError: string | null;
}

export interface EventStreamOptions {
  readonly docker: DockerClient;
  readonly log: Logger;
  readonly actions: readonly string[];
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Counts reconnects (metrics). */
  readonly onReconnect?: () => void;
  /** Which objects' events: containers (the default) or images (the image-trust cache). */
  readonly type?: 'container' | 'image';
}

// dockerd keeps the last 256 events for `since` replays (daemon/events: eventsLimit).
const DOCKERD_EVENT_BUFFER = 256;
const RECENT_KEYS_LIMIT = 4 * DOCKERD_EVENT_BUFFER;
const RESUME_OVERLAP_NS = 2_000_000_000n;

export class ContainerEventStream {
  private readonly eventListeners: Array<(event: ContainerEvent) => void> = [];
  private readonly resyncListeners: Array<(reason: string) => void> = [];
  private state: EventStreamState = 'stopped';
  private controller: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** Newest event time seen: where a resumed stream starts (`since`). */
  private lastEvent: { timeNano: bigint } | undefined;
  /** Keys of recent events, to drop what a resumed stream replays. Bounded. */
  private readonly recentKeys = new Set<string>();
  private connectedSince: Date | undefined;
  private lastEventAt: Date | undefined;
  private reconnects = 0;
  private lastError: string | undefined;

  constructor(private readonly options: EventStreamOptions) {}

  onEvent(listener: (event: ContainerEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** Called when events may have been missed: the owner should run a full scan (or drop caches). */
  onResync(listener: (reason: string) => void): void {
    this.resyncListeners.push(listener);
  }

  /** Called when the stream goes down: whatever relies on seeing every event must stop trusting itself. */
  get connected(): boolean {
    return this.state === 'connected';
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.connect();
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    this.controller?.abort();
    this.controller = undefined;
  }

  status(): EventStreamStatus {
    return {
      state: this.state,
      connectedSince: this.connectedSince?.toISOString() ?? null,
      lastEventAt: this.lastEventAt?.toISOString() ?? null,
      reconnects: this.reconnects,
      lastError: this.lastError ?? null,
    };
  }

  private connect(): void {
    this.state = 'connecting';
    const controller = new AbortController();
    this.controller = controller;
    // Resume a little before the newest event seen: events are not strictly ordered by time, and
    // what comes twice is dropped by key.
    const since = this.lastEvent ? formatSince(this.lastEvent.timeNano - RESUME_OVERLAP_NS) : undefined;
    this.options.docker
      .events({ actions: this.options.actions, since, signal: controller.signal, ...(this.options.type ? { type: this.options.type } : {}) })
      .then((stream) => this.consume(stream, controller, since !== undefined))
      .catch((err: unknown) => this.handleEnd(controller, err));
  }

  private consume(stream: Readable, controller: AbortController, resuming: boolean): void {
    if (controller !== this.controller) {
      stream.destroy();
      return;
    }
    this.state = 'connected';
    this.connectedSince = new Date();
    const wasReconnect = this.attempt > 0 || this.reconnects > 0 || resuming;
    this.attempt = 0;
    this.lastError = undefined;
    this.options.log.info({ resuming }, 'docker event stream connected');
    const connectedAtNano = BigInt(Date.now()) * 1_000_000n;
    let replayed = 0;
    if (!resuming) this.emitResync(wasReconnect ? 'event stream reconnected without a resume point' : 'event stream started');
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        if (line === '') continue;
        const event = this.parse(line);
        if (!event) continue;
        if (resuming && event.timeNano < connectedAtNano && ++replayed === DOCKERD_EVENT_BUFFER) {
          this.emitResync(`replayed ${replayed} events: dockerd's buffer may not reach back far enough`);
        }
        this.deliver(event);
      }
    });
    stream.on('error', (err: unknown) => this.handleEnd(controller, err));
    stream.on('end', () => this.handleEnd(controller, new Error('event stream ended (dockerd closed it)')));
    stream.on('close', () => this.handleEnd(controller, new Error('event stream closed')));
  }

  private parse(line: string): ContainerEvent | undefined {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.options.log.warn({ line: line.slice(0, 200) }, 'ignoring an event line that is not JSON');
      return undefined;
    }
    const actor = (raw['Actor'] ?? {}) as { ID?: unknown; Attributes?: Record<string, unknown> };
    const id = typeof actor.ID === 'string' ? actor.ID : typeof raw['id'] === 'string' ? raw['id'] : '';
    const action = typeof raw['Action'] === 'string' ? raw['Action'] : typeof raw['status'] === 'string' ? raw['status'] : '';
    if (raw['Type'] !== undefined && raw['Type'] !== (this.options.type ?? 'container')) return undefined;
    if (id === '' || action === '') return undefined;
    const timeNano =
      typeof raw['timeNano'] === 'number' ? BigInt(raw['timeNano']) : BigInt(Math.trunc(Number(raw['time'] ?? 0))) * 1_000_000_000n;
    const name = typeof actor.Attributes?.['name'] === 'string' ? actor.Attributes['name'] : '';
    return { id, action, name, timeNano, receivedAt: Date.now() };
  }

  private deliver(event: ContainerEvent): void {
    // A resumed stream replays from `since` inclusive; skip what we already handled. (Live events
    // are not always in timestamp order, so order alone must not decide what is a duplicate.)
    const key = `${event.timeNano}/${event.id}/${event.action}`;
    if (this.recentKeys.has(key)) return;
    this.recentKeys.add(key);
    if (this.recentKeys.size > RECENT_KEYS_LIMIT) this.recentKeys.delete(this.recentKeys.values().next().value as string);
    if (!this.lastEvent || event.timeNano > this.lastEvent.timeNano) this.lastEvent = { timeNano: event.timeNano };
    this.lastEventAt = new Date();
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch (err: unknown) {
        this.options.log.error({ err, action: event.action }, 'event listener failed');
      }
    }
  }

  private emitResync(reason: string): void {
    for (const listener of this.resyncListeners) {
      try {
        listener(reason);
      } catch (err: unknown) {
        this.options.log.error({ err }, 'resync listener failed');
      }
    }
  }

  private handleEnd(controller: AbortController, err: unknown): void {
    if (controller !== this.controller || this.state === 'stopped') return;
    this.controller = undefined;
    controller.abort();
    const initial = this.options.backoffInitialMs ?? 250;
    const max = this.options.backoffMaxMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** this.attempt);
    this.attempt += 1;
    this.lastError = (err as Error)?.message ?? String(err);
    this.state = 'waiting-to-reconnect';
    this.connectedSince = undefined;
    this.options.log.warn({ err: this.lastError, retryInMs: delay, attempt: this.attempt }, 'docker event stream disconnected; reconnecting');
    this.retryTimer = setTimeout(() => {
      if (this.state !== 'waiting-to-reconnect') return;
      this.reconnects += 1;
      this.options.onReconnect?.();
      this.connect();
    }, delay);
  }
}

/** `since` for dockerd: seconds with a nanosecond fraction. */
function formatSince(timeNano: bigint): string {
  const seconds = timeNano / 1_000_000_000n;
  const nanos = timeNano % 1_000_000_000n;
  return `${seconds}.${nanos.toString().padStart(9, '0')}`;
}
