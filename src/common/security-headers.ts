import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * helmet's defaults but for upgrade-insecure-requests: it would make browsers fetch /docs assets over https when the
 * service is reached over plain http on a private network, and the UI would not load.
 */
export const HELMET_OPTIONS: HelmetOptions = { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };

/**
 * The headers helmet sets with `options`, worked out once: helmet is run here against a response that only records
 * them. Its middleware chains a dozen functions per request, each setting one header that never changes (no option
 * used here depends on the request: no CSP nonce, no function directive); setting the recorded list is the same
 * answer for less work. Helmet's own removals (X-Powered-By) are recorded too.
 */
export function securityHeaders(options: HelmetOptions): { headers: ReadonlyArray<readonly [string, string]>; removed: readonly string[] } {
  const headers = new Map<string, string>();
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => removed.push(name),
    getHeader: () => undefined,
  };
  let done = false;
  helmet(options)({ headers: {}, method: 'GET', url: '/' } as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error instanceof Error ? error : new Error(String(error));
    done = true;
  });
  if (!done) throw new Error('helmet did not set its headers synchronously');
  return { headers: [...headers], removed };
}

/** Sets what securityHeaders recorded on a response. */
export function applySecurityHeaders(recorded: ReturnType<typeof securityHeaders>): (res: ServerResponse) => void {
  const { headers, removed } = recorded;
  return (res) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
}
