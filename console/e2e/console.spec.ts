import { expect, test, type APIRequestContext, type Page, type TestInfo } from '@playwright/test';
import { copyFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ADMIN_PASSWORD, VIEWER_PASSWORD } from './global-setup';

const DOCS = resolve(import.meta.dirname, '..', '..', 'docs');

async function shot(page: Page, info: TestInfo, name: string, docs = false): Promise<void> {
  const path = info.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: false });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS) {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(path, resolve(DOCS, `console-${name}.png`));
  }
}

function gatewayAuth(id = process.env.E2E_CLIENT_ID, secret = process.env.E2E_CLIENT_SECRET): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function introspect(request: APIRequestContext, token: string, auth = gatewayAuth()): Promise<boolean> {
  const response = await request.post('/oauth2/introspect', { form: { token }, headers: { Authorization: auth } });
  expect(response.status()).toBe(200);
  return ((await response.json()) as { active: boolean }).active;
}

/** Every CSP violation the browser reports fails the test that caused it. */
function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Copies the one-time secret with its Copy button, reads it back from the clipboard. */
async function copySecret(page: Page, field = 'Access token'): Promise<string> {
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('only this one time')).toBeVisible();
  const shown = await dialog.getByLabel(field, { exact: true }).inputValue();
  await dialog.getByRole('button', { name: `Copy ${field.toLowerCase()}` }).click();
  await expect(dialog.getByText('Copied', { exact: true })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(shown);
  return copied;
}

async function closeSecret(page: Page): Promise<void> {
  await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
}

async function addToken(page: Page, name: string, policy: string, expiresAt?: string): Promise<string> {
  await page.getByRole('button', { name: 'Add Access Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Access Token' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Expiration policy').selectOption({ label: policy });
  if (policy === 'Never') await expect(dialog.getByText('never expires stays valid')).toBeVisible();
  if (expiresAt) await dialog.getByLabel('Expires at').fill(expiresAt);
  await dialog.getByRole('button', { name: 'Save Global API Access Token' }).click();
  const secret = await copySecret(page);
  return secret;
}

async function expectNoSecretStored(page: Page, secrets: string[]): Promise<void> {
  const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, u: location.href }));
  for (const secret of secrets) expect(stored).not.toContain(secret);
}

async function createIntegration(page: Page, name: string): Promise<void> {
  await nav(page, 'Global Integrations').click();
  await page.getByRole('button', { name: 'Add Custom Integration' }).click();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Description').fill('Nightly stock sync for every merchant');
  await page.getByLabel('Notification Email').fill('ops@example.com');
  await page.getByRole('button', { name: 'Save and Continue' }).click();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Access Tokens' })).toBeVisible();
}

test('the help page, end to end', async ({ page, request }, info) => {
  test.setTimeout(180_000);
  const csp = watchCsp(page);
  await page.goto('/');
  await expect(page).toHaveURL(/\/console\/sign-in$/);
  await signIn(page, 'admin', 'wrong password');
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
  await shot(page, info, 'sign-in');
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Global Integrations' })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('admin');
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();

  // Field errors from problem+json sit next to their field.
  await page.getByRole('button', { name: 'Add Custom Integration' }).click();
  await page.getByLabel('Name').fill('Warehouse ERP');
  await page.getByLabel('Notification Email').fill('not an email');
  await page.getByRole('button', { name: 'Save and Continue' }).click();
  await expect(page.getByLabel('Notification Email')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Notification Email')).toHaveAccessibleDescription(/email/i);

  await createIntegration(page, 'Warehouse ERP');

  // One token per policy; each secret, read from the clipboard, introspects active.
  const secrets = new Map<string, string>();
  const policies = ['7 days', '30 days', '60 days', '90 days', '180 days', '1 year', 'Custom', 'Never'];
  for (const policy of policies) {
    const name = `ERP ${policy}`;
    const secret = await addToken(page, name, policy, policy === 'Custom' ? '2031-06-30T12:00' : undefined);
    if (policy === '7 days') await shot(page, info, 'secret', true);
    await closeSecret(page);
    secrets.set(name, secret);
    expect(await introspect(request, secret)).toBe(true);
  }
  await expectNoSecretStored(page, [...secrets.values()]);
  const grid = page.getByRole('table');
  await expect(grid.getByRole('row')).toHaveCount(policies.length + 1);
  await expect(grid.getByRole('row', { name: /ERP 7 days/ })).toContainText('expires soon');
  await expect(grid.getByRole('row', { name: /ERP Never/ })).toContainText('Never');
  await shot(page, info, 'integration');

  // Closing the secret dialog without copying asks again.
  await page.getByRole('button', { name: 'Add Access Token' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill('ERP uncopied');
  await page.getByRole('dialog').getByLabel('Expiration policy').selectOption({ label: '30 days' });
  await page.getByRole('button', { name: 'Save Global API Access Token' }).click();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('dialog')).toContainText('You have not copied the access token');
  await page.getByRole('button', { name: 'Close without copying' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);

  // Revoke one from its page.
  await grid.getByRole('link', { name: 'ERP 30 days' }).click();
  await expect(page.getByRole('heading', { name: 'Access token ERP 30 days' })).toBeVisible();
  await shot(page, info, 'token');
  await page.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.locator('.details')).toContainText('Revoked by an operator');
  expect(await introspect(request, secrets.get('ERP 30 days') ?? '')).toBe(false);
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Warehouse ERP' }).click();

  // Select two and revoke them with the mass action.
  await page.getByRole('checkbox', { name: 'Select all' }).check();
  await expect(page.getByRole('checkbox', { name: 'Select ERP 60 days' })).toBeChecked();
  await page.getByRole('checkbox', { name: 'Select all' }).uncheck();
  await page.getByRole('checkbox', { name: 'Select ERP 60 days' }).check();
  await page.getByRole('checkbox', { name: 'Select ERP 90 days' }).check();
  await page.getByRole('button', { name: 'Revoke selected' }).click();
  await expect(page.getByRole('dialog')).toContainText('Revoke 2 tokens?');
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'revoked' })).toHaveText('2 revoked, 0 already inactive.');
  expect(await introspect(request, secrets.get('ERP 60 days') ?? '')).toBe(false);
  expect(await introspect(request, secrets.get('ERP 90 days') ?? '')).toBe(false);
  expect(await introspect(request, secrets.get('ERP 180 days') ?? '')).toBe(true);

  // Regenerate: the old secret is inactive, the new one active; the old page says so.
  await page.getByRole('table').getByRole('link', { name: 'ERP 1 year' }).click();
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByRole('dialog').getByLabel('Expiration policy').selectOption({ label: '90 days' });
  await page.getByRole('dialog').getByRole('button', { name: 'Regenerate' }).click();
  const renewed = await copySecret(page);
  await closeSecret(page);
  expect(await introspect(request, secrets.get('ERP 1 year') ?? '')).toBe(false);
  expect(await introspect(request, renewed)).toBe(true);
  await expect(page.getByRole('note').filter({ hasText: 'was regenerated' })).toBeVisible();
  await page.getByRole('note').getByRole('link', { name: 'the new token' }).click();
  await expect(page.locator('.details')).toContainText('90 days');
  secrets.set('ERP 1 year', renewed);

  // Active: No makes every token inactive; Yes brings back those not revoked.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Warehouse ERP' }).click();
  await page.getByLabel('Active').selectOption('No');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('note').filter({ hasText: 'inactive' })).toBeVisible();
  for (const secret of secrets.values()) expect(await introspect(request, secret)).toBe(false);
  await page.getByLabel('Active').selectOption('Yes');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('note').filter({ hasText: 'inactive' })).toHaveCount(0);
  const revoked = new Set(['ERP 30 days', 'ERP 60 days', 'ERP 90 days']);
  for (const [name, secret] of secrets) expect(await introspect(request, secret)).toBe(!revoked.has(name));

  // The grid of integrations.
  await createIntegration(page, 'Returns portal');
  await nav(page, 'Global Integrations').click();
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(3);
  await expect(page.getByRole('row', { name: /Warehouse ERP/ })).toContainText('6 / 0 / 4');
  await page.getByLabel('Search').fill('returns');
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(2);
  await nav(page, 'Global Integrations').click(); // the link shows the whole list again
  await expect(page.getByLabel('Search')).toHaveValue('');
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(3);
  await page.getByRole('button', { name: /Name/ }).click();
  await expect(page.getByRole('table').getByRole('row').nth(1)).toContainText('Returns portal');
  await page.getByRole('button', { name: /Name/ }).click();
  await expect(page.getByRole('table').getByRole('row').nth(1)).toContainText('Warehouse ERP');
  await expect(page.getByText('1–2 of 2 integrations')).toBeVisible();
  await shot(page, info, 'integrations', true);

  // Delete asks first and says every token will be revoked.
  await page.getByRole('link', { name: 'Returns portal' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog')).toContainText('Every token of this integration will be revoked');
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('heading', { name: 'Global Integrations' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Returns portal' })).toHaveCount(0);

  // Gateway credentials: shown once; the new one can introspect; revoked, it cannot.
  await nav(page, 'Gateway credentials').click();
  await page.getByRole('button', { name: 'Add gateway credential' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill('eu-gateway');
  await page.getByRole('dialog').getByRole('button', { name: 'Create credential' }).click();
  const clientId = await page.getByRole('dialog').getByLabel('Client ID').inputValue();
  const clientSecret = await copySecret(page, 'Client secret');
  await shot(page, info, 'gateway-secret');
  await closeSecret(page);
  const auth = gatewayAuth(clientId, clientSecret);
  expect(await introspect(request, secrets.get('ERP 7 days') ?? '', auth)).toBe(true);
  await shot(page, info, 'gateway-credentials');
  await page.getByRole('row', { name: /eu-gateway/ }).getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByRole('row', { name: /eu-gateway/ })).toContainText('Revoked');
  const refused = await request.post('/oauth2/introspect', { form: { token: 'x' }, headers: { Authorization: auth } });
  expect(refused.status()).toBe(401);

  // Leaked tokens.
  await nav(page, 'Leaked tokens').click();
  await page.getByLabel('Secrets').fill(`${secrets.get('ERP 180 days')}\n${secrets.get('ERP 30 days')}\nssg_not_ours`);
  await page.getByRole('button', { name: 'Revoke leaked tokens' }).click();
  const result = page.getByRole('status', { name: 'Result' });
  await expect(result).toContainText('Revoked1');
  await expect(result).toContainText('Already inactive1');
  await expect(result).toContainText('Unknown1');
  await expect(page.getByLabel('Secrets')).toHaveValue('');
  expect(await introspect(request, secrets.get('ERP 180 days') ?? '')).toBe(false);
  await shot(page, info, 'leaked-tokens');

  // Audit log: newest first, filters, links.
  await nav(page, 'Audit log').click();
  const rows = page.getByRole('table').getByRole('row');
  await expect(rows.nth(1)).toContainText('Leaked tokens reported');
  await page.getByLabel('Action').selectOption({ label: 'Token regenerated' });
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1).getByRole('link', { name: 'Warehouse ERP' })).toBeVisible();
  await page.getByLabel('Action').selectOption({ label: 'All actions' });
  await page.getByLabel('Integration').selectOption({ label: 'Warehouse ERP' });
  await expect(rows.nth(1)).toContainText('Token revoked');
  await expect(rows.nth(1).locator('time')).toHaveAttribute('title', /UTC$/);
  await shot(page, info, 'audit-log');

  await expectNoSecretStored(page, [...secrets.values(), clientSecret]);
  expect(csp).toEqual([]);
});

test('a viewer sees the same screens without any write control', async ({ page }, info) => {
  await page.goto('/console/');
  await signIn(page, 'viewer', VIEWER_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Global Integrations' })).toBeVisible();
  await expect(page.getByRole('banner')).toContainText('viewer');
  await expect(page.getByRole('button', { name: 'Add Custom Integration' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Warehouse ERP' }).click();
  await expect(page.getByRole('heading', { name: 'Access Tokens' })).toBeVisible();
  await expect(page.getByRole('table').getByRole('row').first()).toBeVisible();
  for (const name of ['Save', 'Delete', 'Add Access Token', 'Revoke selected']) {
    await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
  }
  await expect(page.getByRole('checkbox')).toHaveCount(0);
  await expect(page.getByRole('textbox')).toHaveCount(0);
  await shot(page, info, 'viewer-integration');
  await page.getByRole('table').getByRole('link', { name: 'ERP 7 days' }).click();
  await expect(page.getByRole('heading', { name: 'Access token ERP 7 days' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Regenerate' })).toHaveCount(0);
  await nav(page, 'Gateway credentials').click();
  await expect(page.getByRole('table')).toBeVisible();
  await expect(page.getByRole('button', { name: /Add gateway credential|Revoke/ })).toHaveCount(0);
  await nav(page, 'Leaked tokens').click();
  await expect(page.getByLabel('Secrets')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Revoke leaked tokens' })).toHaveCount(0);
});

test('a session that ends returns to sign-in, then to the page you were on', async ({ page }) => {
  await page.goto('/console/');
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await nav(page, 'Audit log').click();
  await page.getByLabel('Action').selectOption({ label: 'Token issued' });
  await expect(page.getByRole('table')).toBeVisible();
  // The session ends behind the console's back (as when it expires).
  const status = await page.evaluate(async () => {
    const token = sessionStorage.getItem('gi.session');
    const response = await fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    return response.status;
  });
  expect(status).toBe(204);
  await page.getByLabel('Action').selectOption({ label: 'Token revoked' });
  await expect(page.getByRole('alert')).toHaveText('Your session has ended');
  await expect(page).toHaveURL(/sign-in\?next=/);
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  await expect(page).toHaveURL(/\/console\/audit\?action=token.revoked$/);
  await expect(page.getByLabel('Action')).toHaveValue('token.revoked');
});

test('the console answers with its security headers, and / redirects to it', async ({ request }) => {
  const redirect = await request.get('/', { maxRedirects: 0 });
  expect(redirect.status()).toBe(307);
  expect(redirect.headers().location).toBe('/console/');
  const deep = await request.get('/console/integrations/00000000-0000-0000-0000-000000000000');
  expect(deep.status()).toBe(200);
  expect(deep.headers()['content-security-policy']).toContain("default-src 'self'");
  expect(deep.headers()['content-security-policy']).not.toContain('unsafe-inline');
  expect(deep.headers()['x-frame-options']).toBe('DENY');
  expect(await deep.text()).toContain('<div id="root">');
});

test('a 503 from the API says so, retries by itself, and offers Retry', async ({ page }) => {
  await page.goto('/console/');
  await signIn(page, 'viewer', VIEWER_PASSWORD);
  await expect(page.getByRole('table')).toBeVisible();
  let refused = 0;
  await page.route('**/api/v1/integrations?**', async (route) => {
    refused += 1;
    await route.fulfill({
      status: 503,
      contentType: 'application/problem+json',
      headers: { 'Retry-After': '1' },
      body: JSON.stringify({ type: 'about:blank', title: 'Service unavailable', status: 503, detail: 'The database is not answering.' }),
    });
  });
  await page.getByLabel('Active').selectOption('No');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('The service is temporarily unavailable; retrying');
  await expect(alert.getByRole('button', { name: 'Retry' })).toBeVisible();
  await expect.poll(() => refused, { timeout: 10_000 }).toBeGreaterThan(1); // it retried by itself
  await page.unroute('**/api/v1/integrations?**');
  await alert.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByText('No integration matches these filters.')).toBeVisible();
});
