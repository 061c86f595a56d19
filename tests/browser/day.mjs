// A reviewer's, a viewer's and an admin's day on flowgate's pages, in headless Chromium
// against a running `flowgate serve` (started by the Rust test, which also sends the tickets
// and checks the audit chain afterwards). Every request must stay on the server's origin;
// pages must render without script errors at 1400×900 and at 390 px without the page itself
// scrolling sideways. Screenshots of each page go to SHOTS.
// Env: BASE (http://127.0.0.1:PORT), REVIEWER, VIEWER, ADMIN, INGEST (tokens), SHOTS (a
// folder), KILL_INTENT (the intent the admin switches off), REVIEWS (how many to review at
// least), DEFECT_INTENT (reviews of this intent are marked defects, two of them; the rest
// correct), SOURCE (the history's source: the reviewed tickets' resolutions are posted there),
// WEEK (the current ISO week), PILOT_DAY (a day inside the configured pilot).
// Prints one JSON line of findings; exits 1 with the problems when any check fails.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const { BASE, REVIEWER, VIEWER, ADMIN, INGEST, SHOTS, KILL_INTENT, DEFECT_INTENT, SOURCE, WEEK, PILOT_DAY } = process.env;
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

async function person(token, who, options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
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
  // The confidence band and the day filter.
  const today = new Date().toISOString().slice(0, 10);
  await r.goto(`${BASE}/ui/decisions?band=top&from=${today}&to=${today}`);
  found.top_band = await r.$$eval('#decisions tbody tr td:nth-child(4)', (ts) => ts.map((t) => Number(t.textContent)));
  await r.goto(`${BASE}/ui/decisions`);
  await r.click('#decisions tbody tr a');
  found.chain = (await r.textContent('#chain')).trim();
  check(found.chain.startsWith('verified intact'), `chain on the decision page: ${found.chain}`);
  await shot(r, 'decision');
  await r.goto(`${BASE}/ui/reviews`);
  found.queue_before = await r.$$eval('#queue tbody tr', (rows) => rows.length);
  await shot(r, 'reviews');
  // The current week's quality figure before anything of it is resolved.
  const quality = async (page) => {
    await page.goto(`${BASE}/ui/?week=${WEEK}`);
    return (await page.textContent('#quality .big')).trim();
  };
  found.quality_before = await quality(r);
  await r.goto(`${BASE}/ui/reviews`);
  await Promise.all([r.waitForURL(/\/ui\/reviews\/\d+$/), r.click('#claim')]);
  await shot(r, 'review');
  found.reviewed = [];
  found.defect_tickets = [];
  found.correct_tickets = [];
  // Review by keyboard: `c` for correct (sent at once), `d` for a defect (the failure mode
  // gets the focus). Reviews of DEFECT_INTENT are the defects, two of them; at least
  // REVIEWS in all.
  for (let i = 0; i < 100; i++) {
    const seq = Number(r.url().split('/').pop());
    const intent = await r.getAttribute('#verdict', 'data-intent');
    const ticket = await r.getAttribute('#verdict', 'data-ticket');
    found.reviewed.push(seq);
    const next = (u) => u.toString() !== `${BASE}/ui/reviews/${seq}`;
    const defect = intent === DEFECT_INTENT && found.defect_tickets.length < 2;
    const last = found.reviewed.length >= REVIEWS && found.defect_tickets.length + (defect ? 1 : 0) >= 2;
    const wait = last ? r.waitForURL(/\/ui\/reviews(\/\d+|\?empty=1)?$/) : r.waitForURL(next);
    if (!defect) {
      found.correct_tickets.push(ticket);
      await Promise.all([wait, r.keyboard.press('c')]);
    } else {
      found.defect_tickets.push(ticket);
      await r.keyboard.press('d');
      const focused = await r.evaluate(() => document.activeElement && document.activeElement.name);
      check(focused === 'category', `after d the focus is on ${focused}`);
      await r.selectOption('select[name=category]', 'wrong-answer');
      await r.fill('textarea[name=note]', 'answered the wrong order');
      await Promise.all([wait, r.click('#verdict button[type=submit]')]);
    }
    if (last) break;
    if (!/\/ui\/reviews\/\d+$/.test(r.url())) { problems.push(`the queue ran out after ${found.reviewed.length} reviews`); break; }
  }
  // The reviewed tickets are resolved now: their events go to the history.
  const now = Date.now();
  const events = [...found.defect_tickets, ...found.correct_tickets].flatMap((t) => [
    { case: t, activity: 'Ticket created', time: new Date(now - 3_600_000).toISOString(), state: 'new' },
    { case: t, activity: 'Solved', time: new Date(now - 1000).toISOString(), state: 'resolved' },
  ]);
  const posted = await r.request.post(`${BASE}/v1/events`, {
    headers: { authorization: `Bearer ${INGEST}` },
    data: { source: SOURCE, events },
  });
  found.events_status = posted.status();
  // The Overview's quality figure for the week changes once the figures are recomputed
  // (they are at most the configured seconds old).
  found.quality_after = found.quality_before;
  for (let i = 0; i < 60 && found.quality_after === found.quality_before; i++) {
    await r.waitForTimeout(500);
    found.quality_after = await quality(r);
  }
  found.quality_line = (await r.textContent('#quality p:not(.big)')).trim();
  found.gate_week = await r.$$eval('#gate-week dd', (ds) => Object.fromEntries(ds.map((d) => [d.id, d.textContent.trim()])));
  found.flow_figures = await r.$$eval('#flow dd', (ds) => ds.map((d) => d.id));
  found.alerts = await r.$$eval('#alerts li', (ls) => ls.map((l) => l.dataset.figure));
  found.pilot_banner = (await r.textContent('#pilot')).trim();
  await shot(r, 'overview-week');
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
  // Flow: the baseline report's charts, live from the store, for a date range.
  await r.goto(`${BASE}/ui/flow`);
  found.flow_charts = await r.$$eval('#flow-report svg', (s) => s.length);
  await shot(r, 'flow');
  await r.goto(`${BASE}/ui/flow?from=2026-03-02&to=2026-03-29`);
  found.flow_range = (await r.textContent('#flow-summary')).trim();
  // What-if: a spike, run from the form, beside the baseline.
  await r.goto(`${BASE}/ui/whatif`);
  await Promise.all([r.waitForLoadState(), r.click('form[action="/ui/whatif"] button[type=submit]')]);
  await r.waitForSelector('#whatif-result, #whatif-error');
  found.whatif_rows = await r.$$eval('#whatif-result table tr', (rows) => rows.length);
  found.whatif_error = await r.$$eval('#whatif-error', (e) => e.map((x) => x.textContent));
  await shot(r, 'whatif');
  // The pilot: the day and phase, pilot vs baseline in budget terms.
  await r.goto(`${BASE}/ui/pilot?day=${PILOT_DAY}`);
  found.pilot_day = (await r.textContent('#pilot-day')).trim();
  found.pilot_phase = (await r.textContent('#pilot-phase')).trim();
  found.pilot_verdict = await r.getAttribute('#pilot', 'data-verdict');
  found.pilot_tables = await r.$$eval('#pilot-compare table', (t) => t.length);
  await shot(r, 'pilot');
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
  await v.goto(`${BASE}/ui/defects`);
  found.viewer_apply_buttons = await v.$$eval('button[data-apply]', (b) => b.length);
  await vctx.close();

  // The admin: switches one intent off on Controls.
  const { ctx: actx, page: a } = await person(ADMIN, 'admin');
  await a.goto(`${BASE}/ui/controls`);
  await Promise.all([a.waitForURL(`${BASE}/ui/controls`), a.click(`button[data-scope="${KILL_INTENT}"]`)]);
  found.switched = (await a.textContent(`tr[data-intent="${KILL_INTENT}"] td:nth-child(5)`)).trim();
  found.switches = await a.$$eval('#switches tbody tr', (rows) => rows.map((t) => t.textContent));
  await shot(a, 'controls');
  // The weekly defect review recommends a threshold for the intent with the defects; the
  // admin applies it with a click (an audited policy change).
  await a.goto(`${BASE}/ui/defects`);
  const apply = await a.$(`button[data-apply="${DEFECT_INTENT}"]`);
  found.apply_button = apply ? (await apply.textContent()).trim() : null;
  if (apply) {
    await Promise.all([a.waitForURL(/applied=/), apply.click()]);
    found.applied = (await a.textContent('#applied')).trim();
  }
  // A forged form (no CSRF secret) changes nothing.
  const forged = await a.request.post(`${BASE}/ui/controls/kill-switch`,
    { form: { csrf: 'x', scope: '*', engaged: 'true' } });
  found.forged_status = forged.status();
  await actx.close();

  // Accessibility: axe-core on every page, no serious or critical violation. (Its script is
  // injected, so this one context lets the page's CSP be bypassed; the others enforce it.)
  const { ctx: xctx, page: x } = await person(ADMIN, 'axe', { bypassCSP: true });
  found.axe = {};
  for (const path of ['/ui/', `/ui/?week=${WEEK}`, '/ui/decisions', '/ui/reviews', '/ui/defects',
    '/ui/controls', '/ui/governance', '/ui/flow', '/ui/whatif', `/ui/pilot?day=${PILOT_DAY}`]) {
    await x.goto(`${BASE}${path}`);
    await x.addScriptTag({ path: axePath });
    const bad = await x.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    found.axe[path] = bad.length;
    for (const b of bad) problems.push(`axe ${path}: ${b}`);
  }
  await xctx.close();
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
