// Passkeys (SPEC §6) in a real browser: Chromium's DevTools virtual authenticator stands in
// for a platform authenticator (user verification on, touch simulated). Ada signs in, adds a
// passkey on "my security info", and the server verified and stored the credential the
// authenticator created for this origin (relying party ID `localhost`); then the passkey
// proves her in a reset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, bodyText, launch, openPage } from './lib.mjs';

const USER = 'ada';
const PASSWORD = 'Demo-Reset-2026!';
const TEST_TIMEOUT = { timeout: 120_000 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a passkey is registered with a virtual authenticator', TEST_TIMEOUT, async () => {
  assert.equal(new URL(baseUrl()).hostname, 'localhost', 'WebAuthn needs a host name, not an IP');
  const { context, page, assertNoProblems } = await openPage(browser);
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    await page.goto('/signin');
    await page.locator('input[name="username"]').fill(USER);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await Promise.all([page.waitForURL(/\/(register|me)$/), page.locator('button[type="submit"]').click()]);
    await page.goto('/me/security-info');

    // The form is shown only where the browser can make passkeys.
    await page.locator('#passkey-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#passkey-form-unsupported').isVisible(), false);
    await page.locator('#passkey-name').fill('Test laptop');
    await Promise.all([
      page.waitForURL(/\?added=passkey$/),
      page.getByRole('button', { name: 'Add a passkey' }).click(),
    ]);
    assert.match(await bodyText(page), /Your passkey was added/);
    const row = page.locator('tr[data-method-type="passkey"]');
    assert.match(await row.innerText(), /Test laptop/);
    assert.match(await row.innerText(), /Verified/);

    // The authenticator holds exactly the credential the server accepted, for this RP.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].rpId, 'localhost');

    // Adding again from the same authenticator is refused by the authenticator itself
    // (the server excludes registered credentials), and nothing new is stored.
    await page.locator('#passkey-name').fill('Same laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkey-status').filter({ hasText: 'The passkey was not added' }).waitFor();
    assert.equal(await page.locator('tr[data-method-type="passkey"]').count(), 1);
    const again = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(again.credentials.length, 1);

    // The passkey proves Ada in a reset: /reset, the passkey method, the authenticator signs
    // the challenge, and the flow moves on to the new password (not set here: other tests
    // sign in as Ada).
    await page.goto('/reset');
    await page.locator('#username').fill(USER);
    await page.waitForFunction(() => document.querySelector('input[name="altcha"]')?.value);
    await Promise.all([
      page.waitForURL(/\/reset\/[0-9a-f-]+$/),
      page.locator('#reset-start button[type="submit"]').click(),
    ]);
    // One passkey entry, named generically: a device name would tell whoever types Ada's
    // user ID something about her.
    const item = page.locator('li[data-method-type="passkey"]');
    assert.equal(await item.count(), 1);
    assert.doesNotMatch(await item.innerText(), /Test laptop/);
    await Promise.all([page.waitForURL(/\/methods\/m\d+(\/send)?$/), item.locator('button').click()]);
    await page.locator('#passkey-verify').waitFor({ state: 'visible' });
    await Promise.all([
      page.waitForURL(/\/reset\/[0-9a-f-]+\/password$/),
      page.locator('#passkey-verify button[type="submit"]').click(),
    ]);
    assert.ok(await page.locator('input[name="new"], input[type="password"]').first().isVisible());
    const used = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(used.credentials[0].signCount > credentials[0].signCount, 'the authenticator signed');
    assertNoProblems();
  } finally {
    await context.close();
  }
});
