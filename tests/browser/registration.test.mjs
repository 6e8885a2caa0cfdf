// The registration interrupt and "my security info" (SPEC §6) in a real browser:
// katherine (in scope, nothing registered) signs in, is asked to keep her account secure,
// registers an email address (code read from the development outbox), an authenticator app
// (code computed from the secret the page shows) and security questions; 180 days later
// (the development clock is moved forward) sign-in asks her to re-confirm.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { baseUrl, bodyText, launch, openPage } from './lib.mjs';

const USER = 'katherine';
const PASSWORD = 'Demo-Orbit-2026!';
const TEST_TIMEOUT = { timeout: 120_000 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function signIn(page) {
  await page.goto('/signin');
  await page.locator('input[name="username"]').fill(USER);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await Promise.all([page.waitForURL(/\/(register|me)$/), page.locator('button[type="submit"]').click()]);
}

// Click a submit button and wait for the page its form's POST answers with.
async function submit(page, button, path) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.startsWith(path)),
    button.click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

async function newestCodeTo(address) {
  const messages = await (await fetch(`${baseUrl()}/dev/outbox`)).json();
  const m = messages.find((x) => x.to === address && /\b\d{8}\b/.test(x.body));
  assert.ok(m, `a code was sent to ${address}`);
  return m.body.match(/\b(\d{8})\b/)[1];
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

// RFC 6238 (SHA-1, 6 digits, 30 s) at the server's time (its development clock may be ahead).
async function totpNow(secret) {
  const { now } = await (await fetch(`${baseUrl()}/dev/clock`)).json();
  const step = Math.floor(Date.parse(now) / 1000 / 30);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

test('sign-in interrupts registration; email, authenticator and questions get registered', TEST_TIMEOUT, async () => {
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await signIn(page);
    assert.match(new URL(page.url()).pathname, /\/register$/);
    assert.match(await bodyText(page), /Keep your account secure/);
    assert.match(await page.locator('#registration-progress').innerText(), /Registered: 0 of 1/);
    await page.getByRole('link', { name: 'Add methods' }).click();
    await page.waitForURL(/\/me\/security-info/);

    // Email: a code goes to the address; the method counts once it is entered.
    const address = 'katherine.johnson@example.net';
    await page.locator('#email-address').fill(address);
    await submit(page, page.getByRole('button', { name: 'Send a code to this address' }), '/me/security-info/email');
    assert.match(await bodyText(page), /We sent a code to/);
    const row = page.locator('tr[data-method-type="email"]');
    await row.locator('input[name="code"]').fill(await newestCodeTo(address));
    await submit(page, row.getByRole('button', { name: 'Verify' }), '/me/security-info/');
    assert.match(await bodyText(page), /Verified:/);
    assert.match(await row.innerText(), /Verified/);

    // Authenticator app: QR code and key, finished by one valid code.
    await submit(page, page.getByRole('button', { name: 'Add an authenticator app' }), '/me/security-info/authenticator');
    await page.locator('#totp-enrolment svg').waitFor();
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await page.locator('#totp-code').fill(await totpNow(secret));
    await submit(page, page.locator('#totp-enrolment button[type="submit"]'), '/me/security-info/');
    assert.match(await bodyText(page), /Verified:/);
    assert.match(await page.locator('tr[data-method-type="authenticator_code"]').innerText(), /Verified/);

    // Security questions: three different questions, three different answers.
    await page.getByRole('link', { name: /security questions/ }).click();
    await page.waitForURL(/\/me\/security-questions$/);
    const answers = ['Apollo Eleven', 'White Sulphur Springs', 'Mr Carter'];
    for (let i = 0; i < 3; i++) {
      await page.locator(`#q${i}`).selectOption({ index: i + 1 });
      await page.locator(`#a${i}`).fill(answers[i]);
    }
    await submit(page, page.getByRole('button', { name: 'Save answers' }), '/me/security-questions');
    assert.match(await bodyText(page), /Your security questions are saved/);
    assert.match(await page.locator('tr[data-method-type="security_questions"]').innerText(), /Verified/);

    // Registered now: the interrupt lets her through to her account.
    await page.goto('/register');
    await page.waitForURL(/\/me$/);
    assertNoProblems();
  } finally {
    await context.close();
  }
});

test('after the re-confirmation period, sign-in asks to review the security info', TEST_TIMEOUT, async () => {
  // 181 days later on the development clock (the policy's default period is 180 days).
  const r = await fetch(`${baseUrl()}/dev/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance_seconds: 181 * 24 * 3600 }),
  });
  assert.equal(r.status, 200);
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    await signIn(page);
    assert.match(new URL(page.url()).pathname, /\/register$/);
    const text = await bodyText(page);
    assert.match(text, /Please check that your security info is still right/);
    assert.match(text, /Skip for now/);
    await Promise.all([page.waitForURL(/\/me$/), page.getByRole('button', { name: 'Looks good' }).click()]);

    // Confirmed: the next sign-in goes straight to the account.
    await page.locator('form[action="/signout"] button').click();
    await page.waitForURL((u) => new URL(u).pathname === '/');
    await signIn(page);
    assert.match(new URL(page.url()).pathname, /\/me$/);
    assertNoProblems();
  } finally {
    await context.close();
  }
});
