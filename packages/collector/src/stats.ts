/**
 * What one request's walk through the pipeline dropped, refused or folded. Stages add to it while they
 * work and the pipeline turns it into self-metrics once per request, so per-point work stays cheap.
 */
export class IngestStats {
  accepted = 0;
  readonly refused = new Map<string, number>();
  /** Attribute removals (not refusals): privacy, collisions, caps. */
  readonly droppedAttributes = new Map<string, number>();
  readonly overflowByMetric = new Map<string, number>();
  /** Points left out without a refusal (the sender flagged them as holding no value). */
  readonly skipped = new Map<string, number>();
  /** The first refusal of each reason, for the partial-success message. */
  readonly refusalMessages = new Map<string, string>();

  refuse(reason: string, count: number, message: string): void {
    if (count <= 0) {
      return;
    }
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + count);
    if (!this.refusalMessages.has(reason)) {
      this.refusalMessages.set(reason, message);
    }
  }

  dropAttribute(reason: string): void {
    this.droppedAttributes.set(reason, (this.droppedAttributes.get(reason) ?? 0) + 1);
  }

  skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  overflow(metric: string): void {
    this.overflowByMetric.set(metric, (this.overflowByMetric.get(metric) ?? 0) + 1);
  }

  get refusedCount(): number {
    let total = 0;
    for (const n of this.refused.values()) {
      total += n;
    }
    return total;
  }
}
