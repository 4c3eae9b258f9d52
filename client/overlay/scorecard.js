// Sparring's evaluation form and scorecard, shared by the participant page (the rep's
// self-reflection, an observer's evaluation, the scorecard after the call), the trainer
// dashboard (a trainer's evaluation) and the history page.
//
// The form comes from the server's `form` message; the scorecard from the report's
// `scorecard` (docs/protocol.md, Scorecards). Verdicts always show an icon and a word:
// colour is never the only sign.

import { tr } from './i18n.js';

export const VERDICT_ICON = { good: '✓', needs_work: '✗', not_measured: '–' };

export function h(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== '') n.append(c);
  return n;
}

/** "Good", "Needs work", "Not measured" (or, for a person's view, "Not sure"). */
export function verdictWord(v, person = false) {
  if (v === 'good') return tr('verdictGood');
  if (v === 'needs_work') return tr('verdictNeedsWork');
  return person ? tr('verdictNotSure') : tr('verdictNotMeasured');
}

export function verdictBadge(v, person = false) {
  const kind = VERDICT_ICON[v] ? v : 'not_measured';
  return h('span', { class: `verdict ${kind}` },
    h('span', { class: 'v-icon', 'aria-hidden': 'true', text: VERDICT_ICON[kind] }),
    h('span', { class: 'v-word', text: verdictWord(kind, person) }));
}

let formCount = 0;

/** The evaluation form as radio rows: good / needs work / not sure, a note per criterion.
 *  Returns {node, read(), disable(bool)}; read() gives {ticks, notes} with only what was
 *  chosen or written. */
export function evalForm(form, { notes = true, prefix = 'ev' } = {}) {
  const id = `${prefix}${++formCount}`;
  const rows = [];
  const node = h('div', { class: 'evalform' });
  for (const section of (form && Array.isArray(form.sections) ? form.sections : [])) {
    const sec = h('div', { class: 'ef-section' }, h('h3', { class: 'ef-title', text: section.title || section.id }));
    for (const c of (Array.isArray(section.criteria) ? section.criteria : [])) {
      const name = `${id}-${c.id}`;
      const fs = h('fieldset', { class: 'ef-row' });
      fs.dataset.criterion = c.id;
      fs.append(h('legend', { class: 'ef-label' }, c.label || c.id,
        c.hint ? h('span', { class: 'hint', text: c.hint }) : ''));
      const opts = h('div', { class: 'ef-opts' });
      for (const v of ['good', 'needs_work', 'not_measured']) {
        const rid = `${name}-${v}`;
        const input = h('input', { type: 'radio', id: rid, name, value: v });
        opts.append(h('span', { class: `ef-opt ${v}` }, input,
          h('label', { for: rid },
            h('span', { class: 'v-icon', 'aria-hidden': 'true', text: v === 'not_measured' ? '?' : VERDICT_ICON[v] }),
            verdictWord(v, true))));
      }
      fs.append(opts);
      let note = null;
      if (notes) {
        note = h('input', { type: 'text', class: 'ef-note', maxlength: '500', autocomplete: 'off',
          placeholder: tr('notePlaceholder'), 'aria-label': tr('noteOn', { label: c.label || c.id }) });
        fs.append(note);
      }
      rows.push({ id: c.id, fs, note, name });
      sec.append(fs);
    }
    node.append(sec);
  }
  return {
    node,
    read() {
      const ticks = {};
      const texts = {};
      for (const r of rows) {
        const chosen = r.fs.querySelector(`input[name="${r.name}"]:checked`);
        if (chosen) ticks[r.id] = chosen.value;
        const t = r.note ? r.note.value.trim() : '';
        if (t) texts[r.id] = t.slice(0, 500);
      }
      return { ticks, notes: texts };
    },
    disable(off) {
      for (const i of node.querySelectorAll('input')) i.disabled = off;
    },
    empty() { return rows.length === 0; },
  };
}

/** The node a token belongs to: "n1.abc" -> "n1". */
export function nodeOf(token) {
  const t = String(token || '');
  const dot = t.indexOf('.');
  return dot > 0 ? t.slice(0, dot) : '';
}

/** A short-lived link to a call's HTML report, made by the server for `token`, which
 *  travels in a header only: no long-lived token ever lands in a URL, a browser's history
 *  or a proxy's log (docs/protocol.md, Reports). Resolves {href, expiresAt} (ms);
 *  rejects with `err.status` when the server makes no link (404: erased, wrong token). */
export async function reportLink(session, token) {
  const res = await fetch(`/v1/sessions/${encodeURIComponent(session)}/report-link`, {
    headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
  });
  if (!res.ok) throw Object.assign(new Error(String(res.status)), { status: res.status });
  const body = await res.json();
  const url = new URL(body.url, location.href);
  url.searchParams.set('format', 'html');
  return { href: url.href, expiresAt: Date.now() + Number(body.expires_in_s || 0) * 1000 };
}

/** Opens a call's report in a new tab through a fresh link. The tab opens at once, in the
 *  click (a popup blocker allows nothing later); blocked anyway, this tab goes there. */
export async function openReportTab(session, token) {
  const win = window.open('', '_blank');
  try {
    const { href } = await reportLink(session, token);
    if (win) {
      win.opener = null;
      win.location.href = href;
    } else {
      window.location.href = href;
    }
  } catch (err) {
    if (win) win.close();
    throw err;
  }
}

/** One request over a fresh live socket (no hello: the token proves who asks). Resolves
 *  {ok: true} on `done`, {ok: false, code, message} on an error or after `timeoutMs`. */
export function request(token, msg, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/live`;
    const node = nodeOf(token);
    let ws;
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { ws.close(1000); } catch { /* closed */ }
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, code: 'timeout', message: tr('noAnswer') }), timeoutMs);
    try {
      ws = new WebSocket(node ? `${base}?node=${encodeURIComponent(node)}` : base);
    } catch (err) {
      finish({ ok: false, code: 'network', message: String(err && err.message ? err.message : err) });
      return;
    }
    ws.addEventListener('open', () => ws.send(JSON.stringify(msg)));
    ws.addEventListener('message', (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === 'done') finish({ ok: true, msg: m });
      else if (m.type === 'error') finish({ ok: false, code: m.code || 'error', message: m.message || '' });
    });
    ws.addEventListener('close', (ev) => finish({ ok: false, code: 'closed', message: ev.reason || String(ev.code) }));
  });
}

/** A person's view of one criterion: "You: ✓ Good — note" or "Olga (observer): …". */
function viewLine(view, who) {
  const li = h('li', { class: `view ${view.role || ''}` },
    h('span', { class: 'view-who', text: who }),
    verdictBadge(view.verdict, true),
    view.note ? h('span', { class: 'view-note', text: `“${view.note}”` }) : '');
  li.dataset.by = view.by || '';
  li.dataset.verdict = view.verdict || '';
  return li;
}

function roleWord(role) {
  return tr(`roleLower_${['rep', 'observer', 'trainer'].includes(role) ? role : 'participant'}`);
}

/** The scorecard as sections of criteria: the measured verdict (icon and word), value
 *  beside target, the rep's own view beside it, peers' views by name. `self`: whose page
 *  it is ("rep" shows "You" for the rep's own view). */
export function scorecardNode(sc, { self = 'rep' } = {}) {
  const root = h('div', { class: 'scorecard' });
  const counts = { good: 0, needs_work: 0, not_measured: 0 };
  for (const s of sc.sections || []) for (const c of s.criteria || []) counts[c.verdict in counts ? c.verdict : 'not_measured']++;
  root.append(h('p', { class: 'sc-summary' },
    h('span', { class: 'sc-count good', text: `${VERDICT_ICON.good} ${tr('countGood', { n: counts.good })}` }), ' · ',
    h('span', { class: 'sc-count needs_work', text: `${VERDICT_ICON.needs_work} ${tr('countNeedsWork', { n: counts.needs_work })}` }), ' · ',
    h('span', { class: 'sc-count not_measured', text: `${VERDICT_ICON.not_measured} ${tr('countNotMeasured', { n: counts.not_measured })}` })));
  if (sc.reflection === 'skipped') root.append(h('p', { class: 'muted sc-reflection', text: tr('reflectionSkipped') }));
  for (const section of sc.sections || []) {
    const list = h('ul', { class: 'sc-list' });
    for (const c of section.criteria || []) {
      const value = [c.value_text, c.target_text ? tr('targetIs', { t: c.target_text }) : ''].filter(Boolean).join(' · ');
      const views = h('ul', { class: 'sc-views' });
      if (c.self_view) views.append(viewLine(c.self_view, self === 'rep' ? tr('youSaid') : tr('repSaid', { name: c.self_view.by || sc.rep || '' })));
      for (const v of c.peer_views || []) views.append(viewLine(v, tr('peerSaid', { name: v.by, role: roleWord(v.role) })));
      const li = h('li', { class: `sc-item ${c.verdict}` },
        h('div', { class: 'sc-head' },
          h('span', { class: 'sc-label', text: c.label || c.id }),
          c.judged ? h('span', { class: 'sc-measured muted', text: tr('judgedByPeople') }) : verdictBadge(c.verdict)),
        value ? h('div', { class: 'sc-value', text: value }) : '',
        !value && c.evidence && !c.judged ? h('div', { class: 'sc-evidence muted', text: c.evidence }) : '',
        (c.moments || []).length ? h('div', { class: 'sc-moments muted', text: (c.moments || []).slice(0, 4).map((m) => [m.time, m.what].filter(Boolean).join(' ')).join(' · ') }) : '',
        views.children.length ? views : '');
      li.dataset.criterion = c.id;
      li.dataset.verdict = c.verdict;
      list.append(li);
    }
    root.append(h('section', { class: 'sc-section' }, h('h3', { text: section.title || section.id }), list));
  }
  return root;
}

/** Seconds as m:ss. */
export function mss(s) {
  if (typeof s !== 'number' || !isFinite(s) || s < 0) return '—';
  const r = Math.round(s);
  return `${Math.floor(r / 60)}:${String(r % 60).padStart(2, '0')}`;
}
