import type { Page } from 'playwright-core';

/** Images without alt text and controls without a name (a label, aria-label or text): [] when all are named. */
export async function unnamed(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    document.querySelectorAll('img').forEach((i) => {
      if (!i.getAttribute('alt')) out.push(`img ${i.src}`);
    });
    document.querySelectorAll('input, select, button').forEach((c) => {
      const labelled = c.closest('label') || c.getAttribute('aria-label') || (c.textContent ?? '').trim();
      if (!labelled && (c as HTMLInputElement).type !== 'hidden') out.push(`${c.tagName} ${c.outerHTML.slice(0, 80)}`);
    });
    return out;
  });
}

/**
 * Waits until every image the selector finds has loaded with a nonzero size (lazy ones scrolled
 * into view first, the page scrolled back after); how many there are.
 */
export async function imagesLoaded(page: Page, selector: string): Promise<number> {
  for (const img of await page.locator(selector).all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(
    (sel) => [...document.querySelectorAll<HTMLImageElement>(sel)].every((i) => i.complete && i.naturalWidth > 0),
    selector,
  );
  await page.evaluate(() => window.scrollTo(0, 0));
  return page.locator(selector).count();
}
