// Home page and password sign-in against a running `sspr demo`
// (SSPR_BASE_URL, set by ./scripts/test.sh).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyText, launch, openPage } from './lib.mjs';

// Demo user seeded by `sspr demo`.
const DEMO_USER = 'ada';
const DEMO_PASSWORD = 'Demo-Reset-2026!';
const DEMO_DISPLAY_NAME = 'Ada Lovelace';

// Upper bound per test; single actions time out after 15 s (lib.mjs).
const TEST_TIMEOUT = { timeout: 60_000 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Fill and submit the sign-in form; resolve with the response to the POST.
async function submitSignin(page, username, password) {
  await page.goto('/signin');
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/signin',
    ),
    page.locator('button[type="submit"]').click(),
  ]);
  // Wait for whatever page the POST (or its redirect) leads to.
  await page.waitForLoadState('load');
  return response;
}

test('home page renders with no console errors', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    const response = await page.goto('/');
    assert.equal(response?.status(), 200);
    await page.locator('h1').waitFor({ state: 'visible' });
    assert.equal(await page.locator('h1').count(), 1, 'the home page has exactly one h1');
    // Let late sub-resource loads and scripts report (e.g. CSP violations).
    await page.waitForLoadState('networkidle');
    assertNoProblems();
  } finally {
    await context.close();
  }
});

test('a demo user can sign in', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await submitSignin(page, DEMO_USER, DEMO_PASSWORD);
    await page.waitForURL(/\/me$/);
    assert.match(await bodyText(page), new RegExp(DEMO_DISPLAY_NAME));
    await page.waitForLoadState('networkidle');
    assertNoProblems();
  } finally {
    await context.close();
  }
});

test('a wrong password is refused without saying which part was wrong', TEST_TIMEOUT, async () => {
  // Chromium logs every 4xx document load as a console error ("Failed to
  // load resource: ... 401"); that one is expected here, nothing else is.
  const allowConsole = [
    /^Failed to load resource: the server responded with a status of 401 \(Unauthorized\) \(at https?:\/\/[^/]+\/signin:\d+\)$/,
  ];

  const refused = async (username, password) => {
    const { context, page, assertNoProblems } = await openPage(browser);
    try {
      const response = await submitSignin(page, username, password);
      assert.equal(response.status(), 401, `POST /signin as ${username}`);
      assert.equal(new URL(page.url()).pathname, '/signin', 'still on the sign-in page');
      await page.locator('input[name="password"]').waitFor({ state: 'visible' });
      const text = await bodyText(page);
      assert.match(text, /Incorrect username or password/);
      assertNoProblems({ allowConsole });
      return text;
    } finally {
      await context.close();
    }
  };

  const wrongPassword = await refused(DEMO_USER, 'not-the-password');
  // An unknown user must get the very same answer, or the form would reveal
  // which usernames exist.
  const unknownUser = await refused('no-such-user-7f3a', DEMO_PASSWORD);
  // Each request has its own support code; everything else must be identical.
  const withoutSupportCode = (text) => text.replace(/Support code: \S+/, 'Support code: …');
  assert.match(wrongPassword, /Support code: \S+/, 'the page shows a support code');
  assert.equal(
    withoutSupportCode(unknownUser),
    withoutSupportCode(wrongPassword),
    'unknown user and wrong password get the same page',
  );
  assert.doesNotMatch(wrongPassword, /no such user|unknown user|user not found|does not exist|wrong password/i);
});
