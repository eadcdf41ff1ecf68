import type { ActionTaken, CheckSource, Mode } from '../rules/api';

/** One subject that broke rules, with how often and when (the original's `Stat`). */
export interface Detection {
  /** Container id; for AuthZ checks (no container yet) the name, as the original keyed them. */
  readonly id: string;
  readonly name: string;
  /** All reasons of the latest detection; `violated_rule` shows the first. */
  readonly violatedRules: readonly string[];
  readonly owner: string;
  readonly source: CheckSource;
  readonly count: number;
  readonly firstTimestamp: Date;
  readonly lastTimestamp: Date;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly mode: Mode;
  readonly action: ActionTaken;
}

export type DetectionInput = Omit<Detection, 'count' | 'firstTimestamp' | 'lastTimestamp'>;

interface Entry {
  detection: Detection;
  /** First-seen order, so listings keep the original's order even though eviction is by recency. */
  readonly seq: number;
}

/**
 * Detections behind `/` and `/recent`, bounded by MAX_DETECTIONS: when full, the subject detected
 * least recently is evicted, so months of running cannot exhaust memory.
 */
export class DetectionStore {
  private readonly entries = new Map<string, Entry>();
  private seq = 0;

  constructor(private readonly capacity: number) {}

  record(input: DetectionInput, now: Date): Detection {
    const key = `${input.source === 'authz' ? 'authz' : 'container'}:${input.id}`;
    const previous = this.entries.get(key);
    const detection: Detection = {
      ...input,
      count: (previous?.detection.count ?? 0) + 1,
      firstTimestamp: previous?.detection.firstTimestamp ?? now,
      lastTimestamp: now,
    };
    // Re-inserting moves the key to the end of the Map, which makes the first key the least recent.
    this.entries.delete(key);
    this.entries.set(key, { detection, seq: previous?.seq ?? this.seq++ });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
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
}
