// The reset and unlock pages (SPEC §5, §9) in a real browser, against the demo's accounts:
// mary (email + authenticator app), dorothy (text message + security questions), margaret
// (a password administrator: two methods), hedy (locked: "unlock only"), ada (contact your
// administrator), grace and unknown IDs (decoys: the same pages, nothing sent).
//
// Codes come from the development outbox, app codes are computed from the demo's documented
// key at the server's (development) clock, so the tests do not mind registration.test.mjs
// moving that clock. Each test starts its own flows and leaves nothing another test needs:
// the passwords it sets are new each run, and the policy it changes is restored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseUrl, bodyText, launch, newMessageTo, openPage, outboxIds, serverTotp,
} from './lib.mjs';

const TEST_TIMEOUT = { timeout: 180_000 };
// The demo's authenticator-app key (mary, margaret): base32 of "sspr-demo-totp-seed!".
const DEMO_TOTP = 'ONZXA4RNMRSW23ZNORXXI4BNONSWKZBB';
// Dorothy's answers by question id (demo.rs DEMO_ANSWERS).
const DOROTHY_ANSWERS = { p01: 'Teddy', p02: 'Katherine', p03: 'Elm Street' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

function newPassword(who) {
  return `${who}-Reset-${Date.now().toString(36)}-Qx7!`;
}

// Click a button and wait for the page its form's POST answers with (after redirects).
async function submit(page, button, path) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.startsWith(path)),
    button.click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

function flowPath(page) {
  const m = new URL(page.url()).pathname.match(/^\/reset\/([^/]+)/);
  assert.ok(m, `on a reset page: ${page.url()}`);
  return `/reset/${m[1]}`;
}

// The widget solves its challenge on load and puts the solution in the field `altcha`. (Wait
// for it before leaving the page, too: leaving aborts its fetch, which counts as a problem.)
async function powSolved(page) {
  await page.waitForFunction(() => document.querySelector('input[name="altcha"]')?.value);
}

// /reset (unless the page is there already): the user ID, the proof of work solved by the
// widget, then the verify page.
async function startReset(page, userId, { navigate = true } = {}) {
  if (navigate) {
    await page.goto('/reset');
  }
  await page.locator('#username').fill(userId);
  await powSolved(page);
  await Promise.all([
    page.waitForURL(/\/reset\/[0-9a-f-]+$/),
    page.locator('#reset-start button[type="submit"]').click(),
  ]);
  return flowPath(page);
}

function method(page, type) {
  return page.locator(`li[data-method-type="${type}"]`).first();
}

// Sends a code to a method from the verify page; returns its code from the outbox.
async function sendCode(page, type, to, digits) {
  const before = await outboxIds();
  await submit(page, method(page, type).locator('button'), '/reset/');
  assert.match(new URL(page.url()).pathname, /\/methods\/m\d+$/);
  const m = await newMessageTo(to, before, new RegExp(`\\b\\d{${digits}}\\b`));
  return m.body.match(new RegExp(`\\b(\\d{${digits}})\\b`))[1];
}

async function enterCode(page, code) {
  await page.locator('#code').fill(code);
  return submit(page, page.locator('#code-form button[type="submit"]'), '/reset/');
}

async function setPassword(page, password) {
  // Let the live rule check of the typed value finish first: submitting while it is in flight
  // aborts its fetch (the page navigates), which the test would count as a problem. No check
  // is made when the value did not change, hence the time limit.
  const check = page
    .waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/password/check', { timeout: 5_000 })
    .catch(() => null);
  await page.locator('#new-password').fill(password);
  await check;
  await page.locator('#confirm').fill(password);
  return submit(page, page.locator('#new-password-form button[type="submit"]'), '/reset/');
}

async function signInWorks(page, user, password) {
  await page.goto('/signin');
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(password);
  await Promise.all([page.waitForURL(/\/(me|register)$/), page.locator('form[action="/signin"] button').click()]);
}

test('email and authenticator app: a wrong code in German, then a reset by email code, no sign-in', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await page.goto('/signin');
    await Promise.all([page.waitForURL(/\/reset$/), page.locator('#forgot-password').click()]);
    const flow = await startReset(page, 'mary', { navigate: false });
    let text = await bodyText(page);
    assert.match(text, /Verify your identity/);
    assert.match(await page.locator('#reset-progress').innerText(), /Verified 0 of 1/);
    assert.match(await method(page, 'email').innerText(), /Email: ma\S*@ex\S*\.org/);
    assert.match(await method(page, 'authenticator_code').innerText(), /Authenticator app/);

    // A skipped step goes back to verification.
    await page.goto(`${flow}/password`);
    assert.equal(new URL(page.url()).pathname, flow);

    // A wrong app code, in the page's language.
    await page.goto(`${flow}?lng=de`);
    await page.locator('li[data-method-type="authenticator_code"] input[name="code"]').fill('000000');
    const wrong = await submit(page, method(page, 'authenticator_code').locator('button'), '/reset/');
    assert.equal(wrong.status(), 400);
    assert.match(await page.locator('.alert').innerText(), /Das ist nicht richtig/);
    await page.goto(`${flow}?lng=en`);

    // The email code.
    const code = await sendCode(page, 'email', 'mary@example.org', 8);
    assert.match(await bodyText(page), /We sent a code to ma\S*@ex\S*\.org/);
    assert.match(await page.locator('details.no-code summary').innerText(), /Didn't get a code\?/);
    await enterCode(page, code);
    assert.equal(new URL(page.url()).pathname, `${flow}/password`);
    assert.equal(await page.locator('#unlock-only').count(), 0, 'mary is not locked');

    // The policy's feedback while typing, and its verdict on submit.
    await page.locator('#new-password').fill('password');
    await page.locator('#password-rules li').first().waitFor();
    const weak = await setPassword(page, 'password');
    assert.equal(weak.status(), 422);
    assert.ok((await page.locator('.alert li').count()) > 0);

    const password = newPassword('Mary');
    const done = await setPassword(page, password);
    assert.equal(done.status(), 200);
    text = await bodyText(page);
    assert.match(text, /Your password was reset\. Sign in with your new password\./);
    // No automatic sign-in, and the flow's cookie is gone.
    const cookies = await context.cookies();
    assert.ok(!cookies.some((c) => c.name === 'sspr_flow' && c.value), JSON.stringify(cookies));
    await page.goto('/me');
    assert.match(new URL(page.url()).pathname, /\/signin$/);
    // The finished flow is gone.
    const gone = await page.goto(flow);
    assert.equal(gone.status(), 404);
    assert.match(await bodyText(page), /This reset has expired/);

    await signInWorks(page, 'mary', password);

    // A second reset with the app alone (signed out: a fresh set of cookies; after the
    // development clock moved, sign-in may have stopped at the re-confirmation page).
    await context.clearCookies();
    const flow2 = await startReset(page, 'mary');
    await page.locator('li[data-method-type="authenticator_code"] input[name="code"]').fill(await serverTotp(DEMO_TOTP));
    await submit(page, method(page, 'authenticator_code').locator('button'), '/reset/');
    assert.equal(new URL(page.url()).pathname, `${flow2}/password`);
    const password2 = newPassword('Mary');
    await setPassword(page, password2);
    assert.match(await bodyText(page), /Your password was reset/);
    await signInWorks(page, 'mary', password2);
    assertNoProblems({ allowConsole: [/status of (400|404|422)/] });
  } finally {
    await context.close();
  }
});

test('text message with a resend, then security questions after a wrong answer', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    const flow = await startReset(page, 'dorothy');
    assert.match(await method(page, 'mobile_sms').innerText(), /\+44/);
    assert.equal(await method(page, 'email').count(), 0);
    await sendCode(page, 'mobile_sms', '+447911123459', 6);
    // "Didn't get a code?": a new one.
    await page.locator('details.no-code summary').click();
    const before = await outboxIds();
    await submit(page, page.getByRole('button', { name: 'Send a new code' }), `${flow}/methods/`);
    const sms = await newMessageTo('+447911123459', before, /\b\d{6}\b/);
    await enterCode(page, sms.body.match(/\b(\d{6})\b/)[1]);
    assert.equal(new URL(page.url()).pathname, `${flow}/password`);
    await setPassword(page, newPassword('Dorothy'));
    assert.match(await bodyText(page), /Your password was reset/);

    // A second reset with the security questions.
    const flow2 = await startReset(page, 'dorothy');
    await submit(page, method(page, 'security_questions').locator('button'), '/reset/');
    assert.match(await bodyText(page), /Answer your security questions/);
    const count = await page.locator('#questions-form input[type="text"]').count();
    assert.equal(count, 3);
    for (let i = 0; i < count; i++) {
      await page.locator(`#a${i}`).fill('wrong answer');
    }
    const wrong = await submit(page, page.locator('#questions-form button[type="submit"]'), '/reset/');
    assert.equal(wrong.status(), 400);
    assert.match(await page.locator('.alert').innerText(), /That is not right/);
    for (let i = 0; i < count; i++) {
      const id = await page.locator(`input[name="q${i}"]`).inputValue();
      await page.locator(`#a${i}`).fill(DOROTHY_ANSWERS[id]);
    }
    await submit(page, page.locator('#questions-form button[type="submit"]'), '/reset/');
    assert.equal(new URL(page.url()).pathname, `${flow2}/password`);
    const password = newPassword('Dorothy');
    await setPassword(page, password);
    assert.match(await bodyText(page), /Your password was reset/);
    await signInWorks(page, 'dorothy', password);
    assertNoProblems({ allowConsole: [/status of 400/] });
  } finally {
    await context.close();
  }
});

test('an administrator proves two methods: email, then the authenticator app', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    const flow = await startReset(page, 'margaret');
    assert.match(await page.locator('#reset-progress').innerText(), /Verified 0 of 2/);
    assert.equal(await method(page, 'security_questions').count(), 0, 'never questions for admins');
    const code = await sendCode(page, 'email', 'margaret@example.org', 8);
    await enterCode(page, code);
    // One of two: back to the methods.
    assert.equal(new URL(page.url()).pathname, flow);
    assert.match(await page.locator('#reset-progress').innerText(), /Verified 1 of 2/);
    assert.match(await method(page, 'email').innerText(), /Verified/);
    await page.locator('li[data-method-type="authenticator_code"] input[name="code"]').fill(await serverTotp(DEMO_TOTP));
    await submit(page, method(page, 'authenticator_code').locator('button'), '/reset/');
    assert.equal(new URL(page.url()).pathname, `${flow}/password`);
    const password = newPassword('Margaret');
    await setPassword(page, password);
    assert.match(await bodyText(page), /Your password was reset/);
    await signInWorks(page, 'margaret', password);
    assertNoProblems();
  } finally {
    await context.close();
  }
});

test('a locked-out user unlocks without changing the password', TEST_TIMEOUT, async () => {
  const PASSWORD = 'Demo-Signal-2026!';
  const session = (password) => fetch(`${baseUrl()}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'hedy', password }),
  });
  // The demo seeds hedy locked; a re-run locks her again by failed sign-ins.
  if ((await session(PASSWORD)).status !== 423) {
    for (let i = 0; i < 12; i++) {
      await session('not her password');
    }
    assert.equal((await session(PASSWORD)).status, 423, 'hedy is locked');
  }
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    const flow = await startReset(page, 'hedy');
    await enterCode(page, await sendCode(page, 'email', 'hedy@example.org', 8));
    assert.equal(new URL(page.url()).pathname, `${flow}/password`);
    assert.match(await bodyText(page), /Only unlock your account/);
    const res = await submit(page, page.locator('#unlock-only'), `${flow}/unlock`);
    assert.equal(res.status(), 200);
    assert.match(await bodyText(page), /Your account is unlocked\./);
    await signInWorks(page, 'hedy', PASSWORD);
    assertNoProblems();
  } finally {
    await context.close();
  }
});

async function adminFetch(cookie, path, init = {}) {
  return fetch(`${baseUrl()}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', cookie, ...(init.headers ?? {}) },
  });
}

test('without a helpdesk link the administrators can be contacted; with one, the link shows', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    // A user sspr serves: the request reaches the password administrator (margaret).
    await startReset(page, 'ada');
    assert.equal(await page.locator('#helpdesk-link').count(), 0);
    const note = `I lost my phone (${Date.now()})`;
    const before = await outboxIds();
    await page.locator('#contact-message').fill(note);
    const sent = await submit(page, page.locator('#contact-admin button'), '/reset/');
    assert.equal(sent.status(), 200);
    const realPage = await bodyText(page);
    assert.match(realPage, /Your request was sent/);
    const mail = await newMessageTo('margaret@example.org', before, new RegExp(note.replace(/[()]/g, '\\$&')));
    assert.match(mail.body, /ada/);
    assert.ok(!(await outboxIds()).some((id) => !before.includes(id) && id !== mail.id),
      'one message: helpdesk and password administrators first, nobody else');

    // A user ID sspr does not serve: the same page, nothing sent.
    await startReset(page, 'grace');
    const before2 = await outboxIds();
    await page.locator('#contact-message').fill(note);
    const decoy = await submit(page, page.locator('#contact-admin button'), '/reset/');
    assert.equal(decoy.status(), 200);
    assert.match(await bodyText(page), /Your request was sent/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await outboxIds()).filter((id) => !before2.includes(id)), []);

    // The administrator sets a helpdesk link: every reset page shows it instead.
    const signIn = await fetch(`${baseUrl()}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'Demo-Admin-2026!' }),
    });
    assert.equal(signIn.status, 200);
    const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const policy = await (await adminFetch(cookie, '/api/v1/admin/policy')).json();
    const url = 'https://help.example.org/sspr';
    try {
      const put = await adminFetch(cookie, '/api/v1/admin/policy', {
        method: 'PUT',
        body: JSON.stringify({ ...policy, helpdesk: { kind: 'url', value: url } }),
      });
      assert.equal(put.status, 200, await put.text());
      await page.goto('/reset');
      assert.equal(await page.locator('#helpdesk-link').getAttribute('href'), url);
      await startReset(page, 'ada', { navigate: false });
      assert.equal(await page.locator('#helpdesk-link').getAttribute('href'), url);
      assert.equal(await page.locator('#contact-admin').count(), 0);
    } finally {
      const restore = await adminFetch(cookie, '/api/v1/admin/policy', { method: 'PUT', body: JSON.stringify(policy) });
      assert.equal(restore.status, 200);
    }
    assertNoProblems();
  } finally {
    await context.close();
  }
});

test('a user ID sspr does not know gets the same pages, and blocking says how long to wait', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    const flow = await startReset(page, `nobody-${Date.now()}@example.org`);
    assert.match(await page.locator('#reset-progress').innerText(), /Verified 0 of 1/);
    const before = await outboxIds();
    await submit(page, method(page, 'email').locator('button'), '/reset/');
    assert.match(await bodyText(page), /We sent a code to/);
    let last;
    for (let i = 0; i < 7; i++) {
      await page.locator('#code').fill('12345678');
      last = await submit(page, page.locator('#code-form button[type="submit"]'), '/reset/');
      if (last.status() === 429) break;
      assert.equal(last.status(), 400);
      assert.match(await page.locator('.alert').innerText(), /That is not right/);
    }
    assert.equal(last.status(), 429);
    assert.match(await page.locator('.alert').innerText(), /Too many attempts\. Try again in 24 hours\./);
    assert.deepEqual((await outboxIds()).filter((id) => !before.includes(id)), [], 'nothing sent');
    assert.match(new URL(page.url()).pathname, new RegExp(`^${flow}`));
    assertNoProblems({ allowConsole: [/status of (400|429)/] });
  } finally {
    await context.close();
  }
});

test('a flow goes on in another browser with its cookie, without JavaScript; without the cookie it is gone', TEST_TIMEOUT, async () => {
  const first = await openPage(browser);
  let flow;
  let cookies;
  try {
    flow = await startReset(first.page, 'mary');
    cookies = await first.context.cookies();
    assert.ok(cookies.some((c) => c.name === 'sspr_flow'));
  } finally {
    await first.context.close();
  }
  // A browser that kept the cookie (as one would across a server restart), with no JavaScript.
  const context = await browser.newContext({ baseURL: `${baseUrl()}/`, javaScriptEnabled: false });
  try {
    await context.addCookies(cookies);
    const page = await context.newPage();
    await page.goto(flow);
    assert.match(await bodyText(page), /Verify your identity/);
    await enterCode(page, await sendCode(page, 'email', 'mary@example.org', 8));
    assert.equal(new URL(page.url()).pathname, `${flow}/password`);
    const password = newPassword('Mary');
    await setPassword(page, password);
    assert.match(await bodyText(page), /Your password was reset/);
  } finally {
    await context.close();
  }
  // Another browser without the cookie: the one neutral page.
  const stranger = await openPage(browser);
  try {
    const res = await stranger.page.goto(flow);
    assert.equal(res.status(), 404);
    assert.match(await bodyText(stranger.page), /This reset has expired or does not exist\. Start again\./);
    const bogus = await stranger.page.goto('/reset/not-a-flow/password');
    assert.equal(bogus.status(), 404);
    stranger.assertNoProblems({ allowConsole: [/status of 404/] });
  } finally {
    await stranger.context.close();
  }
});
