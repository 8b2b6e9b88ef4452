// neurocards dashboard: plain browser JavaScript, no build step, no CDN. Reads /queue
// (the same figures as the health check) and /ops (last hour, failures) and redraws
// every few seconds. Retry needs the server's ADMIN_TOKEN, typed in the header.
'use strict';
const REFRESH_MS = Number(new URLSearchParams(location.search).get('refresh')) || 5000;
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const SVG = 'http://www.w3.org/2000/svg';
const svgEl = (tag, attrs, text) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
};
const fmtAge = (s) => (s < 60 ? `${Math.round(s)} s` : s < 600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
const ago = (iso) => (iso ? `${fmtAge(Math.max(0, (Date.now() - Date.parse(iso)) / 1000))} ago` : '–');
const inT = (iso) => { const s = (Date.parse(iso) - Date.now()) / 1000; return s <= 0 ? 'now' : `in ${fmtAge(s)}`; };

const tokenInput = $('token');
tokenInput.value = localStorage.getItem('neurocards.adminToken') || '';
tokenInput.addEventListener('change', () => localStorage.setItem('neurocards.adminToken', tokenInput.value));
let admin = false;

function toast(text, bad) {
  const t = $('toast');
  t.textContent = text;
  t.style.color = bad ? 'var(--bad)' : 'var(--ok)';
  t.style.display = 'block';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.style.display = 'none'; }, 4000);
}

function renderQueue(q) {
  const ok = q.status === 'ok';
  $('status').textContent = ok ? 'healthy' : 'unavailable';
  $('status').className = `pill ${ok ? 'ok' : 'bad'}`;
  $('reason').textContent = q.reason || '';
  if (q.queued === undefined) return;
  const values = {
    queued: q.queued, processing: q.processing, scheduled: q.scheduled, dead: q.dead, workers: q.workers,
    oldestQueuedSeconds: fmtAge(q.oldestQueuedSeconds), succeeded24h: q.last24h.succeeded, failed24h: q.last24h.failed,
    p95: q.last24h.p95Seconds == null ? '–' : q.last24h.p95Seconds < 1 ? `${Math.round(q.last24h.p95Seconds * 1000)} ms` : `${Number(q.last24h.p95Seconds.toPrecision(2))} s`,
  };
  for (const node of document.querySelectorAll('[data-k]')) node.textContent = values[node.dataset.k];
  const rows = q.instances.map((i) => el('tr', { 'data-instance': i.id },
    el('td', {}, el('span', { class: 'kind' }, i.id)),
    el('td', { class: 'num' }, `${i.inFlight} / ${i.concurrency}`,
      el('div', { class: 'bar' }, Object.assign(el('div'), { style: `width:${Math.min(100, (100 * i.inFlight) / Math.max(1, i.concurrency))}%` }))),
    el('td', { class: 'muted small' }, ago(i.lastHeartbeatAt))));
  $('instances').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'no live instances'))]));
}

function renderChart(history) {
  const svg = $('chart');
  const W = 720, H = 220, L = 34, B = 22, T = 8;
  const max = Math.max(1, ...history.map((p) => p.succeeded + p.failed));
  // A round grid step (1, 2 or 5 × 10^n) giving about five lines.
  const raw = max / 5, pow = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((k) => k * pow).find((k) => k >= raw));
  const nice = step * Math.ceil(max / step), lines = Math.round(nice / step);
  const slot = (W - L - 4) / Math.max(1, history.length);
  const y = (v) => H - B - ((H - B - T) * v) / nice;
  const parts = [];
  for (let i = 0; i <= lines; i++) {
    const v = step * i;
    parts.push(svgEl('line', { x1: L, x2: W, y1: y(v), y2: y(v), stroke: '#263040', 'stroke-width': 1 }));
    parts.push(svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, Math.round(v)));
  }
  history.forEach((p, i) => {
    const x = L + i * slot + 1, w = Math.max(1, slot - 2);
    const title = `${new Date(p.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${p.succeeded} succeeded, ${p.failed} dead`;
    const g = svgEl('g', {});
    g.append(svgEl('title', {}, title));
    if (p.succeeded) g.append(svgEl('rect', { x, width: w, y: y(p.succeeded), height: y(0) - y(p.succeeded), fill: '#3fb950', rx: 1 }));
    if (p.failed) g.append(svgEl('rect', { x, width: w, y: y(p.succeeded + p.failed), height: y(0) - y(p.failed), fill: '#f85149', rx: 1 }));
    parts.push(g);
    if (i % 10 === 0 || i === history.length - 1)
      parts.push(svgEl('text', { x: x + w / 2, y: H - 6, 'text-anchor': 'middle' },
        new Date(p.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
  });
  svg.replaceChildren(...parts);
  const s = history.reduce((a, p) => a + p.succeeded, 0), f = history.reduce((a, p) => a + p.failed, 0);
  $('hourTotals').textContent = `${s} succeeded · ${f} dead`;
}

async function retry(id, button) {
  button.disabled = true;
  try {
    const res = await fetch(`/ops/jobs/${encodeURIComponent(id)}/retry`, {
      method: 'POST', headers: { authorization: `Bearer ${tokenInput.value}` },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { toast(body.error?.message || `retry failed (${res.status})`, true); button.disabled = false; return; }
    toast(`job ${id} queued again`);
    button.textContent = 'queued';
    refresh();
  } catch (err) {
    toast(String(err), true);
    button.disabled = false;
  }
}

function renderJobs(ops) {
  admin = ops.admin;
  $('admin').style.display = admin ? 'inline-flex' : 'none';
  $('readonly').textContent = admin ? '' : 'read-only: set ADMIN_TOKEN on the server to retry from here';
  const dead = ops.dead.map((j) => el('tr', { 'data-job': j.id },
    el('td', { class: 'num' }, j.id), el('td', {}, el('span', { class: 'kind' }, j.kind)),
    el('td', { class: 'num' }, `${j.attempts}/${j.maxAttempts}`), el('td', { class: 'muted small' }, ago(j.finishedAt)),
    el('td', { class: 'err' }, j.lastError || ''),
    el('td', {}, admin ? el('button', { class: 'retry', onclick: (e) => retry(j.id, e.currentTarget) }, 'Retry') : '')));
  $('dead').replaceChildren(...(dead.length ? dead : [el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'no dead jobs'))]));
  const failed = ops.failed.map((j) => el('tr', { 'data-job': j.id },
    el('td', { class: 'num' }, j.id), el('td', {}, el('span', { class: 'kind' }, j.kind)),
    el('td', { class: 'num' }, `${j.attempts}/${j.maxAttempts}`), el('td', { class: 'muted small' }, inT(j.runAt)),
    el('td', { class: 'err' }, j.lastError || '')));
  $('failed').replaceChildren(...(failed.length ? failed : [el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'nothing is retrying'))]));
  const schedules = (ops.schedules || []).map((s) => el('tr', { 'data-schedule': s.kind },
    el('td', {}, el('span', { class: 'kind' }, s.kind)), el('td', { class: 'muted small' }, fmtAge(s.everySeconds)),
    el('td', { class: 'num' }, s.job ? s.job.id : '–'),
    el('td', {}, s.job ? s.job.status + (s.job.finishedAt ? ` ${ago(s.job.finishedAt)}` : '') : 'not enqueued yet'),
    el('td', { class: 'num' }, s.job ? `${s.job.attempts}/${s.job.maxAttempts}` : ''),
    el('td', { class: 'muted small' }, inT(s.nextAt))));
  $('schedules').replaceChildren(...(schedules.length ? schedules : [el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'no scheduler on this instance (worker off)'))]));
  renderChart(ops.history);
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  try {
    const [q, ops] = await Promise.all([
      fetch('/queue', { cache: 'no-store' }).then((r) => r.json()),
      fetch('/ops', { cache: 'no-store' }).then((r) => r.json()),
    ]);
    renderQueue(q);
    if (!ops.error) renderJobs(ops);
    $('updated').textContent = new Date().toLocaleTimeString();
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (err) {
    $('status').textContent = 'unreachable';
    $('status').className = 'pill bad';
    $('reason').textContent = String(err);
  } finally {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
