// Opens a flowgate HTML report in headless Chromium and checks what a reader would see:
// the page loads without errors, requests nothing from the network, and every chart is an
// SVG with a visible size and drawn content. Writes a screenshot beside the report.
// With a third argument `demand`, the demand section must be there with rows in each table.
// Usage: node check-report.mjs REPORT.html SCREENSHOT.png [demand]
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
  for (const want of ['Cycle-time distribution', 'Process map', 'Weekly arrivals vs throughput']) {
    if (!headings.some((h) => h.startsWith(want))) problems.push(`missing section: ${want}`);
  }
  if (expect === 'demand') {
    if (!headings.some((h) => h.startsWith('Demand'))) problems.push('missing section: Demand');
    const rows = await page.$$eval('table.demand', (ts) => ts.map((t) => t.querySelectorAll('tr').length - 1));
    if (rows.length !== 3 || rows.some((n) => n < 1)) problems.push(`demand tables have rows ${JSON.stringify(rows)}`);
  }
  if (charts.length < 6) problems.push(`expected at least 6 charts, found ${charts.length}`);
  for (const c of charts) {
    if (c.w < 300 || c.h < 60) problems.push(`chart ${c.cls} is ${c.w}x${c.h}`);
    if (c.shapes < 3 || c.noData) problems.push(`chart ${c.cls} draws nothing`);
  }
  const map = await page.$$eval('svg.process-map g', (g) => g.length);
  if (map < 3) problems.push(`process map has ${map} activities`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ charts: charts.length, headings: headings.length, mapNodes: map, problems }));
} finally {
  await browser.close();
}
process.exit(problems.length ? 1 : 0);
