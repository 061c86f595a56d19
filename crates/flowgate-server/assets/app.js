// flowgate's pages: keyboard shortcuts on the review page (c correct, d defect, j/k move
// between the form's fields). Embedded in the binary; no other script runs (CSP script-src 'self').
"use strict";
document.addEventListener("keydown", (e) => {
  const form = document.getElementById("verdict");
  if (!form || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLTextAreaElement || (t instanceof HTMLInputElement && t.type === "text")) return;
  const pick = (v) => {
    const r = form.querySelector(`input[name=verdict][value=${v}]`);
    if (r) { r.checked = true; r.focus(); }
  };
  if (e.key === "c") {
    pick("correct");
    e.preventDefault();
    form.requestSubmit();
  } else if (e.key === "d") {
    pick("defect");
    e.preventDefault();
    const cat = form.querySelector("select[name=category]");
    if (cat) cat.focus();
  } else if (e.key === "j" || e.key === "k") {
    const fields = Array.from(form.querySelectorAll("input:not([type=hidden]), select, textarea, button"));
    const i = fields.indexOf(document.activeElement);
    const next = e.key === "j" ? i + 1 : i - 1;
    const f = fields[(next + fields.length) % fields.length];
    if (f) { f.focus(); e.preventDefault(); }
  }
});
// The Pilot page's Print button (no inline handlers under the CSP).
document.addEventListener("click", (e) => {
  const b = e.target instanceof Element ? e.target.closest("[data-print]") : null;
  if (b) window.print();
});
