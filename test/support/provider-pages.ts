import type { Page } from 'playwright-core';

/** Signs in and consents on oidc-provider's Demo Cloud pages, as a person would. */
export async function signInAndConsent(page: Page, user = 'ada'): Promise<void> {
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Allow', exact: true }).click();
}

export async function cancelAtProvider(page: Page): Promise<void> {
  await page.locator('input[name="login"]').waitFor();
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
}
