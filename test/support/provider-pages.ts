import type { Page } from 'playwright-core';

/** Signs in and consents on oidc-provider's development pages, as a person would. */
export async function signInAndConsent(page: Page, user = 'ada'): Promise<void> {
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

export async function cancelAtProvider(page: Page): Promise<void> {
  await page.locator('input[name="login"]').waitFor();
  await page.getByRole('link', { name: '[ Cancel ]' }).click();
}
