// A reviewer's, a viewer's and an admin's day on flowgate's pages, in headless Chromium
// against a running `flowgate serve` (started by the Rust test, which also sends the tickets
// and checks the audit chain afterwards). Every request must stay on the server's origin;
// pages must render without script errors at 1400×900 and at 390 px without the page itself
// scrolling sideways. Screenshots of each page go to SHOTS.
// Env: BASE (http://127.0.0.1:PORT), REVIEWER, VIEWER, ADMIN (tokens), SHOTS (a folder),
// KILL_INTENT (the intent the admin switches off), REVIEWS (how many to review).
// Prints one JSON line of findings; exits 1 with the problems when any check fails.
import { chromium } from 'playwright-core';

const { BASE, REVIEWER, VIEWER, ADMIN, SHOTS, KILL_INTENT } = process.env;
const REVIEWS = Number(process.env.REVIEWS || 5);
const origin = new URL(BASE).origin;
const problems = [];
const found = {};
const check = (ok, what) => { if (!ok) problems.push(what); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function person(token, who) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${who}: console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) problems.push(`${who}: request left the server: ${r.url()}`);
  });
  await page.goto(`${BASE}/ui/`);
  check(page.url().endsWith('/ui/login'), `${who}: not sent to sign in first (${page.url()})`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(`${BASE}/ui/`), page.click('button[type=submit]')]);
  const cookies = await ctx.cookies();
  const session = cookies.find((c) => c.name === 'fg_session');
  check(session && session.httpOnly && session.sameSite === 'Strict',
    `${who}: the session cookie is not HttpOnly and SameSite=Strict: ${JSON.stringify(session)}`);
  return { ctx, page };
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  // The phone width: the page itself never scrolls sideways (tables scroll in their box).
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 392, `${name}: at 390 px the page is ${wide} px wide`);
  await page.screenshot({ path: `${SHOTS}/${name}-390.png`, fullPage: true });
  await page.setViewportSize({ width: 1400, height: 900 });
}

try {
  // The reviewer: the overview, the decisions, one decision, then reviews by keyboard.
  const { ctx: rctx, page: r } = await person(REVIEWER, 'reviewer');
  const headers = (await r.request.get(`${BASE}/ui/`)).headers();
  check((headers['content-security-policy'] || '').includes("script-src 'self'")
    && !(headers['content-security-policy'] || '').includes('unsafe-inline'),
    `CSP: ${headers['content-security-policy']}`);
  check((headers['content-security-policy'] || '').includes("frame-ancestors 'none'"), 'CSP frame-ancestors');
  found.cards = await r.$$eval('.card', (cs) => cs.map((c) => c.id));
  await shot(r, 'overview');
  await r.goto(`${BASE}/ui/decisions`);
  found.decisions = await r.$$eval('#decisions tbody tr', (rows) => rows.length);
  await shot(r, 'decisions');
  await r.click('#decisions tbody tr a');
  found.chain = (await r.textContent('#chain')).trim();
  check(found.chain.startsWith('verified intact'), `chain on the decision page: ${found.chain}`);
  await shot(r, 'decision');
  await r.goto(`${BASE}/ui/reviews`);
  found.queue_before = await r.$$eval('#queue tbody tr', (rows) => rows.length);
  await shot(r, 'reviews');
  await Promise.all([r.waitForURL(/\/ui\/reviews\/\d+$/), r.click('#claim')]);
  await shot(r, 'review');
  found.reviewed = [];
  for (let i = 0; i < REVIEWS; i++) {
    const seq = Number(r.url().split('/').pop());
    found.reviewed.push(seq);
    const next = (u) => u.toString() !== `${BASE}/ui/reviews/${seq}`;
    if (i < REVIEWS - 1) {
      // `c`: correct, submitted; the next one opens.
      await Promise.all([r.waitForURL(next), r.keyboard.press('c')]);
    } else {
      // `d`: a defect; the failure mode gets the focus, then the form is sent.
      await r.keyboard.press('d');
      const focused = await r.evaluate(() => document.activeElement && document.activeElement.name);
      check(focused === 'category', `after d the focus is on ${focused}`);
      await r.selectOption('select[name=category]', 'wrong-answer');
      await r.fill('textarea[name=note]', 'answered the wrong order');
      await Promise.all([r.waitForURL(next), r.click('#verdict button[type=submit]')]);
    }
  }
  await r.goto(`${BASE}/ui/reviews`);
  found.queue_after = await r.$$eval('#queue tbody tr', (rows) => rows.length);
  // The week's defect review and the governance evidence, each exportable.
  await r.goto(`${BASE}/ui/defects`);
  found.defect_tables = await r.$$eval('table', (ts) => ts.map((t) => t.id));
  await shot(r, 'defects');
  const md = await r.request.get(`${BASE}/ui/defects.md`);
  found.defects_md = [md.headers()['content-type'], (await md.text()).startsWith('#')];
  await r.goto(`${BASE}/ui/governance`);
  found.governance_controls = await r.$$eval('#controls tbody tr', (rows) => rows.length);
  await shot(r, 'governance');
  const gmd = await r.request.get(`${BASE}/ui/governance.md`);
  found.governance_md = [gmd.headers()['content-type'], (await gmd.text()).startsWith('#')];
  const gjson = await (await r.request.get(`${BASE}/ui/governance.json`)).json();
  found.governance_json_controls = gjson.controls.length;
  await rctx.close();

  // The viewer: sees the queue, cannot review, and the form's endpoint refuses.
  const { ctx: vctx, page: v } = await person(VIEWER, 'viewer');
  await v.goto(`${BASE}/ui/reviews`);
  found.viewer_claim_buttons = await v.$$eval('#claim', (b) => b.length);
  const csrf = await v.getAttribute('form.signout input[name=csrf]', 'value');
  const refused = await v.request.post(`${BASE}/ui/reviews/claim`, { form: { csrf } });
  found.viewer_claim_status = refused.status();
  await v.goto(`${BASE}/ui/controls`);
  found.viewer_switch_buttons = await v.$$eval('button[data-scope]', (b) => b.length);
  await vctx.close();

  // The admin: switches one intent off on Controls.
  const { ctx: actx, page: a } = await person(ADMIN, 'admin');
  await a.goto(`${BASE}/ui/controls`);
  await Promise.all([a.waitForURL(`${BASE}/ui/controls`), a.click(`button[data-scope="${KILL_INTENT}"]`)]);
  found.switched = (await a.textContent(`tr[data-intent="${KILL_INTENT}"] td:nth-child(5)`)).trim();
  found.switches = await a.$$eval('#switches tbody tr', (rows) => rows.map((t) => t.textContent));
  await shot(a, 'controls');
  // A forged form (no CSRF secret) changes nothing.
  const forged = await a.request.post(`${BASE}/ui/controls/kill-switch`,
    { form: { csrf: 'x', scope: '*', engaged: 'true' } });
  found.forged_status = forged.status();
  await actx.close();
} catch (e) {
  problems.push(`script: ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify(found));
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
