import { mapWithConcurrency } from './pool';

/** A call that stays in flight until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('mapWithConcurrency', () => {
  it('never has more than `limit` calls in flight, and starts the next one as soon as one ends', async () => {
    const gates = Array.from({ length: 7 }, gate);
    const started: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const done = mapWithConcurrency(gates, 3, async (g, i) => {
      started.push(i);
      peak = Math.max(peak, ++inFlight);
      await g.opened;
      inFlight--;
      return i;
    });
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[1].open();
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const g of gates) g.open();
    await expect(done).resolves.toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(3);
  });

  it('processes every item once and answers in the items order, whatever order they finish in', async () => {
    const items = [5, 1, 4, 2, 3, 0];
    const seen: number[] = [];
    const gates = items.map(gate);
    const done = mapWithConcurrency(items, 2, async (n, i) => {
      seen.push(n);
      await gates[i].opened;
      return n * 10;
    });
    // Opened last item first, so they finish out of order.
    for (let i = items.length - 1; i >= 0; i--) {
      gates[i].open();
      await settle();
    }
    await expect(done).resolves.toEqual([50, 10, 40, 20, 30, 0]);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('handles fewer items than the limit, none at all, and a limit below one', async () => {
    await expect(mapWithConcurrency([1, 2], 10, async (n) => n + 1)).resolves.toEqual([2, 3]);
    await expect(mapWithConcurrency([], 4, async (n: number) => n)).resolves.toEqual([]);
    await expect(mapWithConcurrency([1, 2, 3], 0, async (n) => n)).resolves.toEqual([1, 2, 3]);
  });

  it('rejects with the first failure', async () => {
    await expect(
      mapWithConcurrency([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('boom');
        return n;
      }),
    ).rejects.toThrow('boom');
  });
});
