import type { TestApp } from './app';

/** Polls until the probe answers something truthy (a non-empty array, for lists). */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value && !(Array.isArray(value) && value.length === 0)) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of the first /metrics line matching `line` (0 when there is none). */
export async function metric(t: TestApp, line: RegExp): Promise<number> {
  const res = await t.http.get('/metrics').expect(200);
  const found = res.text.split('\n').find((l) => line.test(l));
  return found ? Number(found.split(' ').pop()) : 0;
}
