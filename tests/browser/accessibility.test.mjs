// Accessibility (WCAG 2.2 AA, SPEC §9): axe-core on every self-service and portal page, in
// Chromium, against the demo. A serious or critical violation fails the test with the rule,
// the elements and axe's help text. Pages are visited as a user reaches them (signed in,
// inside a reset flow) so that what is checked is what people see.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { launch, openPage } from './lib.mjs';

const TEST_TIMEOUT = { timeout: 240_000 };
const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const ADMIN_SECTIONS = [
  'properties', 'methods', 'registration', 'notifications', 'customisation', 'onprem',
  'protection', 'users', 'groups', 'audit', 'insights', 'tokens',
];

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Runs axe on the page as it is now; returns the serious and critical violations as text.
async function violations(page) {
  // Evaluated through DevTools, so the page's CSP (script-src 'self') does not apply to axe.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return result
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).join(', ')}`);
}

async function check(page, path, found) {
  const list = await violations(page);
  if (list.length) {
    found.push(`${path}:\n  ${list.join('\n  ')}`);
  }
}

// Dorothy's answers by question id (demo.rs DEMO_ANSWERS).
const DOROTHY_ANSWERS = { p01: 'Teddy', p02: 'Katherine', p03: 'Elm Street' };

// Clicks a form's button and waits for the page its POST answers with (after redirects).
async function submitAndLoad(page, button) {
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    button.first().click(),
  ]);
  await page.waitForLoadState('load');
}

async function signIn(page, action, username, password) {
  await page.goto(action);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.locator('form button[type="submit"]').click(),
  ]);
  await page.waitForLoadState('load');
}

test('self-service pages have no serious or critical axe violations', TEST_TIMEOUT, async () => {
  const found = [];
  const { context, page } = await openPage(browser);
  try {
    for (const path of ['/', '/signin', '/reset', '/?lng=de']) {
      await page.goto(path);
      await check(page, path, found);
    }
    // Inside a reset flow: the verify page and a method's code page. An unknown ID gets the
    // same pages (decoys) and nothing is sent, so no demo user's send budget is spent here.
    await page.goto('/reset');
    await page.locator('#username').fill('nobody-in-particular');
    await page.waitForFunction(() => document.querySelector('input[name="altcha"]')?.value);
    await Promise.all([
      page.waitForURL(/\/reset\/[0-9a-f-]+$/),
      page.locator('#reset-start button[type="submit"]').click(),
    ]);
    await check(page, 'reset verify page', found);
    await Promise.all([
      page.waitForURL(/\/methods\/m\d+$/),
      page.locator('li[data-method-type] button').first().click(),
    ]);
    await check(page, 'reset code page', found);

    // A real flow as far as the new password: dorothy's security questions (demo.rs), then
    // the password page. No password is set, so nothing changes for the other tests.
    await page.goto('/reset');
    await page.locator('#username').fill('dorothy');
    await page.waitForFunction(() => document.querySelector('input[name="altcha"]')?.value);
    await Promise.all([
      page.waitForURL(/\/reset\/[0-9a-f-]+$/),
      page.locator('#reset-start button[type="submit"]').click(),
    ]);
    await submitAndLoad(page, page.locator('li[data-method-type="security_questions"] button'));
    await check(page, 'reset security questions page', found);
    const count = await page.locator('#questions-form input[type="text"]').count();
    assert.ok(count > 0, 'the questions are asked');
    for (let i = 0; i < count; i++) {
      const id = await page.locator(`input[name="q${i}"]`).inputValue();
      await page.locator(`#a${i}`).fill(DOROTHY_ANSWERS[id]);
    }
    await submitAndLoad(page, page.locator('#questions-form button[type="submit"]'));
    assert.match(new URL(page.url()).pathname, /^\/reset\/[0-9a-f-]+\/password$/);
    await check(page, 'reset new password page', found);
  } finally {
    await context.close();
  }
  const signedIn = await openPage(browser);
  try {
    const p = signedIn.page;
    await signIn(p, '/signin', 'katherine', 'Demo-Orbit-2026!');
    await check(p, `registration interrupt (${new URL(p.url()).pathname})`, found);
    for (const path of ['/me', '/me/security-info', '/me/security-questions']) {
      await p.goto(path);
      await check(p, path, found);
    }
  } finally {
    await signedIn.context.close();
  }
  assert.deepEqual(found, [], `axe found serious or critical violations:\n${found.join('\n')}`);
});

test('admin portal pages have no serious or critical axe violations', TEST_TIMEOUT, async () => {
  const found = [];
  const { context, page } = await openPage(browser);
  try {
    await page.goto('/admin/signin');
    await check(page, '/admin/signin', found);
    await signIn(page, '/admin/signin', 'admin', 'Demo-Admin-2026!');
    assert.match(new URL(page.url()).pathname, /^\/admin\//, 'the demo admin is in the portal');
    for (const section of ADMIN_SECTIONS) {
      await page.goto(`/admin/${section}`);
      await check(page, `/admin/${section}`, found);
    }
    // A user's and a group's own pages.
    await page.goto('/admin/users?q=mary');
    await page.locator('#users a').first().click();
    await page.waitForURL(/\/admin\/users\/[0-9a-f-]+$/);
    await check(page, 'a user\'s page', found);
    await page.goto('/admin/groups');
    await page.locator('#groups a').first().click();
    await page.waitForURL(/\/admin\/groups\/[0-9a-f-]+$/);
    await check(page, 'a group\'s page', found);
    await page.goto('/admin/properties?lng=fr');
    await check(page, '/admin/properties?lng=fr', found);
  } finally {
    await context.close();
  }
  assert.deepEqual(found, [], `axe found serious or critical violations:\n${found.join('\n')}`);
});
