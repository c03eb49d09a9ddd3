// The web console, driven in Debian's chromium through playwright-core,
// against a real daap-server and kubesim (run.sh starts them):
//   node journey.mjs BASE_URL SCREENSHOT_DIR
// A new user's journey: create with field errors, fix them, watch it turn
// ready without a reload, copy the URI and connect with psql using what was
// copied, edit the purpose, see another team's view with the actions
// disabled, refuse a delete with the wrong name, delete, find it under the
// Deleted filter. axe-core checks every page; screenshots of every page in
// light and dark, desktop and 360 px, go to SCREENSHOT_DIR.
// Optional server features (events, deletion protection, rotation, resize,
// wait) are checked in whichever state the server is in: working where it
// has them, hidden with a note where it does not.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [base, shotDir] = process.argv.slice(2);
if (!base || !shotDir) {
  console.error('usage: node journey.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const READY_MS = 120000; // generous: kubesim on a busy 2-core machine
const TEAM = 'payments';

let passed = 0;
let failed = 0;
const problems = []; // page errors and CSP violations, checked at the end

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok: ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL: ${name}: ${err.stack || err}`);
    throw err;
  }
}

// ---- the HTTP API, straight (the test's own view, not the page's)

async function http(method, path, { body, headers = {} } = {}) {
  const h = { ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const resp = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: resp.status, headers: resp.headers, data };
}

async function findByName(name, extra = '') {
  const r = await http('GET', `/databases?limit=100&name=${name.slice(0, 45)}${extra}`);
  check(r.status === 200, `list answered ${r.status}`);
  return r.data.items.filter((d) => d.name === name);
}

async function waitFor(fn, what, ms = READY_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function psql(uri, sql) {
  return execFileSync('psql', [uri, '-XAtc', sql], { encoding: 'utf8', timeout: 30000 }).trim();
}

// ---- the browser

// playwright gives the browser a fresh --user-data-dir of its own (a temp
// profile it deletes on close) and refuses one in args.
const browser = await chromium.launch({
  executablePath: process.env.DAAP_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function newPage({ colorScheme = 'light', width = 1280, height = 860 } = {}) {
  const ctx = await browser.newContext({ colorScheme, viewport: { width, height } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  // Record CSP violations and every status the detail page's badge shows.
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    window.__statuses = [];
    new MutationObserver(() => {
      const b = document.querySelector('main[data-page="db"] h1 .badge');
      const s = b && b.dataset.status;
      if (s && window.__statuses[window.__statuses.length - 1] !== s) window.__statuses.push(s);
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`); });
  return page;
}

/** axe-core on the page as it is now: no serious or critical violation. */
async function axe(page, label) {
  await page.evaluate(axeSource); // evaluate is not subject to the page's CSP; a <script> tag would be
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe (${label}): ${bad.map((v) => `${v.id} [${v.impact}] ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`).join('; ')}`);
}

async function noHorizontalScroll(page, label) {
  const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  check(sw <= cw + 1, `${label}: the page scrolls sideways (${sw} > ${cw})`);
}

async function setTeam(page, team) {
  await page.fill('#team-input', team);
  await page.click('#team-form button[type=submit]');
  await waitFor(async () => (await page.evaluate(() => localStorage.getItem('daap.team'))) === team, 'the team to be stored', 5000);
}

// A dialog is shot as the viewport shows it (its backdrop covers only that).
async function shot(page, name) {
  await page.evaluate(() => { const t = document.getElementById('toast'); if (t) t.textContent = ''; });
  const dialog = await page.$('dialog[open]');
  await page.screenshot({ path: join(shotDir, `${name}.png`), fullPage: !dialog });
}

// The state directory is new for each run (run.sh), so fixed names are free.
const dbName = 'orders';
let page;
let record;

async function run() {
  mkdirSync(shotDir, { recursive: true });

  await step('the server serves /ui/ with CSP, nosniff, cache headers; /ui redirects; unknown files are problem+json 404', async () => {
    const index = await http('GET', '/ui/');
    check(index.status === 200, `GET /ui/ ${index.status}`);
    check(index.headers.get('content-type').startsWith('text/html'), 'index content type');
    check(index.headers.get('content-security-policy') === "default-src 'self'", 'CSP header');
    check(index.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
    check(index.headers.get('cache-control') === 'no-cache', 'cache-control');
    const etag = index.headers.get('etag');
    check(/^"[0-9a-f]{16}"$/.test(etag || ''), `etag ${etag}`);
    const again = await http('GET', '/ui/', { headers: { 'If-None-Match': etag } });
    check(again.status === 304, `revalidation answered ${again.status}`);
    const js = await fetch(`${base}/ui/app.js`, { method: 'HEAD' });
    check(js.status === 200 && js.headers.get('content-type').startsWith('text/javascript'), 'HEAD app.js');
    check((await js.text()) === '', 'HEAD has no body');
    const redirect = await http('GET', '/ui');
    check(redirect.status === 308 && redirect.headers.get('location') === '/ui/', `/ui answered ${redirect.status}`);
    const missing = await http('GET', '/ui/nope.js');
    check(missing.status === 404 && missing.headers.get('content-type') === 'application/problem+json', 'unknown asset');
    check(missing.data.status === 404 && missing.data.detail, 'problem body');
  });

  page = await newPage();

  await step('a first visit shows the designed empty list, and no team is chosen yet', async () => {
    await page.goto(`${base}/ui/`);
    await page.waitForSelector('main [data-state="empty"], main table.db-table');
    check((await http('GET', '/databases')).data.items.length === 0, 'a new state directory has no database');
    check(await page.isVisible('[data-state="empty"] >> text=Create the first database'), 'empty state with a create button');
    check((await page.inputValue('#team-input')) === '', 'no team yet');
    await axe(page, 'list');
    await shot(page, 'list-empty-light-desktop');
  });

  await step('the team is chosen once and kept in localStorage', async () => {
    await setTeam(page, TEAM);
    await page.reload();
    check((await page.inputValue('#team-input')) === TEAM, 'team kept across a reload');
  });

  await step('create: name rules as you type, the 45 limit explained', async () => {
    await page.click('nav >> text=New database');
    await page.waitForSelector('form.create-form');
    check((await page.inputValue('input[name=owner_team]')) === TEAM, 'owner team defaults to mine');
    await page.fill('input[name=name]', 'Orders_1');
    const bad = await page.locator('#name-rules li.bad').allTextContents();
    check(bad.some((t) => t.includes('lowercase')) && bad.some((t) => t.includes('starts with a letter')), `rules: ${bad}`);
    check(await page.isVisible('text=Why 45?'), 'the limit is explained');
    await page.fill('input[name=name]', dbName);
    check((await page.locator('#name-rules li.bad').count()) === 0, 'a good name passes every rule');
    check((await page.textContent('.preview')).includes(`daap-${dbName}-pooler`), 'the preview names the pooler');
  });

  await step('create: every field error of the problem+json appears next to its field', async () => {
    await page.fill('input[name=name]', `a${'b'.repeat(45)}`); // 46 characters: the server refuses
    await page.fill('textarea[name=purpose]', 'orders placed through the web console');
    await page.fill('input[name=storage_size]', 'lots');
    await page.click('button:has-text("Create database")');
    await page.waitForSelector('.field[data-field="name"] .field-error:not([hidden])');
    const nameErr = await page.textContent('.field[data-field="name"] .field-error');
    const sizeErr = await page.textContent('.field[data-field="storage_size"] .field-error');
    check(/45|long|characters/.test(nameErr), `name error: ${nameErr}`);
    check(sizeErr.length > 0, 'storage error shown');
    check((await page.getAttribute('input[name=storage_size]', 'aria-invalid')) === 'true', 'aria-invalid');
    check(await page.isVisible('.error-summary'), 'an error summary on top');
    check((await findByName(`a${'b'.repeat(45)}`)).length === 0, 'nothing was created');
    await axe(page, 'create with errors');
    await shot(page, 'create-errors-light-desktop');
  });

  const posts = [];
  await step('create: fixed, a double click makes one database, with one Idempotency-Key', async () => {
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/databases') posts.push(req.headers()['idempotency-key']);
    });
    await page.fill('input[name=name]', dbName);
    await page.fill('input[name=storage_size]', '1Gi');
    await page.evaluate(() => { window.__noReload = true; });
    await page.dblclick('button:has-text("Create database")');
    await page.waitForURL(/#\/db\//);
    check(posts.length >= 1 && posts.every((k) => k && k === posts[0]), `POSTs and keys: ${JSON.stringify(posts)}`);
    await waitFor(async () => (await findByName(dbName)).length === 1, 'the database in the list', 10000);
    check((await findByName(dbName)).length === 1, 'exactly one database');
  });

  await step('detail: it turns ready live, the badge changes without a reload', async () => {
    await page.waitForSelector('main[data-page="db"] h1 .badge[data-status="ready"]', { timeout: READY_MS });
    const statuses = await page.evaluate(() => window.__statuses);
    check(statuses[0] === 'provisioning' && statuses[statuses.length - 1] === 'ready', `badge went ${statuses}`);
    check(await page.evaluate(() => window.__noReload === true), 'the page was not reloaded');
    [record] = await findByName(dbName);
    record = (await http('GET', `/databases/${record.id}`)).data;
    check(record.status === 'ready' && record.connection, 'ready with a connection');
  });

  await step('detail: the connection panel hides the password until revealed', async () => {
    await page.waitForSelector('.connection [data-copy="pooled URI"]');
    const text = await page.textContent('main');
    check(!text.includes(record.connection.password), 'the password is on screen before reveal');
    check(text.includes(record.connection.host) && text.includes(record.connection.dbname), 'host and dbname shown');
    await page.click('button:has-text("Reveal password")');
    check((await page.textContent('main')).includes(record.connection.password), 'revealed');
    await page.click('button:has-text("Hide password")');
    check(!(await page.textContent('main')).includes(record.connection.password), 'hidden again');
    check(!page.url().includes(record.connection.password), 'never in the URL');
    await axe(page, 'detail');
  });

  await step('copy the URI and the psql command, and connect with psql using what was copied', async () => {
    await page.click('[data-copy="pooled URI"]');
    const uri = await page.evaluate(() => navigator.clipboard.readText());
    check(uri.startsWith('postgresql://'), `copied: ${uri.slice(0, 20)}…`);
    check(psql(uri, 'select current_database()') === dbName.replace(/-/g, '_'), 'psql with the copied URI');
    await page.click('[data-copy="psql command"]');
    const cmd = await page.evaluate(() => navigator.clipboard.readText());
    check(cmd.startsWith('psql '), `copied command: ${cmd.slice(0, 8)}`);
    const out = execFileSync('bash', ['-c', `${cmd} -XAtc 'select 42'`], { encoding: 'utf8', timeout: 30000 }).trim();
    check(out === '42', `the copied psql command answered ${out}`);
  });

  await step('edit the purpose', async () => {
    const purpose = 'orders and refunds, edited in the console';
    await page.fill('.edit-form textarea[name=purpose]', purpose);
    await page.click('.edit-form button:has-text("Save changes")');
    await page.waitForSelector(`.details dd[data-key="purpose"]:has-text("${purpose}")`);
    check((await http('GET', `/databases/${record.id}`)).data.purpose === purpose, 'the API has the new purpose');
  });

  await step('optional features: working where the server has them, hidden with a note where not', async () => {
    const events = await http('GET', `/databases/${record.id}/events`);
    await page.waitForSelector('section.events[data-state]');
    const eventsState = await page.getAttribute('section.events', 'data-state');
    if (events.status === 200) {
      check(eventsState === 'ready', `events endpoint exists, timeline is ${eventsState}`);
      await page.waitForSelector('.timeline .event');
    } else {
      check(eventsState === 'unsupported', `no events endpoint (${events.status}), timeline is ${eventsState}`);
    }
    const live = (await http('GET', `/databases/${record.id}`)).data;
    const protection = await page.getAttribute('[data-feature="deletion-protection"]', 'data-state');
    if (typeof live.deletion_protection === 'boolean') {
      check(protection === 'ready', 'deletion protection toggle shown');
      await page.check('[data-feature="deletion-protection"] input');
      await waitFor(async () => (await http('GET', `/databases/${record.id}`)).data.deletion_protection === true, 'protection on', 10000);
      await page.waitForSelector('#delete-button[disabled]');
      check((await page.textContent('#delete-reason')).includes('protection'), 'delete disabled, saying why');
      // Turning it off asks first; Cancel keeps it on.
      await page.click('[data-feature="deletion-protection"] input');
      await page.click('dialog[open] button:has-text("Cancel")');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      check(await page.isChecked('[data-feature="deletion-protection"] input'), 'cancel keeps protection on');
      check((await http('GET', `/databases/${record.id}`)).data.deletion_protection === true, 'the API still has protection on');
      await page.click('[data-feature="deletion-protection"] input');
      await page.click('dialog[open] button:has-text("Turn off protection")');
      await waitFor(async () => (await http('GET', `/databases/${record.id}`)).data.deletion_protection === false, 'protection off', 10000);
      await page.waitForSelector('#delete-button:not([disabled])');
    } else {
      check(protection === 'unsupported', `no deletion_protection field, control is ${protection}`);
    }
    const doc = (await http('GET', '/openapi.json')).data;
    const rotate = await page.getAttribute('[data-feature="rotate"]', 'data-state');
    check(rotate === (doc.paths['/databases/{id}/rotate-password'] ? 'ready' : 'unsupported'), `rotate is ${rotate}`);
    const updatable = Object.keys(doc.components.schemas.UpdateDatabase.properties);
    const resize = await page.getAttribute('[data-feature="resize"]', 'data-state');
    const canResize = updatable.includes('instances') || updatable.includes('storage_size');
    check(resize === (canResize ? 'ready' : 'unsupported'), `resize is ${resize}`);
    if (rotate === 'ready') {
      const before = live.connection.password;
      await page.click('[data-feature="rotate"] button');
      await page.click('dialog button:has-text("Rotate password")');
      await waitFor(async () => (await http('GET', `/databases/${record.id}`)).data.connection?.password !== before, 'a new password');
      // The page shows the rotation's end, and the button is back.
      await page.waitForSelector('[data-feature="rotate"] [data-rotation="rotated"]', { timeout: 15000 });
      check((await page.textContent('[data-feature="rotate"] [data-rotation]')).startsWith('Rotated'), 'the page says it is rotated');
      await page.waitForSelector('[data-feature="rotate"] button:not([disabled])');
      const events = (await http('GET', `/databases/${record.id}/events`)).data.items.map((e) => e.reason);
      check(events.includes('PasswordRotated'), 'a PasswordRotated event');
      const now = (await http('GET', `/databases/${record.id}`)).data;
      await page.click('[data-copy="pooled URI"]');
      await waitFor(async () => (await page.evaluate(() => navigator.clipboard.readText())) === now.connection.uri, 'the page to copy the new URI', 10000);
      check(psql(now.connection.uri, 'select 1') === '1', 'the new password connects');
    }
  });

  await step("another team's view: actions disabled, with the reason shown", async () => {
    await setTeam(page, 'other-team');
    await page.waitForSelector('#delete-button[disabled]');
    check((await page.textContent('#delete-reason')).includes(`Only team ${TEAM}`), 'the delete reason names the owner');
    check(await page.isVisible('#settings-reason'), 'settings say why');
    check(await page.isDisabled('.edit-form textarea[name=purpose]'), 'purpose is read-only');
    check(await page.isDisabled('.edit-form button[type=submit]'), 'save is disabled');
    await axe(page, "another team's detail");
    await shot(page, 'detail-other-team-light-desktop');
    await setTeam(page, TEAM);
    await page.waitForSelector('#delete-button:not([disabled])');
  });

  await step('delete: the dialog says what goes, and refuses a wrong name', async () => {
    await page.click('#delete-button');
    await page.waitForSelector('dialog[open] form.delete-form');
    const text = await page.textContent('dialog[open]');
    check(text.includes(record.cluster_name) && text.includes(record.pooler_name), 'names the objects that go');
    const del = page.locator(`dialog[open] button:has-text("Delete ${dbName}")`);
    await page.fill('dialog[open] input', dbName.slice(0, -1));
    check(await del.isDisabled(), 'disabled with a wrong name');
    await page.press('dialog[open] input', 'Enter');
    await page.waitForSelector('dialog[open] .field-error:has-text("does not match")');
    const still = (await http('GET', `/databases/${record.id}`)).data;
    check(still.status === 'ready', `still ${still.status} after a refused delete`);
    await axe(page, 'delete dialog');
    await shot(page, 'delete-dialog-light-desktop');
  });

  await step('keyboard: the dialog takes focus, Escape closes it and focus returns to Delete', async () => {
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    check(await page.evaluate(() => document.activeElement?.id === 'delete-button'), 'focus back on Delete');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open] form.delete-form');
    check(await page.evaluate(() => document.activeElement === document.querySelector('dialog[open] input')), 'focus in the name box');
  });

  await step('delete: with the name typed it goes, and the page follows it to deleted', async () => {
    await page.fill('dialog[open] input', dbName);
    await page.click(`dialog[open] button:has-text("Delete ${dbName}")`);
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    await page.waitForSelector('main[data-page="db"] h1 .badge[data-status="deleted"]', { timeout: READY_MS });
    check((await http('GET', `/databases/${record.id}`)).status === 404, 'GET answers 404');
    check(await page.isDisabled('#delete-button'), 'a deleted database is read-only');
    check((await page.textContent('#delete-reason')).includes('deleted'), 'saying why');
  });

  await step('deleted databases are listed under the Deleted filter, read-only', async () => {
    await page.goto(`${base}/ui/#/`);
    await page.selectOption('#f-status', 'deleted');
    await page.fill('#f-name', dbName);
    await page.waitForSelector(`tr:has-text("${dbName}") .badge[data-status="deleted"]`);
    check(page.url().includes('status=deleted'), 'the filter is in the URL');
    await page.click(`tr:has-text("${dbName}") a`);
    await page.waitForSelector('main[data-page="db"] h1 .badge[data-status="deleted"]');
    check(await page.isDisabled('#delete-button'), 'read-only');
  });

  await step('the list updates live: a database created elsewhere turns ready without a reload', async () => {
    const name = 'invoices';
    await page.goto(`${base}/ui/#/?name=${name}`);
    await page.waitForSelector('[data-state="empty"]');
    await page.evaluate(() => { window.__noReload = true; });
    const created = await http('POST', '/databases', { body: { name, owner_team: TEAM, purpose: 'the list follows it' } });
    check(created.status === 201, `create ${created.status}`);
    await page.waitForSelector(`tr:has-text("${name}") .badge[data-status="ready"]`, { timeout: READY_MS });
    check(await page.evaluate(() => window.__noReload === true), 'no reload');
    const title = await page.getAttribute(`tr:has-text("${name}") .badge`, 'title');
    check(title === (await findByName(name))[0].status_reason, 'status_reason is the tooltip');
  });

  await step('record text is shown as text: markup in a purpose does not run', async () => {
    const purpose = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    const r = await http('POST', '/databases', { body: { name: 'markup', owner_team: 'qa', purpose } });
    check(r.status === 201, `create ${r.status}`);
    await page.goto(`${base}/ui/#/?name=markup`);
    await page.waitForSelector('tr:has-text("markup")');
    check((await page.textContent('tr:has-text("markup") .purpose')) === purpose, 'the purpose verbatim');
    check((await page.locator('main img, main b').count()) === 0, 'no element made from the purpose');
    await page.goto(`${base}/ui/#/db/${r.data.id}`);
    await page.waitForSelector('.details dd[data-key="purpose"]');
    check((await page.textContent('.details dd[data-key="purpose"]')) === purpose, 'detail shows it verbatim');
    check(await page.evaluate(() => window.__xss === undefined), 'no script ran');
  });

  await step('a store or Kubernetes outage shows as a banner from /readyz', async () => {
    await page.route('**/readyz', (route) => route.fulfill({
      status: 503, contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'urn:daap:error:unavailable', title: 'backend unavailable; retry later', status: 503, detail: 'kubernetes: connection refused' }),
    }));
    await page.reload();
    await page.waitForSelector('#banner:not([hidden]) >> text=cannot reach its metadata store or Kubernetes');
    check((await page.textContent('#banner')).includes('connection refused'), 'the reason is shown');
    await axe(page, 'list with banner');
    await page.unroute('**/readyz');
  });

  await step('a failing list call shows the designed error state, and Try again recovers', async () => {
    let fail = true;
    await page.route(/\/databases\?/, (route) => (fail
      ? route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:daap:error:unavailable', title: 'backend unavailable; retry later', status: 503, detail: 'store: database is locked' }) })
      : route.continue()));
    await page.goto(`${base}/ui/#/`);
    await page.waitForSelector('[data-state="error"] >> text=store: database is locked');
    fail = false;
    await page.click('[data-state="error"] button:has-text("Try again")');
    await page.waitForSelector('table.db-table');
    await page.unroute(/\/databases\?/);
  });

  await step('every page, light and dark, desktop and 360 px: screenshots, axe, no sideways scroll', async () => {
    for (const [name, team, purpose] of [['inventory', 'warehouse', 'stock levels per warehouse'], ['analytics', 'data', 'daily aggregates for dashboards']]) {
      check((await http('POST', '/databases', { body: { name, owner_team: team, purpose } })).status === 201, `create ${name}`);
    }
    const [ready] = await findByName('invoices');
    for (const colorScheme of ['light', 'dark']) {
      for (const [size, width] of [['desktop', 1280], ['360', 360]]) {
        const p = await newPage({ colorScheme, width, height: width === 360 ? 740 : 860 });
        const tag = `${colorScheme}-${size}`;
        await p.goto(`${base}/ui/`);
        await setTeam(p, TEAM);
        await p.waitForSelector('table.db-table');
        await axe(p, `list ${tag}`); await noHorizontalScroll(p, `list ${tag}`); await shot(p, `list-${tag}`);
        await p.goto(`${base}/ui/#/new`);
        await p.waitForSelector('form.create-form');
        await p.fill('input[name=name]', 'reports-2026');
        await p.fill('textarea[name=purpose]', 'monthly reports');
        await axe(p, `create ${tag}`); await noHorizontalScroll(p, `create ${tag}`); await shot(p, `create-${tag}`);
        await p.goto(`${base}/ui/#/db/${ready.id}`);
        await p.waitForSelector('.connection [data-copy="pooled URI"]');
        await p.waitForSelector('section.events[data-state]');
        await axe(p, `detail ${tag}`); await noHorizontalScroll(p, `detail ${tag}`); await shot(p, `detail-${tag}`);
        await p.click('#delete-button');
        await p.waitForSelector('dialog[open]');
        await axe(p, `delete ${tag}`); await shot(p, `delete-${tag}`);
        await p.context().close();
      }
    }
  });

  await step('keyset paging follows next_cursor', async () => {
    for (let i = 0; i < 21; i++) {
      const r = await http('POST', '/databases', { body: { name: `page-${String(i).padStart(2, '0')}`, owner_team: 'paging', purpose: 'paging test' } });
      check(r.status === 201, `create ${i}: ${r.status}`);
    }
    await page.goto(`${base}/ui/#/?team=paging`);
    await page.waitForSelector('table.db-table');
    check((await page.locator('tbody tr').count()) === 20, 'a first page of 20');
    await page.click('button:has-text("Next")');
    await waitFor(async () => (await page.locator('tbody tr').count()) === 1, 'page two with the 21st', 10000);
    check(await page.isDisabled('button:has-text("Next")'), 'no page after the last');
    await page.click('button:has-text("Previous")');
    await waitFor(async () => (await page.locator('tbody tr').count()) === 20, 'back on page one', 10000);
  });

  await step('no page error and no CSP violation anywhere', async () => {
    const csp = await page.evaluate(() => window.__csp);
    check(problems.length === 0 && csp.length === 0, [...problems, ...csp].join('; '));
  });
}

try {
  await run();
} catch {
  // step() has printed the failure
} finally {
  await browser.close().catch(() => {});
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
