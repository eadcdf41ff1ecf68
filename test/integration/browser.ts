/** Debian's headless Chromium for page tests, with the flags this machine's closed network needs; undefined when it is not installed. */
import { spawnSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export async function launchChromium(): Promise<Browser | undefined> {
  if (spawnSync('chromium', ['--version']).status !== 0) return undefined;
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
