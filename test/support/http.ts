import type { TestPlatform } from './platform.ts';

/** POSTs JSON to the app in process (no port), returning status, headers and parsed body. */
export async function postJson(platform: TestPlatform, url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await platform.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
  return { status: response.statusCode, headers: response.headers, body: (response.body ? response.json() : {}) as Record<string, any> };
}

export async function postForm(platform: TestPlatform, url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await platform.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(form).toString(),
  });
  return { status: response.statusCode, headers: response.headers, body: (response.body ? response.json() : {}) as Record<string, any> };
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/**
 * Asks `/healthz` again and again, over real HTTP, while `work` runs; returns what `work`
 * gave and the slowest answer in milliseconds. A request that keeps the event loop busy
 * shows up here as a slow health check.
 */
export async function healthWhile<T>(baseUrl: string, work: () => Promise<T>): Promise<{ result: T; slowestMs: number; checks: number }> {
  let done = false;
  let slowestMs = 0;
  let checks = 0;
  const poll = (async () => {
    while (!done) {
      const started = performance.now();
      const answer = await fetch(`${baseUrl}/healthz`);
      await answer.arrayBuffer();
      if (answer.status !== 200) throw new Error(`/healthz answered ${answer.status}`);
      slowestMs = Math.max(slowestMs, performance.now() - started);
      checks++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  let result: T;
  try {
    result = await work();
  } finally {
    done = true;
    // The check in flight when the work ended counts too.
    await poll;
  }
  return { result, slowestMs, checks };
}
