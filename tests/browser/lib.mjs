// Shared helpers for sspr's browser tests (node:test + playwright-core).
//
// The tests drive Debian's Chromium (/usr/bin/chromium) through
// playwright-core, which never downloads a browser of its own. They expect
// a running sspr at SSPR_BASE_URL; ./scripts/test.sh starts `sspr demo` and
// sets it. Use http://localhost:PORT, not 127.0.0.1: WebAuthn rejects IP
// addresses as relying-party IDs.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

// Flags checked on this machine (docs: shared reference components.md §6).
export const CHROMIUM_ARGS = [
  '--no-sandbox', // we run as root in CI; Chromium's sandbox refuses root
  '--disable-gpu', // no GPU in containers/VMs
  '--disable-quic',
  '--no-first-run',
  // No traffic to Google services: the machine has no Internet access, and
  // background fetches would only add noise and delays.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often have a 64 MB /dev/shm; Chromium then crashes. Debian's
  // wrapper (/etc/chromium.d/dev-shm) is meant to add this flag itself, but
  // its size check is fragile, so always pass it.
  '--disable-dev-shm-usage',
];

// Per-action and per-navigation timeout. Generous because the CI machine has
// 2 cores shared with cargo; a real hang still fails well before node:test's
// own per-test timeout.
export const ACTION_TIMEOUT_MS = 15_000;

export function baseUrl() {
  const url = process.env.SSPR_BASE_URL;
  if (!url) {
    throw new Error('SSPR_BASE_URL is not set; run the browser tests through ./scripts/test.sh');
  }
  return url.replace(/\/+$/, '');
}

/** Start headless Chromium. Close it with `await browser.close()` in after(). */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000, // browser start-up, not per action
  });
}

// Chromium fetches /favicon.ico on its own after a page has loaded and logs a
// console error if that 404s. Whether the fetch happens before the test
// closes its context is a matter of timing, so counting it would make tests
// flaky; it is ignored everywhere. (sspr should still serve a favicon.)
const ALWAYS_ALLOWED_CONSOLE = [
  /^Failed to load resource: the server responded with a status of 404 \(Not Found\) \(at https?:\/\/[^/]+\/favicon\.ico:\d+\)$/,
];

/**
 * Open a page in a fresh browser context (own cookies and storage, so tests
 * cannot leak a session into each other) and record everything that went
 * wrong while it was open:
 *   - consoleErrors: console messages of type 'error'. Chromium reports CSP
 *     violations, failed sub-resource loads and uncaught promise rejections
 *     this way, so a CSP that blocks our own script or style shows up here.
 *   - pageErrors: uncaught exceptions in page scripts.
 *   - failedRequests: requests that got no response at all (refused,
 *     aborted, blocked by the browser).
 *
 * Returns { context, page, problems, assertNoProblems }. Close the context
 * when done (the tests use try/finally).
 */
export async function openPage(browser) {
  const context = await browser.newContext({ baseURL: baseUrl() + '/' });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();

  const problems = { consoleErrors: [], pageErrors: [], failedRequests: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const { url, lineNumber } = msg.location();
      problems.consoleErrors.push(url ? `${msg.text()} (at ${url}:${lineNumber})` : msg.text());
    }
  });
  page.on('pageerror', (err) => {
    problems.pageErrors.push(String(err?.stack ?? err));
  });
  page.on('requestfailed', (req) => {
    problems.failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'failed'}`);
  });

  /**
   * Assert that nothing went wrong. `allowConsole` lists regexps for console
   * errors a test expects (for example the browser's own log line for a
   * deliberate 401); everything else fails the test.
   */
  function assertNoProblems({ allowConsole = [] } = {}) {
    const allowed = [...ALWAYS_ALLOWED_CONSOLE, ...allowConsole];
    const unexpected = {
      consoleErrors: problems.consoleErrors.filter((m) => !allowed.some((re) => re.test(m))),
      pageErrors: problems.pageErrors,
      failedRequests: problems.failedRequests,
    };
    assert.deepEqual(unexpected, { consoleErrors: [], pageErrors: [], failedRequests: [] },
      'the page reported errors (console errors include CSP violations)');
  }

  return { context, page, problems, assertNoProblems };
}

/** Visible text of the page body. */
export async function bodyText(page) {
  return page.locator('body').innerText();
}

/** The development outbox (newest first): [{id, channel, to, subject, body, created_at}]. */
export async function outbox() {
  const r = await fetch(`${baseUrl()}/dev/outbox`);
  assert.equal(r.status, 200, 'GET /dev/outbox');
  return r.json();
}

/**
 * Wait for a message to `to` that was not in the outbox when `before` (a list of ids) was
 * taken and whose body matches `pattern`; returns it.
 */
export async function newMessageTo(to, before, pattern = /./, timeoutMs = 10_000) {
  const known = new Set(before);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = (await outbox()).find((x) => x.to === to && !known.has(x.id) && pattern.test(x.body));
    if (m) return m;
    if (Date.now() > deadline) {
      assert.fail(`no new message to ${to} matching ${pattern}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The ids of the messages in the outbox now (for newMessageTo). */
export async function outboxIds() {
  return (await outbox()).map((m) => m.id);
}

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/**
 * The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at the server's time (its
 * development clock may have been moved forward), `steps` time steps from now.
 */
export async function serverTotp(secret, steps = 0) {
  const { now } = await (await fetch(`${baseUrl()}/dev/clock`)).json();
  const step = Math.floor(Date.parse(now) / 1000 / 30) + steps;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}
