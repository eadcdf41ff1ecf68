import type { Metrics } from '../metrics';
import type { ActionTaken, CheckSource, Mode } from '../rules/api';

/** One subject that broke rules, with how often and when (the original's `Stat`). */
export interface Detection {
  /** Container id; for AuthZ checks (no container yet) the name, as the original keyed them. */
  readonly id: string;
  readonly name: string;
  /** All reasons of the latest detection; `violated_rule` shows the first. */
  readonly violatedRules: readonly string[];
  readonly owner: string;
  /** The host the subject is on (HOST_NAME, or an AuthZ caller's certificate CN); detections are kept per host. */
  readonly host?: string;
  readonly source: CheckSource;
  readonly count: number;
  readonly firstTimestamp: Date;
  readonly lastTimestamp: Date;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mode: Mode;
  readonly action: ActionTaken;
  /** Set when a name, image, label or reason was cut to DETECTION_LIMITS. */
  readonly truncated?: true;
}

export type DetectionInput = Omit<Detection, 'count' | 'firstTimestamp' | 'lastTimestamp' | 'truncated'>;

/**
 * What one detection keeps of user-supplied text. A create body may carry ~1 MiB of labels; kept
 * whole, 4,144 denied creates exhausted the heap, and with it every Docker call the plugin answers.
 */
export const DETECTION_LIMITS = {
  id: 128,
  name: 256,
  image: 512,
  owner: 256,
  host: 256,
  reason: 512,
  reasons: 16,
  labelKey: 128,
  labelValue: 256,
  labelBytes: 4096,
} as const;

const TRUNCATION_MARK = '…';
/** Fixed cost of an entry besides its strings (objects, dates, the map slot), a generous estimate. */
const ENTRY_OVERHEAD_BYTES = 400;

function cut(text: string, max: number, truncated: { value: boolean }): string {
  if (text.length <= max) return text;
  truncated.value = true;
  return text.slice(0, max - TRUNCATION_MARK.length) + TRUNCATION_MARK;
}

/** The detection with every user-supplied part cut to its limit. */
export function boundDetection(input: DetectionInput): { input: DetectionInput; truncated: boolean } {
  const truncated = { value: false };
  const labels: Record<string, string> = {};
  let labelBytes = 0;
  for (const [key, value] of Object.entries(input.labels)) {
    const k = cut(key, DETECTION_LIMITS.labelKey, truncated);
    const v = cut(String(value), DETECTION_LIMITS.labelValue, truncated);
    if (labelBytes + k.length + v.length > DETECTION_LIMITS.labelBytes) {
      truncated.value = true;
      break;
    }
    labelBytes += k.length + v.length;
    Object.defineProperty(labels, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  if (input.violatedRules.length > DETECTION_LIMITS.reasons) truncated.value = true;
  const bounded: DetectionInput = {
    ...input,
    id: cut(input.id, DETECTION_LIMITS.id, truncated),
    name: cut(input.name, DETECTION_LIMITS.name, truncated),
    image: cut(input.image, DETECTION_LIMITS.image, truncated),
    owner: cut(input.owner, DETECTION_LIMITS.owner, truncated),
    ...(input.host !== undefined ? { host: cut(input.host, DETECTION_LIMITS.host, truncated) } : {}),
    violatedRules: input.violatedRules.slice(0, DETECTION_LIMITS.reasons).map((reason) => cut(reason, DETECTION_LIMITS.reason, truncated)),
    labels,
  };
  return { input: bounded, truncated: truncated.value };
}

/** Estimated heap bytes of a stored detection (UTF-16 strings plus a fixed overhead). */
export function detectionBytes(detection: Detection): number {
  let chars = detection.id.length + detection.name.length + detection.image.length + detection.owner.length + (detection.host?.length ?? 0);
  for (const reason of detection.violatedRules) chars += reason.length;
  for (const [key, value] of Object.entries(detection.labels)) chars += key.length + value.length;
  return ENTRY_OVERHEAD_BYTES + 2 * chars;
}

interface Entry {
  detection: Detection;
  readonly bytes: number;
  /** First-seen order, so listings keep the original's order even though eviction is by recency. */
  readonly seq: number;
}

export interface DetectionStoreOptions {
  /** MAX_DETECTIONS. */
  readonly capacity: number;
  /** MAX_DETECTION_BYTES. */
  readonly maxBytes?: number;
  readonly metrics?: Metrics;
}

/**
 * Detections behind `/` and `/recent`, bounded by count (MAX_DETECTIONS) and estimated size
 * (MAX_DETECTION_BYTES): when either is exceeded, the subject detected least recently is evicted,
 * so months of running — or a flood of hostile requests — cannot exhaust memory.
 */
export class DetectionStore {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;
  private bytes = 0;
  private readonly capacity: number;
  private readonly maxBytes: number;

  constructor(private readonly options: DetectionStoreOptions) {
    this.capacity = options.capacity;
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  record(raw: DetectionInput, now: Date): Detection {
    const { input, truncated } = boundDetection(raw);
    if (truncated) this.options.metrics?.detectionsTruncated.inc();
    // One name on two hosts is two subjects.
    const key = `${input.source === 'authz' ? 'authz' : 'container'}:${input.host === undefined ? '' : `${JSON.stringify(input.host)}:`}${input.id}`;
    const previous = this.entries.get(key);
    const detection: Detection = {
      ...input,
      count: (previous?.detection.count ?? 0) + 1,
      firstTimestamp: previous?.detection.firstTimestamp ?? now,
      lastTimestamp: now,
      ...(truncated ? { truncated: true as const } : {}),
    };
    if (previous) {
      this.bytes -= previous.bytes;
      this.entries.delete(key);
    }
    // Re-inserting moves the key to the end of the Map, which makes the first key the least recent.
    const entry: Entry = { detection, bytes: detectionBytes(detection), seq: previous?.seq ?? this.seq++ };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    while (this.entries.size > 1 && (this.entries.size > this.capacity || this.bytes > this.maxBytes)) {
      const oldest = this.entries.keys().next().value as string;
      this.bytes -= this.entries.get(oldest)!.bytes;
      this.entries.delete(oldest);
    }
    this.options.metrics?.detectionStoreBytes.set(this.bytes);
    return detection;
  }

  /** Detections in first-seen order; with `since`, only those detected again at or after it. */
  list(since?: Date): Detection[] {
    const selected: Entry[] = [];
    for (const entry of this.entries.values()) {
      if (since === undefined || entry.detection.lastTimestamp.getTime() >= since.getTime()) selected.push(entry);
    }
    return selected.sort((a, b) => a.seq - b.seq).map((entry) => entry.detection);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Estimated bytes held. */
  get sizeBytes(): number {
    return this.bytes;
  }
}
