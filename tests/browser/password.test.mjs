// Changing a password on "my account": live rule feedback while typing (the page's script
// asks /api/v1/password/check), and the server's own check on submit.
// Uses the demo user grace, whom no other browser test signs in as.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyText, launch, openPage } from './lib.mjs';

const USER = 'grace';
const PASSWORD = 'Demo-Grace-2026!';
const TEST_TIMEOUT = { timeout: 60_000 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// The page's live rule check (debounced) for the value just typed.
function liveCheck(page) {
  return page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/password/check');
}

// Submit the change form and wait for the page the POST answers with. (Waiting for 'load'
// alone can resolve on the old page before the navigation starts.)
async function submitChange(page) {
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/me/password',
    ),
    page.locator('#change-password button[type="submit"]').click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

test('the new password is checked as the user types and again on submit', TEST_TIMEOUT, async () => {
  // A refused change answers 422, which Chromium logs as a failed document load.
  const allowConsole = [/status of 422/];
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await page.goto('/signin');
    await page.locator('input[name="username"]').fill(USER);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(/\/me$/);

    // A common password: the "guessable" rule fails, without naming the banned term.
    await page.locator('#new-password').fill('Password1!');
    const rules = page.locator('#password-rules');
    await rules.locator('li.fail', { hasText: 'easy to guess' }).waitFor();
    assert.doesNotMatch(await rules.innerText(), /password1|"password"/i);

    // A strong one: every rule passes.
    await page.locator('#new-password').fill('Tangerine-Bicycle-Orbit-42');
    await rules.locator('li.pass', { hasText: 'not based on common passwords' }).waitFor();
    assert.equal(await rules.locator('li.fail', { hasText: 'characters' }).count(), 0);

    // Submitting a refused password shows why, and changes nothing.
    await page.locator('#current').fill(PASSWORD);
    // Let the live check of the typed value finish first: a check still in flight when the
    // form navigates is aborted, and the page would report a failed request.
    let checked = liveCheck(page);
    await page.locator('#new-password').fill('Hopper!1');
    await checked;
    await page.locator('#confirm').fill('Hopper!1');
    assert.equal((await submitChange(page)).status(), 422, 'the refused change answers 422');
    assert.match(await bodyText(page), /easy to guess/);

    // A good one is accepted.
    await page.locator('#current').fill(PASSWORD);
    checked = liveCheck(page);
    await page.locator('#new-password').fill('Tangerine-Bicycle-Orbit-42');
    await checked;
    await page.locator('#confirm').fill('Tangerine-Bicycle-Orbit-42');
    assert.equal((await submitChange(page)).status(), 200);
    assert.match(await bodyText(page), /Your password was changed/);
    assertNoProblems({ allowConsole });
  } finally {
    await context.close();
  }
});
