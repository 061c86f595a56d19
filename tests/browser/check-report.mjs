// Opens a flowgate HTML report in headless Chromium and checks what a reader would see:
// the page loads without errors, requests nothing from the network, and every chart is an
// SVG with a visible size and drawn content. Writes a screenshot beside the report.
// With a third argument `demand`, the demand section must be there with rows in each table,
// and the value sections of the demo (scorecard, simulated pilot, spike). With `scorecard`
// the page is a weekly scorecard (three charts); with `exec`, an executive summary (cards and
// a table, no charts needed).
// Usage: node check-report.mjs REPORT.html SCREENSHOT.png [demand|scorecard|exec]
import { chromium } from 'playwright-core';

const [report, shot, expect] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`network request: ${r.url()}`); });
  await page.goto('file://' + report, { waitUntil: 'load' });
  const charts = await page.$$eval('svg', (svgs) => svgs.map((s) => {
    const b = s.getBoundingClientRect();
    return {
      cls: s.getAttribute('class'),
      w: b.width, h: b.height,
      shapes: s.querySelectorAll('rect,path,polyline,polygon,line').length,
      noData: s.textContent.includes('no data'),
    };
  }));
  const headings = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
  const want = (list) => {
    for (const w of list) if (!headings.some((h) => h.startsWith(w))) problems.push(`missing section: ${w}`);
  };
  let map = 0;
  if (expect === 'scorecard') {
    want(['Cycle time (hours)', 'Quality defects per 100 resolved', 'Escalation rate (%)']);
    const cards = await page.$$eval('.card', (cs) => cs.length);
    if (cards !== 3) problems.push(`expected exactly 3 headline cards, found ${cards}`);
    if (charts.length !== 3) problems.push(`expected 3 charts, found ${charts.length}`);
  } else if (expect === 'exec') {
    want(['What changed']);
    const cards = await page.$$eval('.card', (cs) => cs.length);
    if (cards < 3) problems.push(`expected headline cards, found ${cards}`);
    const rows = await page.$$eval('table tr', (rs) => rs.length);
    if (rows < 6) problems.push(`the change table has ${rows} rows`);
  } else {
    want(['Cycle-time distribution', 'Process map', 'Weekly arrivals vs throughput']);
    if (expect === 'demand') {
      want(['Demand', 'Weekly scorecard', 'Simulated pilot', 'Spike']);
      const rows = await page.$$eval('table.demand', (ts) => ts.map((t) => t.querySelectorAll('tr').length - 1));
      if (rows.length !== 3 || rows.some((n) => n < 1)) problems.push(`demand tables have rows ${JSON.stringify(rows)}`);
    }
    if (charts.length < 6) problems.push(`expected at least 6 charts, found ${charts.length}`);
    map = await page.$$eval('svg.process-map g', (g) => g.length);
    if (map < 3) problems.push(`process map has ${map} activities`);
  }
  for (const c of charts) {
    if (c.w < 300 || c.h < 60) problems.push(`chart ${c.cls} is ${c.w}x${c.h}`);
    if (c.shapes < 3 || c.noData) problems.push(`chart ${c.cls} draws nothing`);
  }
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ charts: charts.length, headings: headings.length, mapNodes: map, problems }));
} finally {
  await browser.close();
}
process.exit(problems.length ? 1 : 0);
