// A history checker in the spirit of Jepsen, for the promise "once a write was acknowledged, no
// read that starts later returns data from before it" (per key, across every instance).
//
// Clients record what they did as operations: who, read or write, which key, when it was invoked
// and when it completed (one clock: the test process's), the value, and whether it succeeded.
// Values are what makes a history checkable: every key's states are numbered in commit order
// (0 = the key's state before the run; every write produces a larger number than the writes
// committed before it). The client guarantees that numbering, for example with a counter per key
// written by one client at a time, or by reading back a counter the database increments. A read's
// value then says exactly which write it saw.
//
// The check: a read is STALE when it returned a value smaller than that of some write on the same
// key that completed successfully before the read was invoked. Writes that failed or timed out
// are indeterminate (they may or may not have committed): a read may see them or not, so they
// never make a read stale, and seeing them is never an error. Failed reads say nothing.
//
// Pure: no I/O, no clock. The same history always gives the same verdict.

export type OperationKind = 'read' | 'write';

export interface Operation {
  /** Who issued it (e.g. "c3@i1"): for the report only. */
  client: string;
  kind: OperationKind;
  /** The register this operation is about, e.g. "donor:12.name". */
  key: string;
  /** When the client sent it (ms, one clock for the whole history). */
  invokedAt: number;
  /** When the client had the answer (or gave up). */
  completedAt: number;
  /**
   * The key's state number: for a write, the state it produced (undefined when an indeterminate
   * write's result is unknown); for a read, the state it saw (0 = the state before the run).
   */
  value?: number;
  /** Acknowledged (write) or answered (read). False: the write is indeterminate, the read is ignored. */
  ok: boolean;
  /** Free text for the report (operation, instance, what was seen). */
  detail?: string;
}

export interface StaleRead {
  read: Operation;
  /** The newest write on the key acknowledged before the read was invoked. */
  missed: Operation;
}

/** Two acknowledged writes whose numbers contradict real time: the numbering (or the database) is wrong. */
export interface OrderViolation {
  earlier: Operation;
  later: Operation;
}

export interface HistoryResult {
  operations: number;
  keys: number;
  reads: number;
  /** Reads that were answered and judged. */
  checkedReads: number;
  failedReads: number;
  writes: number;
  ackedWrites: number;
  indeterminateWrites: number;
  stale: StaleRead[];
  orderViolations: OrderViolation[];
  /** True when no read was stale and the write numbering is consistent. */
  valid: boolean;
}

export function checkHistory(history: readonly Operation[]): HistoryResult {
  const byKey = new Map<string, Operation[]>();
  let reads = 0;
  let checkedReads = 0;
  let writes = 0;
  let acked = 0;
  for (const op of history) {
    if (!(op.completedAt >= op.invokedAt)) throw new Error(`operation completes before it is invoked: ${describe(op)}`);
    if (op.kind === 'read') {
      reads++;
      if (op.ok) {
        if (typeof op.value !== 'number' || Number.isNaN(op.value)) throw new Error(`an answered read needs a numeric value: ${describe(op)}`);
        checkedReads++;
      }
    } else {
      writes++;
      if (op.ok) {
        if (typeof op.value !== 'number' || Number.isNaN(op.value)) throw new Error(`an acknowledged write needs a numeric value: ${describe(op)}`);
        acked++;
      }
    }
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = []));
    ops.push(op);
  }

  const stale: StaleRead[] = [];
  const orderViolations: OrderViolation[] = [];
  for (const ops of byKey.values()) {
    const ackedWrites = ops.filter((o) => o.kind === 'write' && o.ok).sort((a, b) => a.completedAt - b.completedAt);
    const answeredReads = ops.filter((o) => o.kind === 'read' && o.ok).sort((a, b) => a.invokedAt - b.invokedAt);
    const writesByInvoke = [...ackedWrites].sort((a, b) => a.invokedAt - b.invokedAt);

    // Sweeps in invocation order: newestBefore(t) is the acknowledged write with the largest
    // number among those completed strictly before t (t never decreases within one sweep).
    const sweep = () => {
      let newest: Operation | undefined;
      let w = 0;
      return (t: number): Operation | undefined => {
        while (w < ackedWrites.length && ackedWrites[w]!.completedAt < t) {
          const write = ackedWrites[w++]!;
          if (!newest || write.value! > newest.value!) newest = write;
        }
        return newest;
      };
    };
    // A write that starts after another was acknowledged must commit after it: its number is larger.
    const newestBeforeWrite = sweep();
    for (const write of writesByInvoke) {
      const earlier = newestBeforeWrite(write.invokedAt);
      if (earlier && write.value! <= earlier.value!) orderViolations.push({ earlier, later: write });
    }
    const newestBeforeRead = sweep();
    for (const read of answeredReads) {
      const missed = newestBeforeRead(read.invokedAt);
      if (missed && read.value! < missed.value!) stale.push({ read, missed });
    }
  }

  return {
    operations: history.length,
    keys: byKey.size,
    reads,
    checkedReads,
    failedReads: reads - checkedReads,
    writes,
    ackedWrites: acked,
    indeterminateWrites: writes - acked,
    stale,
    orderViolations,
    valid: stale.length === 0 && orderViolations.length === 0,
  };
}

function describe(op: Operation, origin = 0): string {
  const t = (ms: number) => `${((ms - origin) / 1000).toFixed(3)}s`;
  const value = op.value === undefined ? '?' : String(op.value);
  return `${op.kind} ${op.key}=${value} by ${op.client} [${t(op.invokedAt)}..${t(op.completedAt)}]${op.ok ? '' : ' (failed)'}${op.detail ? ` ${op.detail}` : ''}`;
}

/**
 * A human summary: the counts on the first line, then up to `limit` stale reads and order
 * violations, each with the write it contradicts. Times are relative to `origin`.
 */
export function formatHistoryReport(result: HistoryResult, { origin = 0, limit = 10 }: { origin?: number; limit?: number } = {}): string {
  const lines = [
    `history: ${result.operations} operations on ${result.keys} keys; ${result.checkedReads} reads checked` +
      ` (${result.failedReads} failed reads ignored); ${result.ackedWrites} acknowledged writes,` +
      ` ${result.indeterminateWrites} indeterminate; ${result.stale.length} stale reads,` +
      ` ${result.orderViolations.length} write-order violations: ${result.valid ? 'VALID' : 'INVALID'}`,
  ];
  for (const { read, missed } of result.stale.slice(0, limit)) {
    lines.push(`  STALE ${describe(read, origin)}\n        but acknowledged before it: ${describe(missed, origin)}`);
  }
  if (result.stale.length > limit) lines.push(`  ... and ${result.stale.length - limit} more stale reads`);
  for (const { earlier, later } of result.orderViolations.slice(0, limit)) {
    lines.push(`  ORDER ${describe(later, origin)}\n        started after acknowledged: ${describe(earlier, origin)}`);
  }
  if (result.orderViolations.length > limit) lines.push(`  ... and ${result.orderViolations.length - limit} more write-order violations`);
  return lines.join('\n');
}
