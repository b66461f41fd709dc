/**
 * Group commit: calls that arrive while a flush is in flight wait for it and then leave together, as
 * one flush (one request to the peer instead of one each). A call that finds nothing in flight leaves
 * at once: an idle process pays no delay, a busy one (the aggregator handles several messages at a
 * time) pays one request per group. Each call settles with its own result: `flush` returns one per
 * item, in order, or throws for the whole group (every caller of the group gets the error).
 *
 * Groups are cut at `maxItems` items and at `maxWeight` (the sum of `weight(item)`; a group always
 * takes at least one item).
 */
export interface GroupCommitOptions<T, R> {
  flush: (items: T[]) => Promise<R[]>;
  maxItems: number;
  maxWeight?: number;
  weight?: (item: T) => number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export function groupCommit<T, R>(options: GroupCommitOptions<T, R>): (item: T) => Promise<R> {
  const { flush, maxItems, maxWeight = Number.POSITIVE_INFINITY, weight = () => 0 } = options;
  const queue: Waiting<T, R>[] = [];
  let inFlight = false;

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
    inFlight = true;
    try {
      while (queue.length > 0) {
        const group = take();
        try {
          const results = await flush(group.map((w) => w.item));
          for (const [i, w] of group.entries()) w.resolve(results[i]!);
        } catch (err) {
          for (const w of group) w.reject(err);
        }
      }
    } finally {
      inFlight = false;
    }
  };

  return (item: T) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!inFlight) void drain();
    });
}
