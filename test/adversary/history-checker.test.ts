// The history checker on hand-made histories: what it must catch and what it must allow.
import { checkHistory, formatHistoryReport, type Operation } from '../helpers/history.js';

const write = (client: string, key: string, invokedAt: number, completedAt: number, value: number | undefined, ok = true): Operation => ({
  client,
  kind: 'write',
  key,
  invokedAt,
  completedAt,
  value,
  ok,
});
const read = (client: string, key: string, invokedAt: number, completedAt: number, value: number, ok = true): Operation => ({
  client,
  kind: 'read',
  key,
  invokedAt,
  completedAt,
  value,
  ok,
});

test('a read that starts after an acknowledged write and returns the state before it is stale', () => {
  const history = [
    write('w', 'donor:1', 0, 10, 1),
    read('r', 'donor:1', 11, 15, 0), // the initial state, after write 1 was acknowledged
    read('r', 'donor:1', 16, 20, 1),
    write('w', 'donor:1', 21, 30, 2),
    read('r', 'donor:1', 31, 35, 1), // write 1's state, after write 2 was acknowledged
  ];
  const result = checkHistory(history);
  expect(result.valid).toBe(false);
  expect(result.stale.map((s) => [s.read.invokedAt, s.missed.value])).toEqual([
    [11, 1],
    [31, 2],
  ]);
  expect(result).toMatchObject({ operations: 5, keys: 1, reads: 3, checkedReads: 3, writes: 2, ackedWrites: 2, indeterminateWrites: 0 });
  const report = formatHistoryReport(result);
  expect(report).toMatch(/^history: 5 operations on 1 keys; 3 reads checked .* 2 stale reads, 0 write-order violations: INVALID/);
  expect(report).toContain('STALE read donor:1=0 by r [0.011s..0.015s]');
  expect(report).toContain('acknowledged before it: write donor:1=1 by w [0.000s..0.010s]');
});

test('reads concurrent with a write may return either state', () => {
  const history = [
    write('w', 'k', 10, 20, 1),
    read('a', 'k', 5, 25, 0), // overlaps the write entirely
    read('b', 'k', 12, 15, 1), // starts after the write started, ends before it was acknowledged
    read('c', 'k', 15, 30, 0), // invoked before the acknowledgement
    read('d', 'k', 20, 30, 0), // invoked at the very moment of the acknowledgement: not after it
    read('e', 'k', 21, 22, 1),
  ];
  const result = checkHistory(history);
  expect(result.stale).toEqual([]);
  expect(result.valid).toBe(true);
  expect(formatHistoryReport(result)).toMatch(/6 operations on 1 keys; 5 reads checked .* 0 stale reads.*: VALID$/);
});

test('an indeterminate write may be seen or not, before or after its error, and never makes a read stale', () => {
  const history = [
    write('w', 'k', 0, 10, 1),
    write('w', 'k', 20, 30, 2, false), // e.g. INVALIDATION_PENDING or a timeout: committed or not
    read('a', 'k', 31, 35, 1), // did not see it: allowed
    read('b', 'k', 36, 40, 2), // saw it: allowed
    read('c', 'k', 41, 45, 1), // reads are judged against acknowledged writes only
    write('w', 'k', 50, 60, undefined, false), // result unknown (connection reset)
    read('d', 'k', 61, 65, 1),
    write('w', 'k', 70, 80, 4),
    read('e', 'k', 81, 85, 2), // but an acknowledged write after it still counts
  ];
  const result = checkHistory(history);
  expect(result).toMatchObject({ writes: 4, ackedWrites: 2, indeterminateWrites: 2 });
  expect(result.stale.map((s) => s.read.client)).toEqual(['e']);
});

test('failed reads are ignored; keys are independent', () => {
  const history = [
    write('w', 'a', 0, 10, 1),
    read('r', 'a', 11, 12, 0, false), // an error answer carries no state
    read('r', 'b', 11, 12, 0), // another key: write on "a" says nothing about it
  ];
  const result = checkHistory(history);
  expect(result).toMatchObject({ valid: true, reads: 2, checkedReads: 1, failedReads: 1, keys: 2 });
});

test('acknowledged writes numbered against real time are reported: the history itself is wrong', () => {
  const history = [write('w', 'k', 0, 10, 5), write('v', 'k', 11, 20, 3), read('r', 'k', 21, 22, 3)];
  const result = checkHistory(history);
  expect(result.valid).toBe(false);
  expect(result.orderViolations).toHaveLength(1);
  expect(result.orderViolations[0]!.later.client).toBe('v');
  // The read saw 3 although 5 was acknowledged earlier: stale against the larger number.
  expect(result.stale).toHaveLength(1);
  // Concurrent writes may commit in either order.
  expect(checkHistory([write('w', 'k', 0, 10, 5), write('v', 'k', 5, 20, 3)]).orderViolations).toEqual([]);
});

test('malformed operations are refused rather than judged', () => {
  expect(() => checkHistory([read('r', 'k', 10, 5, 0)])).toThrow(/completes before it is invoked/);
  expect(() => checkHistory([write('w', 'k', 0, 1, undefined)])).toThrow(/acknowledged write needs a numeric value/);
});
