// browser.js: the operator dashboard in headless Chromium (playwright-core),
// against a daemon tests/console.py --browser started and fed.  TAP.
// Env: CONSOLE_URL, CONSOLE_TOKEN (operator), CONSOLE_PO, CONSOLE_DEAD (a
// dead job id), SCREENSHOTS (folder), CHROMIUM (default /usr/bin/chromium),
// NODE_PATH (where playwright-core is installed).
'use strict';
const path = require('path');
let n = 0, failed = 0;
function ok(cond, name, diag) {
  n++;
  if (!cond) failed++;
  console.log((cond ? 'ok ' : 'not ok ') + n + ' - ' + name);
  if (!cond && diag !== undefined)
    String(diag).split('\n').slice(0, 20).forEach(l => console.log('# ' + l));
}

(async () => {
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    console.log('1..1');
    console.log('not ok 1 - playwright-core loads (' + e.message + ')');
    process.exit(1);
  }
  const url = process.env.CONSOLE_URL, token = process.env.CONSOLE_TOKEN;
  const po = process.env.CONSOLE_PO, dead = process.env.CONSOLE_DEAD;
  const shots = process.env.SCREENSHOTS || '.';
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  } catch (e) {
    console.log('1..1');
    console.log('not ok 1 - headless Chromium starts');
    console.log('# ' + String(e.message).split('\n').join('\n# '));
    process.exit(1);
  }
  ok(true, 'headless Chromium starts');
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(url + '/');
    ok(page.url().endsWith('/login'), 'without a token the dashboard asks for one', page.url());
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#partners');
    const row = page.locator('#partners tr[data-partner="acme-retail"]');
    ok(await row.count() === 1, 'the partner table lists acme-retail');
    const cells = row.locator('td.ack');
    ok(await cells.count() === 5, 'five acknowledgement kinds per partner');
    const ship = await cells.nth(3).innerText();
    ok(/1 waiting/.test(ship) && await cells.nth(3).locator('.light.amber').count() === 1,
       'ship notice: amber, 1 waiting', ship);
    const po855 = await cells.nth(2).innerText();
    ok(/1 waiting/.test(po855) && await cells.nth(2).locator('.light.amber').count() === 1,
       'PO ack: amber, 1 waiting (PO-4001 awaits its 855; PO-2001 got one)', po855);
    const rej = await page.locator('#rejections').innerText();
    ok(/bad3001\.edi/.test(rej) && /in segment SE/.test(rej),
       'recent rejections with their diagnostics in words', rej);
    await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

    // search a PO number: the whole chain
    await page.fill('#po', po);
    await page.click('header button[type=submit]');
    await page.waitForSelector('#chain');
    const chain = await page.locator('#chain').innerText();
    ok(/850 received/.test(chain) && /997 sent/.test(chain) &&
       /order\.created/.test(chain) && /ERP import/.test(chain) &&
       /855 received/.test(chain), 'the PO chain: 850, 997, event, ERP ack, 855', chain);
    await page.screenshot({ path: path.join(shots, 'chain.png'), fullPage: true });

    // open a document from the chain
    await page.locator('#chain a').first().click();
    await page.waitForSelector('#document');
    const doc = await page.locator('#document').innerText();
    ok(/po2001\.edi/.test(doc) && /translated/.test(doc), 'a document opens from the chain', doc);
    ok(await page.locator('#events').innerText().then(t => /order\.created/.test(t)),
       'the document page lists its events');
    ok(await page.locator('#sent').innerText().then(t => /997/.test(t)),
       'and the 997 sent for it');
    await page.screenshot({ path: path.join(shots, 'document.png'), fullPage: true });

    // retry the dead letter
    await page.goto(url + '/');
    const dl = page.locator('#dlq tr[data-job="' + dead + '"]');
    ok(await dl.count() === 1, 'the dead letter is listed', await page.locator('#dlq').innerText());
    ok(/400/.test(await dl.innerText()), 'with why it failed');
    await page.screenshot({ path: path.join(shots, 'dead-letter.png'), fullPage: true });
    await dl.locator('button.retry').click();
    await page.waitForSelector('#flash');
    const flash = await page.locator('#flash').innerText();
    ok(/replayed job/.test(flash) && /dead -> pending/.test(flash), 'retry: the page says what it did', flash);
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      await page.goto(url + '/');
      gone = await page.locator('#dlq tr[data-job="' + dead + '"]').count() === 0;
      if (!gone) await new Promise(r => setTimeout(r, 250));
    }
    ok(gone, 'the dead letter leaves the list once delivered');
    ok(/No dead letters/.test(await page.locator('#dlq').innerText()), 'the list says so');
    await page.screenshot({ path: path.join(shots, 'after-retry.png'), fullPage: true });
  } catch (e) {
    ok(false, 'the browser session runs to the end', e.stack);
  }
  await browser.close();
  console.log('1..' + n);
  process.exit(failed ? 1 : 0);
})();
