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
