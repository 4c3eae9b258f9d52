// Sparring progress page (/history). For a rep (their personal link's token, from `#rep=…`,
// kept in this tab's sessionStorage and never put in a URL query): the last calls side by
// side, trends of the key measures, recurring issues. For a trainer (the key the dashboard
// keeps in this tab's sessionStorage) with `?rep=<id>` the same for any rep, with
// `?group=<id>` what the group keeps missing, ranked.
// JSON: GET /v1/reps/me/history, /v1/reps/{rep}/history, /v1/groups/{group}/history.

import { LANG, applyStrings, pct, tr } from './i18n.js';
import { h, mss, openReportTab } from './scorecard.js';

const REP_STORE = 'sparring.rep.token';
const KEY_STORE = 'sparring.trainer.key';

const el = {};
for (const node of document.querySelectorAll('[id]')) {
  el[node.id.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = node;
}

const P = { token: '', trainer: false, labels: {}, reps: new Map() };

function load(key) { try { return sessionStorage.getItem(key) || ''; } catch { return ''; } }
function save(key, v) { try { sessionStorage.setItem(key, v); } catch { /* private mode */ } }

function setStatus(kind, text) {
  el.histStatus.className = `form-status ${kind}`;
  el.histStatus.replaceChildren();
  if (text) el.histStatus.append(h('span', { 'aria-hidden': 'true', text: kind === 'error' ? '⚠ ' : '' }), text);
}

function label(id) {
  const t = P.labels[id];
  if (t && typeof t === 'object') return t[LANG] || t.en || id;
  if (typeof t === 'string') return t;
  const words = String(id || '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function dateText(ts) {
  if (typeof ts !== 'number' || !isFinite(ts)) return '—';
  return new Date(ts * 1000).toLocaleString(LANG === 'nl' ? 'nl-NL' : 'en-GB', {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  });
}

async function getJson(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${P.token}` }, cache: 'no-store' });
  if (!res.ok) throw Object.assign(new Error(String(res.status)), { status: res.status });
  return res.json();
}

// ---------------------------------------------------------------- measures and trends

function openShare(m) {
  const total = (m.questions_open || 0) + (m.questions_closed || 0);
  return total ? m.questions_open / total : null;
}

/** The key measures: name, value of a call's measures, its text, and which way is better. */
const MEASURES = [
  { id: 'talk', name: 'mTalkShare', get: (m) => m.talk_share_rep, text: (v) => pct(v), better: 'down' },
  { id: 'monologue', name: 'mLongestMonologue', get: (m) => m.longest_monologue_s, text: (v) => mss(v), better: 'down' },
  { id: 'open', name: 'mOpenShare', get: openShare, text: (v) => pct(v), better: 'up' },
  { id: 'interruptions', name: 'mInterruptionsN', get: (m) => m.interruptions, text: (v) => String(Math.round(v)), better: 'down' },
];

function sparkline(values, textOf) {
  const W = 200; const H = 44; const pad = 5;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const nums = values.filter((v) => v !== null);
  // Small changes stay small: the scale spans at least a quarter of the largest value.
  const top = Math.max(...nums); const bottom = Math.min(...nums);
  const span = Math.max(top - bottom, Math.abs(top) * 0.25) || 1;
  const lo = (top + bottom) / 2 - span / 2;
  const x = (i) => (values.length === 1 ? W / 2 : pad + (i * (W - 2 * pad)) / (values.length - 1));
  const y = (v) => H - pad - ((v - lo) / span) * (H - 2 * pad);
  const pts = values.map((v, i) => (v === null ? null : [x(i), y(v)])).filter(Boolean);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', pts.map((p) => p.join(',')).join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '2');
  svg.append(line);
  values.forEach((v, i) => {
    if (v === null) return;
    const dot = document.createElementNS(ns, 'circle');
    dot.setAttribute('cx', String(x(i)));
    dot.setAttribute('cy', String(y(v)));
    dot.setAttribute('r', i === values.length - 1 ? '3.5' : '2');
    dot.setAttribute('fill', 'currentColor');
    const title = document.createElementNS(ns, 'title');
    title.textContent = textOf(v);
    dot.append(title);
    svg.append(dot);
  });
  return svg;
}

function renderTrends(rows) {
  const withMeasures = rows.filter((r) => r && r.measures);
  if (withMeasures.length < 1) { el.histTrends.hidden = true; return; }
  const cards = [];
  for (const m of MEASURES) {
    const values = withMeasures.map((r) => {
      const v = m.get(r.measures);
      return typeof v === 'number' && isFinite(v) ? v : null;
    });
    const known = values.filter((v) => v !== null);
    if (!known.length) continue;
    const now = known[known.length - 1];
    const first = known[0];
    let change = tr('trendOne');
    if (known.length > 1) {
      const d = now - first;
      const same = m.text(now) === m.text(first); // no change at the precision shown
      const dir = same ? 'trendSame' : d > 0 ? 'trendUp' : 'trendDown';
      const better = same ? '' : (d < 0) === (m.better === 'down') ? tr('trendBetter') : tr('trendWorse');
      change = `${same ? '→' : d > 0 ? '▲' : '▼'} ${tr(dir, { a: m.text(first), n: known.length })}${better ? ` · ${better}` : ''}`;
    }
    const series = known.map(m.text).join(', ');
    const card = h('div', { class: 'trend', role: 'img', 'aria-label': tr('trendAria', { name: tr(m.name), values: series }) },
      h('div', { class: 'trend-name', text: tr(m.name) }),
      h('div', { class: 'trend-now', text: m.text(now) }),
      h('div', { class: 'trend-change', text: change }),
      sparkline(values, m.text));
    card.dataset.measure = m.id;
    card.title = series;
    cards.push(card);
  }
  el.trends.replaceChildren(...cards);
  el.histTrends.hidden = !cards.length;
}

// ---------------------------------------------------------------- reports

/** A call's report, opened in a new tab through a short-lived link: the token goes in a
 *  header, never in the URL. */
async function openReport(session, btn) {
  btn.disabled = true;
  try {
    await openReportTab(session, P.token);
  } catch (err) {
    setStatus('error', err.status === 404 ? tr('reportNotHere') : tr('loadFailed', { err: err.message }));
  } finally {
    btn.disabled = false;
  }
}

function reportButton(session, text) {
  const b = h('button', { type: 'button', class: 'btn small', text });
  b.dataset.session = session;
  b.addEventListener('click', () => openReport(session, b));
  return b;
}

// ---------------------------------------------------------------- tables and lists

function renderCalls(rows, { withRep = false } = {}) {
  const heads = ['colDate', ...(withRep ? ['colRep'] : []), 'colTitle', 'colDuration', 'mTalkShare', 'mLongestMonologue', 'colQuestions', 'mInterruptionsN', 'colReport'];
  el.callsHead.replaceChildren(...heads.map((k) => h('th', { scope: 'col', text: tr(k) })));
  el.callsBody.replaceChildren(...rows.map((r) => {
    const m = r.measures || null;
    const cells = [
      h('td', { text: dateText(r.created_at) }),
      ...(withRep ? [h('td', { text: (P.reps.get(r.rep_id) || {}).name || '—' })] : []),
      h('td', { class: 'title', text: r.title || tr('untitled') }),
      h('td', { class: 'num', text: mss(r.duration_audio_s) }),
      h('td', { class: 'num', text: m ? pct(m.talk_share_rep) : '—' }),
      h('td', { class: 'num', text: m ? mss(m.longest_monologue_s) : '—' }),
      h('td', { class: 'num', text: m ? tr('openClosed', { o: m.questions_open, c: m.questions_closed }) : '—' }),
      h('td', { class: 'num', text: m ? String(m.interruptions) : '—' }),
      h('td', {}, reportButton(r.session, tr('openReportShort'))),
    ];
    const tr_ = h('tr', {}, ...cells);
    tr_.dataset.session = r.session;
    return tr_;
  }));
  el.histCalls.hidden = !rows.length;
}

// The page's CSP allows no style attributes: widths are set through the CSSOM.
function widthOf(node, share) {
  node.style.width = `${Math.round(share * 100)}%`;
  return node;
}

function renderRecurring(issues, calls) {
  const when = new Map(calls.map((c) => [c.session, c]));
  el.recurringList.replaceChildren(...issues.map((i) => {
    const li = h('li', { class: 'issue' },
      h('div', { class: 'issue-head' },
        h('span', { 'aria-hidden': 'true', text: '✗' }),
        h('span', { class: 'issue-label', text: label(i.criterion) }),
        h('span', { class: 'issue-count', text: tr('missedOf', { n: i.missed, of: i.of_calls }) })),
      h('div', { class: 'issue-calls' }, h('span', { class: 'muted', text: tr('inCalls') }),
        ...(i.sessions || []).map((s) => {
          const at = (i.moments && i.moments[s]) || [];
          const day = when.has(s) ? dateText(when.get(s).created_at) : s.slice(-6);
          return reportButton(s, at.length ? `${day} · ${at.slice(0, 4).join(', ')}` : day);
        })));
    li.dataset.criterion = i.criterion;
    return li;
  }));
  if (!issues.length) el.recurringList.replaceChildren(h('li', { class: 'muted', text: tr('noRecurring') }));
  el.histRecurring.hidden = false;
}

// ---------------------------------------------------------------- the views

async function showRep(path) {
  const data = await getJson(path);
  P.labels = data.labels || {};
  const rep = data.rep || {};
  el.histH.textContent = tr('progressOf', { name: rep.name || '' });
  document.title = `${tr('progressOf', { name: rep.name || '' })} — Sparring`;
  const calls = Array.isArray(data.calls) ? data.calls : [];
  el.histSub.textContent = calls.length ? tr('callsKept', { n: calls.length }) : tr('noCallsYet');
  renderRecurring(Array.isArray(data.recurring) ? data.recurring : [], Array.isArray(data.trend) ? data.trend : calls);
  renderTrends(Array.isArray(data.trend) ? data.trend : [...calls].reverse());
  renderCalls(calls);
  if (P.trainer && rep.group) {
    el.histBack.href = `/history?group=${encodeURIComponent(rep.group)}`;
    el.histBack.textContent = tr('backToGroup');
  }
}

async function showGroup(id) {
  const data = await getJson(`/v1/groups/${encodeURIComponent(id)}/history`);
  P.labels = data.labels || {};
  for (const r of data.reps || []) P.reps.set(r.id, r);
  el.histH.textContent = tr('groupProgressOf', { group: data.name || '' });
  document.title = `${data.name || ''} — Sparring`;
  const calls = Array.isArray(data.calls) ? data.calls : [];
  el.histSub.textContent = tr('groupSub', { reps: (data.reps || []).length, n: calls.length });
  const missed = Array.isArray(data.missed) ? data.missed : [];
  el.missedList.replaceChildren(...missed.map((m) => {
    const share = m.judged ? m.missed / m.judged : 0;
    const li = h('li', { class: 'missed-row' },
      h('strong', { text: label(m.criterion) }),
      h('span', { class: 'mbar', 'aria-hidden': 'true' }, widthOf(h('i', {}), share)),
      h('span', { text: tr('missedRow', { n: m.missed, of: m.judged, reps: m.reps }) }));
    li.dataset.criterion = m.criterion;
    return li;
  }));
  if (!missed.length) el.missedList.replaceChildren(h('li', { class: 'muted', text: tr('noMissed') }));
  el.histMissed.hidden = false;
  el.repsList.replaceChildren(...(data.reps || []).map((r) => h('li', {},
    h('span', { class: 'who', text: r.name }),
    h('a', { class: 'btn small', href: `/history?rep=${encodeURIComponent(r.id)}`, text: tr('repProgress'), 'aria-label': tr('repProgressOf', { name: r.name }) }))));
  el.histReps.hidden = false;
  renderTrends([...calls].reverse());
  renderCalls(calls.slice(0, 20), { withRep: true });
}

async function init() {
  applyStrings(document);
  const query = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.slice(1));
  const group = query.get('group');
  const rep = query.get('rep');
  try {
    if (group || rep) {
      P.trainer = true;
      P.token = load(KEY_STORE);
      el.histBack.href = '/trainer';
      el.histBack.textContent = tr('backToDashboard');
      el.histBack.hidden = false;
      if (!P.token) {
        el.histH.textContent = tr('histH');
        setStatus('error', tr('signInFirst'));
        return;
      }
      if (group) await showGroup(group);
      else await showRep(`/v1/reps/${encodeURIComponent(rep)}/history`);
    } else {
      const fromHash = hash.get('rep');
      if (fromHash) {
        save(REP_STORE, fromHash);
        history.replaceState(null, '', location.pathname); // the token leaves the address bar
      }
      P.token = fromHash || load(REP_STORE);
      if (!P.token) {
        el.histH.textContent = tr('histH');
        setStatus('error', tr('noRepLink'));
        return;
      }
      el.histBack.href = `/#rep=${encodeURIComponent(P.token)}`;
      el.histBack.textContent = tr('startAnother');
      el.histBack.hidden = false;
      await showRep('/v1/reps/me/history');
    }
    el.histH.focus();
  } catch (err) {
    el.histH.textContent = tr('histH');
    setStatus('error', err.status === 404 ? tr('histNotFound') : tr('loadFailed', { err: err.message }));
  }
}

init();
