/**
 * Runs `work` over every item with at most `limit` calls in flight at once, each worker taking the
 * next item as soon as its last one is done, and answers the results in the items' order.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  // At least one worker: a limit of 0 would otherwise answer at once with nothing done.
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
