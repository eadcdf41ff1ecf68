/**
 * The compliance report's data: the latest CIS results per running container, from the last scan
 * (and from start events since). Containers that are no longer running leave it at the next scan.
 */
import type { CisCheckResult } from '../policies/cis/model';
import type { CheckSource } from '../rules/api';

export interface CisReportRow {
  readonly containerId: string;
  readonly name: string;
  readonly image: string;
  readonly time: Date;
  readonly source: CheckSource;
  readonly results: readonly CisCheckResult[];
}

export class CisReport {
  private readonly rows = new Map<string, CisReportRow>();

  record(row: CisReportRow): void {
    this.rows.set(row.containerId, row);
  }

  /** Keeps only the containers of the latest listing. */
  prune(liveIds: ReadonlySet<string>): void {
    for (const id of this.rows.keys()) if (!liveIds.has(id)) this.rows.delete(id);
  }

  list(): CisReportRow[] {
    return [...this.rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
