// Loads pages in Debian's Chromium (headless, driven by playwright-core) and checks what a
// person would see: the DOM, the console (no errors, no uncaught exceptions, no failed
// requests), and keeps a screenshot.
//
//   node check.js report  FILE.html SHOT.png invalid|valid|unknown
//   node check.js undecided FILE.html SHOT.png  (a check --html page with an unknown key)
//   node check.js index   URL       SHOT.png
//   node check.js load    FILE.html            (bench: prints the load time in ms)
//
// Exit 0 when every check holds; 1 with the failed checks on stderr.
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const failures = [];
function check(what, ok, detail) {
  if (ok) console.log(`ok: ${what}`);
  else { failures.push(what); console.error(`FAIL: ${what}${detail !== undefined ? ` (${detail})` : ''}`); }
}

async function open(url) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: FLAGS, headless: true,
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  const ms = Date.now() - t0;
  return { browser, page, errors, ms };
}

async function report(file, shot, kind) {
  const { browser, page, errors } = await open('file://' + path.resolve(file));
  const verdict = await page.textContent('#verdict');
  check(`verdict shown: ${verdict}`, verdict === kind, verdict);
  const nfaults = await page.locator('tr.fault-row').count();
  const bands = await page.$$eval('#throughput rect.fault', (rs) => rs.map((r) => r.getAttribute('data-fault')));
  check(`one shaded region per fault (${nfaults} faults, ${bands.length} regions)`,
    nfaults > 0 && bands.length === nfaults && new Set(bands).size === nfaults);
  const visible = await page.locator('#throughput rect.fault').first().boundingBox();
  check('the first fault region has a size on screen', visible && visible.width > 1 && visible.height > 10);
  check('latency chart drawn', (await page.locator('#latency path.line.p99').count()) === 1);
  check('node roles drawn', (await page.locator('#nodes g.seg').count()) > 0);
  if (kind === 'invalid') {
    const bad = page.locator('g.op.bad');
    check('exactly one operation that cannot be linearized', (await bad.count()) === 1);
    check('operations concurrent with it highlighted', (await page.locator('g.op.conc').count()) > 0);
    check('the order the search reached is on the bars', (await page.locator('g.op.lin circle.ord').count()) > 0);
    const why = await page.textContent('section.key p.why');
    check(`the checker's sentence: ${why}`, /cannot|no order|but/.test(why || ''));
    await bad.hover();
    const tip = await page.textContent('#tip');
    const box = await page.textContent('section.key pre.oplines');
    const line = await bad.getAttribute('data-line');
    check(`hovering the bad bar shows its history line ${line}`,
      (tip || '').startsWith(`line ${line}: {`) && (box || '').includes(`line ${line}: {`), tip);
    check('the anomaly is listed', (await page.locator('li.anomaly').count()) > 0);
  } else if (kind === 'unknown') {
    check('no invalid key view', (await page.locator('section.key:not(.undecided)').count()) === 0);
    const sec = page.locator('section.key.undecided');
    check('one view of the undecided key', (await sec.count()) === 1);
    check('its stop point drawn in red', (await sec.locator('g.op.bad').count()) === 1);
    check('operations concurrent with it highlighted', (await sec.locator('g.op.conc').count()) > 0);
    const an = await page.textContent('li.anomaly[data-kind=unknown]');
    check(`the anomaly names where the search stopped: ${an}`, /no order the search tried got past the read/.test(an || ''));
  } else {
    check('no key view for a valid run', (await page.locator('section.key').count()) === 0);
  }
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  check(`no console errors${errors.length ? ': ' + errors.join('; ') : ''}`, errors.length === 0);
  await browser.close();
}

// A `splitbrain check --html` page of a history the search could not decide in time: the
// undecided key is drawn like an invalid one, around the operation no order got past.
async function undecided(file, shot) {
  const { browser, page, errors } = await open('file://' + path.resolve(file));
  const verdict = await page.textContent('#verdict');
  check(`verdict shown: ${verdict}`, verdict === 'unknown', verdict);
  const sec = page.locator('section.key.undecided');
  check('one view of the undecided key', (await sec.count()) === 1);
  check('headed as undecided', /^Undecided key/.test((await page.textContent('section.history h2:last-of-type')) || ''));
  const why = await sec.locator('p.why').textContent();
  check(`the checker's sentence: ${why}`, /time limit/.test(why || ''));
  const note = await sec.locator('p.note').textContent();
  check('the note says what red means here', /no order the checker's search tried got past/.test(note || ''));
  const bad = sec.locator('g.op.bad');
  check('exactly one operation drawn as the stop point', (await bad.count()) === 1);
  const nconc = await sec.locator('g.op.conc').count();
  check(`the note counts all 55 operations concurrent with it; the 32 the checker lists are marked (${nconc})`,
    /the first 32 of the 55 operations concurrent with it/.test(note || '') && nconc === 32, note);
  check('no anomaly is claimed', (await page.locator('li.anomaly').count()) === 0);
  await bad.hover();
  const tip = await page.textContent('#tip');
  const line = await bad.getAttribute('data-line');
  check(`hovering it shows its history line ${line} and why it is red`,
    (tip || '').startsWith(`line ${line}: {"process":`) && /no order the search tried got past/.test(tip || ''), tip);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  check(`no console errors${errors.length ? ': ' + errors.join('; ') : ''}`, errors.length === 0);
  await browser.close();
}

async function index(url, shot) {
  const { browser, page, errors } = await open(url);
  const rows = await page.locator('#runs tr.run').count();
  check(`index lists the runs (${rows})`, rows >= 2);
  const verdicts = await page.$$eval('#runs tr.run', (rs) => rs.map((r) => r.dataset.verdict));
  check(`newest first: ${verdicts.join(', ')}`, verdicts[0] === 'valid' && verdicts[1] === 'invalid');
  await page.selectOption('select[name=verdict]', 'invalid');
  await Promise.all([page.waitForNavigation(), page.click('#filter button')]);
  const after = await page.$$eval('#runs tr.run', (rs) => rs.map((r) => r.dataset.verdict));
  check(`filter by verdict leaves the invalid run: ${after.join(', ')}`, after.length === 1 && after[0] === 'invalid');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);
  await Promise.all([page.waitForNavigation(), page.click('a.report')]);
  check('the report opens from the index', (await page.textContent('#verdict')) === 'invalid');
  await page.locator('g.op.bad').hover();
  check('its script runs under the server\'s content security policy',
    ((await page.textContent('#tip')) || '').startsWith('line '));
  check(`no console errors${errors.length ? ': ' + errors.join('; ') : ''}`, errors.length === 0);
  await browser.close();
}

async function load(file) {
  const { browser, page, errors, ms } = await open('file://' + path.resolve(file));
  // first paint of the charts done: ask for a layout of the last chart
  await page.evaluate(() => document.querySelector('svg.chart:last-of-type').getBoundingClientRect());
  const nav = await page.evaluate(() => {
    const e = performance.getEntriesByType('navigation')[0];
    return { load: e.loadEventEnd, dcl: e.domContentLoadedEventEnd };
  });
  console.log(JSON.stringify({ goto_ms: ms, load_event_ms: Math.round(nav.load), dom_ms: Math.round(nav.dcl), errors }));
  await browser.close();
}

(async () => {
  const [mode, a, b, c] = process.argv.slice(2);
  try {
    if (mode === 'report') await report(a, b, c);
    else if (mode === 'index') await index(a, b);
    else if (mode === 'undecided') await undecided(a, b);
    else if (mode === 'load') await load(a);
    else { console.error('usage: node check.js report|undecided|index|load ...'); process.exit(2); }
  } catch (e) {
    failures.push(String(e));
    console.error(`FAIL: ${e.stack || e}`);
  }
  process.exit(failures.length ? 1 : 0);
})();
