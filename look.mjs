import { chromium } from 'playwright-core';
const [user, pass, ...paths] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('console:', m.text()); });
await page.goto('http://127.0.0.1:18080/sign-in');
await page.fill('#username', user);
await page.fill('#password', pass);
await page.click('button[type=submit]');
await page.waitForTimeout(1500);
for (const p of paths) {
  if (p.startsWith('click:')) { await page.click(p.slice(6)); await page.waitForTimeout(1500); }
  else { await page.goto('http://127.0.0.1:18080' + p); await page.waitForTimeout(2500); }
  const name = `/tmp/look-${user}-${p.replace(/[^a-z0-9]+/gi, '_')}.png`;
  await page.screenshot({ path: name, fullPage: true });
  console.log(name, page.url());
}
await browser.close();
