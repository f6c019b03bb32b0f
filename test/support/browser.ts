import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM_PATH = process.env.IDFLOW_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** A full-page screenshot in test-artifacts/, for a person to look at after the run. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * The relying party's side of the browser: a loopback HTTP server (RFC 8252 §7.3) that
 * answers every path with a small page and remembers what it was asked, so a test can
 * tell whether the authorization server sent the browser back to it.
 */
export interface LoopbackApp {
  origin: string;
  /** Every URL the browser brought to the app, in order. */
  visits: URL[];
  close(): Promise<void>;
}

export async function startLoopbackApp(): Promise<LoopbackApp> {
  const visits: URL[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
    visits.push(url);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end('<!doctype html><html lang="en"><title>Example app</title><p>Back at the app.</p></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    visits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
