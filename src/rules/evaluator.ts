import type { Evaluator } from '../engine/judge';
import type { EvaluationJob, JobResult, RuleSandbox } from './sandbox';

interface Pending {
  readonly jobs: readonly EvaluationJob[];
  readonly resolve: (outcomes: JobResult[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Collects the evaluations asked for during one turn of the event loop and runs them as one
 * sandbox batch: the time bound costs a watchdog thread per batch (~75 µs), so concurrent AuthZ
 * requests and the containers of a scan share it instead of paying it each.
 */
export class BatchingEvaluator implements Evaluator {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly sandbox: RuleSandbox) {}

  evaluate(jobs: readonly EvaluationJob[]): Promise<JobResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ jobs, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      const outcomes = this.sandbox.evaluate(batch.flatMap((p) => p.jobs));
      let offset = 0;
      for (const item of batch) {
        item.resolve(outcomes.slice(offset, offset + item.jobs.length));
        offset += item.jobs.length;
      }
    } catch (err: unknown) {
      for (const item of batch) item.reject(err);
    }
  }
}
