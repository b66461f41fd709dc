/**
 * Group commit: calls that arrive while a flush is in flight wait for it and then leave together, as
 * one flush (one request to the peer instead of one each). A call that finds nothing in flight leaves
 * at once: an idle process pays no delay, a busy one (the aggregator handles several messages at a
 * time) pays one request per group. Each call settles with its own result: `flush` returns one per
 * item, in order, or throws for the whole group (every caller of the group gets the error).
 *
 * Groups are cut at `maxItems` items and at `maxWeight` (the sum of `weight(item)`; a group always
 * takes at least one item).
 *
 * A flush that has not settled after `stallMs` stops holding the others back: the calls queued behind
 * it leave in a flush of their own. A peer that stops answering mid-request (a black-holed connection
 * waits for the client's own timeout, minutes for undici) then stalls only the group it holds, not
 * every later call of the process. The stalled flush still settles its own group whenever it ends.
 */
export interface GroupCommitOptions<T, R> {
  flush: (items: T[]) => Promise<R[]>;
  maxItems: number;
  maxWeight?: number;
  weight?: (item: T) => number;
  /** After this long in flight, a flush no longer holds back the calls queued behind it (default 2 s). */
  stallMs?: number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

/** A group commit's entry: one call, or `many` (items given together join one group, cut as any group is). */
export type GroupCommit<T, R> = ((item: T) => Promise<R>) & { many(items: readonly T[]): Promise<R>[] };

export function groupCommit<T, R>(options: GroupCommitOptions<T, R>): GroupCommit<T, R> {
  const {
    flush,
    maxItems,
    maxWeight = Number.POSITIVE_INFINITY,
    weight = () => 0,
    stallMs = 2_000,
  } = options;
  const queue: Waiting<T, R>[] = [];
  /** Drains whose flush is in flight and not stalled: a new call leaves at once only when there is none. */
  let holding = 0;

  const take = (): Waiting<T, R>[] => {
    let n = 0;
    let total = 0;
    while (n < queue.length && n < maxItems) {
      const w = weight(queue[n]!.item);
      if (n > 0 && total + w > maxWeight) break;
      total += w;
      n += 1;
    }
    return queue.splice(0, n);
  };

  const drain = async () => {
    holding += 1;
    let held = true;
    const letGo = () => {
      if (!held) return;
      held = false;
      holding -= 1;
    };
    try {
      while (held && queue.length > 0) {
        const group = take();
        const stall = setTimeout(() => {
          letGo();
          if (holding === 0 && queue.length > 0) void drain();
        }, stallMs);
        stall.unref();
        try {
          const results = await flush(group.map((w) => w.item));
          for (const [i, w] of group.entries()) w.resolve(results[i]!);
        } catch (err) {
          for (const w of group) w.reject(err);
        } finally {
          clearTimeout(stall);
        }
      }
    } finally {
      letGo();
      // Calls that queued while this drain was stalled, with no other drain to take them.
      if (holding === 0 && queue.length > 0) void drain();
    }
  };

  const enqueue = (item: T) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
    });
  const one = (item: T) => {
    const result = enqueue(item);
    if (holding === 0) void drain();
    return result;
  };
  return Object.assign(one, {
    many(items: readonly T[]) {
      const results = items.map(enqueue);
      if (holding === 0 && items.length > 0) void drain();
      return results;
    },
  });
}
