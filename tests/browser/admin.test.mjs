// The admin portal in a real browser, against the demo (issue 7's journeys): the demo's global
// administrator signs in, enables SSPR for one group, requires two methods and sets a helpdesk
// link — and a user's reset shows each change. The policy is restored through the portal at
// the end (the other tests rely on the demo's settings), and the restore is checked too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { bodyText, launch, newMessageTo, openPage, outboxIds } from './lib.mjs';

const TEST_TIMEOUT = { timeout: 240_000 };
const HELPDESK = 'https://help.example.org/portal-test';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Click a submit button and wait for the page its POST leads to (after the redirect).
async function save(page, button = page.locator('#settings button[type="submit"]')) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    button.click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

async function adminSignIn(page) {
  await page.goto('/admin/signin');
  await page.locator('#username').fill('admin');
  await page.locator('#password').fill('Demo-Admin-2026!');
  await save(page, page.locator('form button[type="submit"]'));
  assert.equal(new URL(page.url()).pathname, '/admin/properties');
}

// Target group, methods required and helpdesk link through the portal's forms.
async function configure(page, { group, required, helpdesk }) {
  await page.goto(`/admin/properties?group_q=${encodeURIComponent(group)}`);
  await page.locator('#enablement-selected').check();
  await page.getByLabel(group, { exact: true }).check();
  await save(page);
  assert.match(await page.locator('#notice').innerText(), /Saved|Nothing to save/);

  await page.goto('/admin/methods');
  await page.locator(`#required-${required}`).check();
  await save(page);
  assert.match(await page.locator('#notice').innerText(), /Saved|Nothing to save/);

  await page.goto('/admin/customisation');
  if (helpdesk) {
    await page.locator('#helpdesk-url').check();
    await page.locator('#helpdesk-value').fill(helpdesk);
  } else {
    await page.locator('#helpdesk-off').check();
    await page.locator('#helpdesk-value').fill('');
  }
  await save(page);
  assert.match(await page.locator('#notice').innerText(), /Saved|Nothing to save/);
}

// A reset for `userId` up to the verify page, in a fresh browser context.
async function startReset(userId) {
  const opened = await openPage(browser);
  const { page } = opened;
  await page.goto('/reset');
  await page.locator('#username').fill(userId);
  await page.waitForFunction(() => document.querySelector('input[name="altcha"]')?.value);
  await Promise.all([
    page.waitForURL(/\/reset\/[0-9a-f-]+$/),
    page.locator('#reset-start button[type="submit"]').click(),
  ]);
  return opened;
}

// Sends mary's email code from her verify page; true if a message reached her.
async function emailArrives(page) {
  const before = await outboxIds();
  await save(page, page.locator('li[data-method-type="email"] button').first());
  assert.match(new URL(page.url()).pathname, /\/methods\/m\d+$/);
  try {
    await newMessageTo('mary@example.org', before, /\b\d{8}\b/, 3_000);
    return true;
  } catch {
    return false;
  }
}

test('an administrator enables SSPR for a group, requires two methods and sets a helpdesk link; resets follow', TEST_TIMEOUT, async () => {
  const admin = await openPage(browser);
  try {
    await adminSignIn(admin.page);
    // Only the pilot group (ada), two methods, a helpdesk link.
    await configure(admin.page, { group: 'SSPR-Pilot', required: 2, helpdesk: HELPDESK });

    // The portal shows what is stored.
    await admin.page.goto('/admin/methods');
    assert.equal(await admin.page.locator('#required-2').isChecked(), true);

    // Mary (in SSPR-Users, not in the pilot) now sees two methods required and the helpdesk
    // link — and nothing is sent to her: she is out of scope, so her flow is a decoy.
    const mary = await startReset('mary');
    try {
      assert.match(await mary.page.locator('#reset-progress').innerText(), /0 of 2/);
      assert.equal(await mary.page.locator('#helpdesk-link').getAttribute('href'), HELPDESK);
      assert.equal(await emailArrives(mary.page), false, 'no code for a user out of scope');
      mary.assertNoProblems();
    } finally {
      await mary.context.close();
    }
  } finally {
    // Back to the demo's settings, through the portal again.
    await configure(admin.page, { group: 'SSPR-Users', required: 1, helpdesk: null });
    await admin.context.close();
  }

  // Restored: one method, no helpdesk link, and mary's code arrives again.
  const mary = await startReset('mary');
  try {
    assert.match(await mary.page.locator('#reset-progress').innerText(), /0 of 1/);
    assert.equal(await mary.page.locator('#helpdesk-link').count(), 0);
    assert.equal(await emailArrives(mary.page), true, 'mary is served again');
    mary.assertNoProblems();
  } finally {
    await mary.context.close();
  }
});

test('a refused setting is explained next to its field and nothing changes', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await adminSignIn(page);
    await page.goto('/admin/customisation');
    await page.locator('#helpdesk-url').check();
    await page.locator('#helpdesk-value').fill('not a link');
    const r = await save(page);
    assert.equal(r.status(), 422);
    assert.match(await page.locator('#errors').innerText(), /Helpdesk link: .*http/);
    assert.equal(await page.locator('#helpdesk-value').inputValue(), 'not a link', 'what was typed stays');
    await page.goto('/admin/customisation');
    assert.equal(await page.locator('#helpdesk-off').isChecked(), true, 'nothing was stored');
    assert.match(await bodyText(page), /Customization/);
    assertNoProblems({ allowConsole: [/status of 422/] });
  } finally {
    await context.close();
  }
});

test('the admin portal is closed to people without an admin role', TEST_TIMEOUT, async () => {
  const { context, page } = await openPage(browser);
  try {
    await page.goto('/admin/methods');
    assert.equal(new URL(page.url()).pathname, '/admin/signin', 'sent to sign in');
    await page.locator('#username').fill('katherine');
    await page.locator('#password').fill('Demo-Orbit-2026!');
    const r = await save(page, page.locator('form button[type="submit"]'));
    assert.equal(r.status(), 403);
    assert.match(await bodyText(page), /no admin role/);
    await page.goto('/admin/methods');
    assert.equal(new URL(page.url()).pathname, '/admin/signin', 'still not signed in');
  } finally {
    await context.close();
  }
});




test('an administrator views the registration report and exports the audit log', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await adminSignIn(page);
    await page.locator('nav.admin-nav a[href="/admin/insights"]').click();
    await page.waitForURL(/\/admin\/insights$/);
    const tiles = await page.locator('#registration-summary').innerText();
    assert.match(tiles, /Registered\s+\d+/);
    assert.equal(await page.locator('svg#chart-methods').count(), 1, 'the chart is drawn');
    assert.equal(await page.locator('svg#chart-activity').count(), 1);
    const mary = page.locator('#registration tr', { hasText: 'mary' });
    assert.match(await mary.innerText(), /yes/, 'mary is registered');

    // The audit log, filtered to the portal's own policy changes, downloaded as CSV.
    await page.goto('/admin/audit');
    await page.locator('#f-type').selectOption('Self-service password reset policy changes');
    await Promise.all([page.waitForURL(/type=/), page.locator('#audit-filter button').click()]);
    assert.ok(await page.locator('#audit tbody tr').count() >= 1, 'the admin journey left records');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#export-csv').click(),
    ]);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    assert.match(lines[0], /event_type/, 'a header line');
    assert.ok(lines.length >= 2, 'and records');
    assert.ok(lines.slice(1).every((l) => l.includes('Self-service password reset policy changes')),
      'only the filtered event');
    assertNoProblems();
  } finally {
    await context.close();
  }
});
