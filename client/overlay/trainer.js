// Sparring trainer dashboard (/trainer): every live and recently ended call at a glance, one
// call in detail, and a whisper box to its rep. It speaks the live protocol like any client
// (docs/protocol.md, Trainers): `hello` with `trainer_key`, `watch` "*" for the grid's `call`
// lines, `watch` one call for its events, `whisper` with `session`.
//
// The key lives in this tab's sessionStorage and travels only inside `hello`, never in a URL.

import { LANG, applyStrings, fmtClock, fmtSeconds, pct, tr } from './i18n.js';
import { evalForm } from './scorecard.js';

const CLIENT = 'trainer-web/1.0';
const KEY_STORE = 'sparring.trainer.key';
const NAME_STORE = 'sparring.trainer.name';
const RETRY_MAX_MS = 30000;
const MAX_LINES = 500;
const MAX_NUDGES = 200;
const ENDED = new Set(['ended', 'lost']);
const STATUS_ICON = { waiting: '…', live: '●', paused: '❚❚', ended: '■', lost: '⚠' };

const el = {};
for (const node of document.querySelectorAll('[id]')) {
  el[node.id.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = node;
}

const D = {
  ws: null,
  key: '',
  name: '',
  welcomed: false, // this connection
  everWelcomed: false, // this sign-in
  failed: null, // the error code that ends this sign-in (bad_token, slow_down)
  retryMs: 1000,
  retryTimer: null,
  calls: new Map(), // session -> {msg, li, btn, parts, endedAt, seenRunning}
  dirty: new Set(),
  frame: 0,
  cluster: { mqtt: 'off', nodes: [] },
  detail: null,
  groups: [], // the trainer's groups and reps (`groups`)
  groupsOpen: false,
  repLink: null, // the last `rep_link`: shown once, beside its group
  groupPending: null, // 'create' | 'add', while the server has not answered
};

// ---------------------------------------------------------------- helpers

function h(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== '') n.append(c);
  return n;
}
function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
function setAttr(node, name, value) { if (node.getAttribute(name) !== value) node.setAttribute(name, value); }
function roleName(r) { return tr(`role_${r}`) || r; }
function ruleName(r) { return String(r || '').replace(/_/g, ' '); }
function nowS() { return Date.now() / 1000; }

function send(obj) {
  if (D.ws && D.ws.readyState === WebSocket.OPEN) {
    D.ws.send(JSON.stringify(obj));
    return true;
  }
  return false;
}

function wsUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/live`;
}

function store(kind, key, value) {
  try {
    const s = kind === 'session' ? sessionStorage : localStorage;
    if (value === null) s.removeItem(key); else s.setItem(key, value);
  } catch { /* private mode */ }
}
function load(kind, key) {
  try { return (kind === 'session' ? sessionStorage : localStorage).getItem(key) || ''; } catch { return ''; }
}

// ---------------------------------------------------------------- banners

function banner(key, kind, text) {
  let b = el.banners.querySelector(`[data-key="${key}"]`);
  if (!text) { if (b) b.remove(); return; }
  if (!b) {
    b = h('div', { class: `banner ${kind}` }, h('span', { class: 'banner-icon', 'aria-hidden': 'true', text: kind === 'info' ? 'ℹ' : '⚠' }), h('span', { class: 'banner-text' }));
    b.dataset.key = key;
    el.banners.append(b);
  }
  b.className = `banner ${kind}`;
  setText(b.querySelector('.banner-text'), text);
}

// ---------------------------------------------------------------- sign-in and connection

function showSignIn(errorText = '') {
  el.signin.hidden = false;
  el.board.hidden = true;
  el.detail.hidden = true;
  el.groups.hidden = true;
  el.btnSignout.hidden = true;
  el.dashWho.textContent = '';
  el.dashNodes.textContent = '';
  el.signinSubmit.disabled = false;
  el.signinSubmit.textContent = tr('signIn');
  el.signinError.hidden = !errorText;
  el.signinError.replaceChildren();
  if (errorText) el.signinError.append(errorText);
  el.signinName.value = el.signinName.value || load('local', NAME_STORE);
  (el.signinName.value ? el.signinKey : el.signinName).focus();
}

function onSignIn(ev) {
  ev.preventDefault();
  const key = el.signinKey.value.trim();
  if (!key) { el.signinKey.focus(); return; }
  D.key = key;
  D.name = el.signinName.value.trim();
  store('local', NAME_STORE, D.name);
  el.signinSubmit.disabled = true;
  el.signinSubmit.textContent = tr('signingIn');
  el.signinError.hidden = true;
  startSession();
}

function startSession() {
  D.everWelcomed = false;
  D.failed = null;
  D.retryMs = 1000;
  connect();
}

function connect() {
  clearTimeout(D.retryTimer);
  D.welcomed = false;
  const ws = new WebSocket(wsUrl());
  D.ws = ws;
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ type: 'hello', trainer_key: D.key, name: D.name || 'Trainer', client: CLIENT }));
  });
  ws.addEventListener('message', (ev) => {
    if (ws !== D.ws || typeof ev.data !== 'string') return;
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    onMessage(msg);
  });
  ws.addEventListener('close', (ev) => { if (ws === D.ws) onClosed(ev); });
  ws.addEventListener('error', () => { /* the close event follows */ });
}

function onClosed(ev) {
  D.ws = null;
  if (D.failed) {
    store('session', KEY_STORE, null);
    const code = D.failed.code;
    const text = code === 'slow_down' ? tr('slowDown') : tr('wrongKey');
    showSignIn(codedLine(text, code, D.failed.message));
    return;
  }
  if (!D.everWelcomed) {
    showSignIn(tr('cannotConnect', { code: ev.code }));
    return;
  }
  banner('conn', 'error', tr('connLost'));
  D.retryTimer = setTimeout(connect, D.retryMs);
  D.retryMs = Math.min(RETRY_MAX_MS, D.retryMs * 2);
}

function codedLine(text, code, message) {
  const frag = document.createDocumentFragment();
  frag.append(`${text} `, h('code', { text: code }));
  if (message) frag.append(` — ${message}`);
  return frag;
}

function signOut() {
  store('session', KEY_STORE, null);
  D.key = '';
  D.failed = { code: 'signed_out' };
  const ws = D.ws;
  D.ws = null;
  clearTimeout(D.retryTimer);
  if (ws) try { ws.close(1000, 'signed out'); } catch { /* closed */ }
  closeDetail(false);
  D.calls.clear();
  el.grid.replaceChildren();
  el.banners.replaceChildren();
  el.signinKey.value = '';
  showSignIn();
}

// ---------------------------------------------------------------- messages

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome': return onWelcome(msg);
    case 'call': onCall(msg); return detailEvent(msg);
    case 'cluster': return onCluster(msg);
    case 'error': return onError(msg);
    case 'done': return onDone(msg);
    case 'groups': return onGroups(msg);
    case 'rep_link': return onRepLink(msg);
    case 'form': return detailEvent(msg);
    case 'state': case 'metrics': case 'nudge': case 'transcript':
    case 'checklist': case 'audio_check': case 'report':
      return detailEvent(msg);
    default: return undefined;
  }
}

function onWelcome(msg) {
  D.welcomed = true;
  D.everWelcomed = true;
  D.retryMs = 1000;
  store('session', KEY_STORE, D.key);
  if (msg.name) D.name = msg.name;
  banner('conn', '', '');
  el.signin.hidden = true;
  el.btnSignout.hidden = false;
  el.dashWho.textContent = D.name ? `${D.name}${msg.node ? ` · ${msg.node}` : ''}` : (msg.node || '');
  send({ type: 'watch', session: '*', events: 'summary' });
  if (D.groupsOpen) listGroups(); // only when asked for: a server without a store keeps none
  if (D.detail) {
    D.detail.watchPending = true;
    send({ type: 'watch', session: D.detail.id });
  } else if (D.groupsOpen) {
    el.groups.hidden = false;
  } else {
    el.board.hidden = false;
  }
  renderCount();
}

function onError(msg) {
  const code = msg.code || 'error';
  if (!D.welcomed && (code === 'bad_token' || code === 'slow_down' || code === 'hello_required' || code === 'bad_message')) {
    D.failed = { code, message: msg.message || '' };
    return;
  }
  const d = D.detail;
  if (d && d.evalPending && ['already_evaluated', 'forbidden', 'bad_state', 'unknown_session', 'bad_message'].includes(code)) {
    d.evalPending = false;
    if (code === 'already_evaluated' && d.form) { d.form.disable(true); el.evaluateSend.disabled = true; }
    else el.evaluateSend.disabled = false;
    setStatus(el.evaluateStatus, 'error', code === 'already_evaluated' ? tr('alreadyEvaluated') : codedLine(tr('notSentCode', { code: '', message: '' }).trim(), code, msg.message || ''));
    return;
  }
  if (D.groupPending && ['unknown_group', 'bad_message', 'store_unavailable', 'forbidden'].includes(code)) {
    D.groupPending = null;
    setStatus(el.groupsStatus, 'error', codedLine(tr('groupError'), code, msg.message || ''));
    return;
  }
  if (d && d.watchPending && (code === 'forbidden' || code === 'unknown_session')) {
    d.watchPending = false;
    d.refused = code;
    renderDetailNote();
    return;
  }
  if (d && d.whisperPending && ['forbidden', 'bad_state', 'unknown_session', 'bad_message'].includes(code)) {
    d.whisperPending = null;
    const what = { forbidden: 'whisperForbidden', bad_state: 'whisperEnded', unknown_session: 'whisperUnknown' }[code] || 'whisperError';
    el.whisperStatus.className = 'whisper-status error';
    el.whisperStatus.replaceChildren(h('span', { 'aria-hidden': 'true', text: '⚠ ' }), codedLine(tr(what), code, msg.message || ''));
    return;
  }
  banner(`err-${code}`, 'error', tr('errorCode', { code, message: msg.message || '' }));
}

// The server answers each whisper in order: `done` when the rep has it, or an error.
function onDone(msg) {
  const d = D.detail;
  if (msg.request === 'evaluate') {
    if (d && d.evalPending && msg.session === d.id) {
      d.evalPending = false;
      d.evaluated = true;
      if (d.form) d.form.disable(true);
      el.evaluateSend.disabled = true;
      setStatus(el.evaluateStatus, 'ok', tr('trainerEvalSent'));
    }
    return;
  }
  if (msg.request !== 'whisper' || !d || !d.whisperPending || msg.session !== d.id) return;
  const { text } = d.whisperPending;
  d.whisperPending = null;
  const t = new Date().toLocaleTimeString(LANG === 'nl' ? 'nl-NL' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  el.whisperStatus.className = 'whisper-status sent';
  el.whisperStatus.replaceChildren(h('span', { 'aria-hidden': 'true', text: '✓ ' }), tr('whisperSent', { t, text }));
}

function onCluster(msg) {
  D.cluster = { mqtt: msg.mqtt || 'off', nodes: Array.isArray(msg.nodes) ? msg.nodes : [] };
  banner('mqtt', 'warn', D.cluster.mqtt === 'reconnecting' ? tr('mqttReconnecting') : '');
  for (const b of el.banners.querySelectorAll('[data-key^="node-"]')) b.remove();
  for (const n of D.cluster.nodes) if (n.online === false) banner(`node-${n.node}`, 'warn', tr('nodeOffline', { node: n.node }));
  el.dashNodes.replaceChildren(...(D.cluster.nodes.length > 1 ? D.cluster.nodes.map((n) =>
    h('span', { class: `node ${n.online ? 'on' : 'off'}`, title: `${n.node}: ${n.online ? 'online' : 'offline'}` },
      h('span', { 'aria-hidden': 'true', text: n.online ? '● ' : '○ ' }), `${n.node} ${n.online ? 'online' : 'offline'}`)) : []));
}

// ---------------------------------------------------------------- the grid

function onCall(msg) {
  if (!msg.session) return;
  let c = D.calls.get(msg.session);
  if (!c) {
    c = { msg, row: null, endedAt: null, seenRunning: false };
    D.calls.set(msg.session, c);
  }
  c.msg = msg;
  if (ENDED.has(msg.status)) {
    // Seen running here: it stopped now. Seen only once done: its audio time, if any, says
    // how long it ran (paused time aside); else, as far as we know, until now.
    if (c.endedAt === null) c.endedAt = c.seenRunning || !(msg.at > 0) ? nowS() : (msg.created_at || 0) + msg.at;
  } else {
    c.seenRunning = true;
    c.endedAt = null;
  }
  D.dirty.add(msg.session);
  schedule();
}

function schedule() {
  if (D.frame) return;
  D.frame = requestAnimationFrame(flush);
}

/** One batch of grid changes per frame, whatever the message rate. */
function flush() {
  D.frame = 0;
  for (const id of D.dirty) {
    const c = D.calls.get(id);
    if (!c) continue;
    if (!c.row) insertRow(c);
    renderRow(c);
  }
  D.dirty.clear();
  renderCount();
}

function elapsedS(c) {
  const m = c.msg;
  const end = c.endedAt !== null ? c.endedAt : nowS();
  return Math.max(0, end - (Number(m.created_at) || end));
}
function elapsedText(c) { return fmtClock(elapsedS(c)) || '0:00'; }
function minutesText(c) { return tr('minutes', { n: Math.floor(elapsedS(c) / 60) }); }

function insertRow(c) {
  const id = c.msg.session;
  const parts = {};
  const mk = (name, tag = 'span', cls = name) => { parts[name] = h(tag, { class: cls }); return parts[name]; };
  const btn = h('div', { class: 'call', role: 'button', tabindex: '0' },
    h('div', { class: 'call-head' }, mk('title', 'span', 'call-title'), mk('status', 'span', 'status-chip'), mk('elapsed', 'span', 'elapsed')),
    mk('private', 'div', 'call-private'),
    h('div', { class: 'call-people' }, mk('rep', 'div', 'person'), mk('customer', 'div', 'person')),
    h('div', { class: 'call-talk' },
      h('div', { class: 'bar small-bar', 'aria-hidden': 'true' }, mk('talkRep', 'div', 'bar-rep'), mk('talkCust', 'div', 'bar-cust'), mk('target', 'div', 'bar-target')),
      mk('talkLabel', 'span', 'call-talk-label')),
    mk('nudge', 'div', 'call-nudge'),
    h('div', { class: 'call-foot' }, mk('check', 'span', 'call-check'), mk('warn', 'span', 'warn-badge')));
  btn.dataset.session = id;
  btn.addEventListener('click', () => openDetail(id));
  btn.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openDetail(id); }
  });
  const li = h('li', { class: 'call-cell' }, btn);
  li.dataset.session = id;
  c.row = { li, btn, parts };
  // Keyed rows in a stable order (oldest first): a new call never moves the ones on screen.
  const created = Number(c.msg.created_at) || 0;
  let before = null;
  for (const other of el.grid.children) {
    const o = D.calls.get(other.dataset.session);
    const oc = o ? Number(o.msg.created_at) || 0 : 0;
    if (oc > created || (oc === created && other.dataset.session > id)) { before = other; break; }
  }
  el.grid.insertBefore(li, before);
}

function personText(p) {
  if (!p) return null;
  const ok = !!p.consented;
  const scopes = Array.isArray(p.scopes) ? p.scopes.map((s) => tr(`scope_${s}`)).join(', ') : '';
  return { ok, text: `${p.name || roleName(p.role)}`, role: roleName(p.role), detail: p.connected === false ? tr('notJoinedYet') : (ok ? scopes : tr('consentNo')) };
}

function renderPerson(node, p, role) {
  const info = personText(p);
  const key = info ? `${info.ok}|${info.text}|${info.detail}` : `none|${role}`;
  if (node.dataset.key === key) return;
  node.dataset.key = key;
  if (!info) {
    node.replaceChildren(h('span', { class: 'tick no', 'aria-hidden': 'true' }), h('span', { class: 'who muted', text: roleName(role) }), h('span', { class: 'p-scopes', text: tr('notJoinedYet') }));
    return;
  }
  node.replaceChildren(
    h('span', { class: `tick ${info.ok ? 'yes' : 'no'}`, 'aria-hidden': 'true', text: info.ok ? '✓' : '' }),
    h('span', { class: 'who', text: info.text }),
    h('span', { class: 'role', text: info.role }),
    h('span', { class: 'p-scopes', text: info.detail, title: info.detail }));
  node.setAttribute('title', `${info.text} (${info.role}): ${info.ok ? tr('consentYes') : tr('consentNo')}${info.detail ? ` — ${info.detail}` : ''}`);
}

function renderStatus(node, status) {
  const s = STATUS_ICON[status] ? status : 'waiting';
  const key = s;
  if (node.dataset.status === key) return;
  node.dataset.status = key;
  node.className = `status-chip ${s}`;
  node.replaceChildren(h('span', { class: 'status-icon', 'aria-hidden': 'true', text: STATUS_ICON[s] }), tr(`status_${s}`));
}

function talkShare(t) {
  if (!t) return null;
  const r = Number(t.rep) || 0;
  const c = Number(t.customer) || 0;
  return r + c > 0 ? r / (r + c) : null;
}

function renderRow(c) {
  const m = c.msg;
  const { li, btn, parts } = c.row;
  const priv = !!m.private;
  li.classList.toggle('private', priv);
  li.classList.toggle('ended', ENDED.has(m.status));
  li.dataset.status = m.status || '';
  if (priv) {
    setText(parts.private, `${tr('privateCall', { t: minutesText(c) })}`);
    renderStatus(parts.status, m.status);
    setAttr(btn, 'aria-label', `${tr('privateAria', { t: minutesText(c) })}, ${tr(`status_${m.status}`)}`);
    return;
  }
  const title = m.title || tr('untitled');
  setText(parts.title, title);
  parts.title.title = title;
  renderStatus(parts.status, m.status);
  setText(parts.elapsed, elapsedText(c));
  const ps = Array.isArray(m.participants) ? m.participants : [];
  renderPerson(parts.rep, ps.find((p) => p.role === 'rep'), 'rep');
  renderPerson(parts.customer, ps.find((p) => p.role === 'customer'), 'customer');
  const w = talkShare(m.talk_window);
  const target = typeof m.target_rep_share === 'number' ? m.target_rep_share : null;
  parts.talkRep.style.width = w === null ? '0' : pct(w);
  parts.talkCust.style.width = w === null ? '0' : pct(1 - w);
  parts.target.hidden = target === null;
  if (target !== null) parts.target.style.left = pct(target);
  const over = w !== null && target !== null && w > target + 0.15;
  parts.talkLabel.classList.toggle('over', over);
  setText(parts.talkLabel, w === null ? tr('talkNone')
    : `${over ? '▲ ' : ''}${target === null ? tr('talkRepShareNoTarget', { p: pct(w) }) : tr('talkRepShare', { p: pct(w), t: pct(target) })}`);
  const n = m.last_nudge;
  if (n && n.text) {
    const manual = n.rule === 'manual';
    const at = fmtClock(n.at);
    setText(parts.nudge, `${manual ? '✉' : '⚑'} ${n.text}${at ? ` · ${at}` : ''}`);
    parts.nudge.classList.toggle('none', false);
    parts.nudge.title = `${tr('lastNudge')}: ${n.text}`;
  } else {
    setText(parts.nudge, tr('noNudgeYet'));
    parts.nudge.classList.toggle('none', true);
    parts.nudge.title = '';
  }
  const total = Number(m.checklist_total) || 0;
  const done = Number(m.checklist_done) || 0;
  setText(parts.check, total ? `☑ ${tr('checklistProgress', { done, total })}` : '');
  parts.check.style.setProperty('--done', total ? String(done / total) : '0');
  const warnings = Array.isArray(m.warnings) ? m.warnings : [];
  parts.warn.hidden = !warnings.length;
  setText(parts.warn, warnings.length ? `⚠ ${tr('keepsFiring', { rules: warnings.map(ruleName).join(', ') })}` : '');
  setAttr(btn, 'aria-label', tr('rowAria', { title, status: tr(`status_${m.status}`), t: elapsedText(c) })
    + (warnings.length ? `, ${tr('keepsFiring', { rules: warnings.map(ruleName).join(', ') })}` : ''));
}

function renderCount() {
  let live = 0; let priv = 0; let other = 0;
  for (const c of D.calls.values()) {
    if (c.msg.private) priv++;
    else if (c.msg.status === 'live') live++;
    else other++;
  }
  setText(el.boardCount, D.calls.size ? tr('callsSummary', { live, other, priv }) : '');
  el.boardEmpty.hidden = D.calls.size > 0 || !D.everWelcomed;
}

/** Elapsed times tick once a second, in one frame. */
function tick() {
  if (el.board.hidden && !D.detail) return;
  for (const c of D.calls.values()) {
    if (!c.row) continue;
    if (c.msg.private) setText(c.row.parts.private, `${tr('privateCall', { t: minutesText(c) })}`);
    else setText(c.row.parts.elapsed, elapsedText(c));
  }
  if (D.detail) {
    const c = D.calls.get(D.detail.id);
    if (c) setText(el.detailElapsed, elapsedText(c));
  }
}

// ---------------------------------------------------------------- one call in detail

function openDetail(id) {
  if (D.detail && D.detail.id === id) return;
  if (D.detail) closeDetail(false);
  D.detail = {
    id,
    watchPending: true,
    refused: null,
    lines: new Set(),
    nudgeIds: new Set(),
    audio: {},
    state: null,
    whisperPending: null,
    ended: false,
    form: null, // the evaluation form, once the desk sends it
    evalPending: false,
    evaluated: false,
  };
  el.evaluateRows.replaceChildren();
  el.evaluateForm.hidden = true;
  el.evaluateEmpty.hidden = false;
  el.evaluateSend.disabled = false;
  setStatus(el.evaluateStatus, '', '');
  el.detailTranscript.replaceChildren();
  el.detailNudges.replaceChildren(h('li', { class: 'muted empty', text: tr('noNudges') }));
  el.detailChecklist.replaceChildren();
  el.detailChecklistCount.textContent = '';
  el.detailAudio.replaceChildren(h('li', { class: 'muted', text: tr('noAudioIssues') }));
  el.whisperStatus.textContent = '';
  el.whisperStatus.className = 'whisper-status';
  el.whisperText.value = '';
  renderWhisperCount();
  for (const k of ['mTalkAll', 'mMonologue', 'mQuestions', 'mWpm', 'mInterruptions']) el[k].textContent = '—';
  el.detailTalkRep.style.width = '0';
  el.detailTalkCust.style.width = '0';
  el.detailTalkLabel.textContent = tr('talkNone');
  el.detailTalkBar.setAttribute('aria-label', tr('talkNone'));
  el.board.hidden = true;
  el.detail.hidden = false;
  renderDetailHead();
  renderDetailNote();
  send({ type: 'watch', session: id });
  for (const img of [el.detailTimeline, el.detailTalkline]) { img.hidden = true; img.removeAttribute('src'); }
  el.detailPicturesNote.hidden = false;
  refreshPictures(D.detail);
  el.detailTitle.focus();
  window.scrollTo(0, 0);
}

// The server draws the call's timeline and talk share over time (SVG, as in the report);
// the detail view fetches them with the key in a header, every few seconds while live.
const PICTURES_EVERY_MS = 5000;

async function refreshPictures(d) {
  if (D.detail !== d) return;
  const pictures = [['timeline', el.detailTimeline, 'timelineAlt'], ['talk', el.detailTalkline, 'talklineAlt']];
  let shown = 0;
  for (const [which, img, alt] of pictures) {
    try {
      const res = await fetch(`/v1/sessions/${encodeURIComponent(d.id)}/${which}.svg`, {
        headers: { Authorization: `Bearer ${D.key}` }, cache: 'no-store',
      });
      if (!res.ok || D.detail !== d) continue;
      const url = URL.createObjectURL(await res.blob());
      const old = img.src;
      img.src = url; // an <img> never runs anything inside the SVG
      img.alt = tr(alt);
      img.hidden = false;
      if (old && old.startsWith('blob:')) URL.revokeObjectURL(old);
      shown += 1;
    } catch { /* the next round tries again */ }
  }
  if (D.detail !== d) return;
  el.detailPicturesNote.hidden = shown > 0;
  if (!d.ended) d.picturesTimer = setTimeout(() => refreshPictures(d), PICTURES_EVERY_MS);
}

function closeDetail(focusRow = true) {
  const d = D.detail;
  if (!d) return;
  clearTimeout(d.picturesTimer);
  send({ type: 'unwatch', session: d.id });
  D.detail = null;
  el.detail.hidden = true;
  if (D.everWelcomed && D.key) el.board.hidden = false;
  const c = D.calls.get(d.id);
  if (focusRow && c && c.row) c.row.btn.focus();
}

function detailParticipants() {
  const d = D.detail;
  const c = D.calls.get(d.id);
  if (d.state && Array.isArray(d.state.participants)) return d.state.participants;
  return c && Array.isArray(c.msg.participants) ? c.msg.participants : [];
}

function speakerName(role) {
  const p = detailParticipants().find((x) => x.role === role && x.name);
  return p ? p.name : roleName(role);
}

function renderDetailHead() {
  const d = D.detail;
  if (!d) return;
  const c = D.calls.get(d.id);
  const m = c ? c.msg : { status: d.state ? d.state.status : 'waiting' };
  const title = m.private ? tr('privateCall', { t: c ? minutesText(c) : '' }) : (m.title || (d.state && d.state.title) || tr('untitled'));
  setText(el.detailTitle, title);
  renderStatus(el.detailStatus, (d.state && !c ? d.state.status : m.status) || 'waiting');
  setText(el.detailElapsed, c ? elapsedText(c) : '');
  const ps = m.private ? [] : detailParticipants().filter((p) => p.role === 'rep' || p.role === 'customer');
  el.detailPeople.replaceChildren(...ps.map((p) => {
    const info = personText(p);
    return h('span', { class: 'person' },
      h('span', { class: `tick ${info.ok ? 'yes' : 'no'}`, 'aria-hidden': 'true', text: info.ok ? '✓' : '' }),
      h('span', { class: 'who', text: info.text }), h('span', { class: 'role', text: info.role }),
      h('span', { class: 'p-scopes', text: info.detail }));
  }));
  // Whose words are not shown: a party without the transcript scope.
  const missing = ps.filter((p) => p.consented && Array.isArray(p.scopes) && !p.scopes.includes('transcript'));
  let note = '';
  if (missing.length >= 2) note = tr('transcriptNotAllowedBoth');
  else if (missing.length === 1) note = tr('transcriptNotAllowed', { who: tr(missing[0].role === 'rep' ? 'theRep' : 'theCustomer') });
  el.detailTranscriptNote.hidden = !note;
  setText(el.detailTranscriptNote, note);
  const quick = c && Array.isArray(c.msg.whispers) ? c.msg.whispers : [];
  const qkey = quick.join('\n');
  if (el.whisperQuick.dataset.key !== qkey) {
    el.whisperQuick.dataset.key = qkey;
    el.whisperQuick.replaceChildren(...quick.map((line) => {
      const b = h('button', { type: 'button', class: 'btn small quick', text: line });
      b.addEventListener('click', () => sendWhisper(line));
      return b;
    }));
  }
  if (!d.refused && c && c.msg.private) d.refused = 'forbidden';
  renderDetailNote();
}

function renderDetailNote() {
  const d = D.detail;
  if (!d) return;
  let text = '';
  let cls = 'detail-note';
  if (d.refused === 'forbidden') { text = tr('detailRefused'); cls += ' refused'; }
  else if (d.refused === 'unknown_session') { text = tr('detailUnknown'); cls += ' refused'; }
  else if (d.ended) { text = tr('callEndedNote'); cls += ' info'; }
  el.detailNote.className = cls;
  el.detailNote.hidden = !text;
  el.detailNote.replaceChildren();
  if (text) {
    el.detailNote.append(h('span', { 'aria-hidden': 'true', text: d.refused ? '⊘ ' : 'ℹ ' }), text);
    if (d.refused) el.detailNote.append(' ', h('code', { text: d.refused }));
  }
  el.detailBody.hidden = !!d.refused;
}

function detailEvent(msg) {
  const d = D.detail;
  if (!d || msg.session !== d.id) return;
  if (msg.type !== 'call') {
    d.watchPending = false;
    if (d.refused) { d.refused = null; }
  }
  switch (msg.type) {
    case 'call':
      if (!msg.private && d.refused === 'forbidden' && !d.watchPending) {
        // the parties allowed trainer view again: ask once more
        d.refused = null;
        d.watchPending = true;
        send({ type: 'watch', session: d.id });
      }
      if (ENDED.has(msg.status)) d.ended = true;
      return renderDetailHead();
    case 'state':
      d.state = msg;
      if (msg.status === 'ended') d.ended = true;
      return renderDetailHead();
    case 'metrics': return renderDetailMetrics(msg);
    case 'nudge': return addDetailNudge(msg);
    case 'transcript': return addDetailLine(msg);
    case 'checklist': return renderDetailChecklist(msg);
    case 'audio_check': return renderDetailAudio(msg);
    case 'form': return renderEvaluateForm(msg);
    case 'report':
      d.ended = true;
      return renderDetailNote();
    default: return undefined;
  }
}

function renderDetailMetrics(m) {
  const w = talkShare(m.talk_window);
  const all = talkShare(m.talk);
  const c = D.calls.get(D.detail.id);
  const target = c && typeof c.msg.target_rep_share === 'number' ? c.msg.target_rep_share : null;
  if (w !== null) {
    el.detailTalkRep.style.width = pct(w);
    el.detailTalkCust.style.width = pct(1 - w);
    const label = target === null ? tr('talkRepShareNoTarget', { p: pct(w) }) : tr('talkRepShare', { p: pct(w), t: pct(target) });
    const over = target !== null && w > target + 0.15;
    setText(el.detailTalkLabel, `${over ? '▲ ' : ''}${label} · ${tr('customer')} ${pct(1 - w)}`);
    el.detailTalkLabel.classList.toggle('over', over);
    el.detailTalkBar.setAttribute('aria-label', tr('talkBarAria', { p: pct(w), t: target === null ? '—' : pct(target) }));
  }
  el.detailTalkTarget.hidden = target === null;
  if (target !== null) el.detailTalkTarget.style.left = pct(target);
  if (all !== null) setText(el.mTalkAll, `${tr('rep')} ${pct(all)} · ${tr('customer')} ${pct(1 - all)}`);
  if ('longest_monologue_s' in m) setText(el.mMonologue, fmtSeconds(m.longest_monologue_s));
  if (m.questions && typeof m.questions === 'object') setText(el.mQuestions, `${m.questions.open ?? 0} / ${m.questions.closed ?? 0}`);
  if ('wpm' in m) setText(el.mWpm, typeof m.wpm === 'number' && isFinite(m.wpm) ? String(Math.round(m.wpm)) : '—');
  if ('interruptions' in m) setText(el.mInterruptions, String(m.interruptions));
  el.detail.dataset.metricsAt = String(m.at ?? '');
}

function addDetailNudge(n) {
  const d = D.detail;
  const id = n.id || `${n.rule}:${n.at}:${n.text}`;
  if (d.nudgeIds.has(id)) return;
  d.nudgeIds.add(id);
  const list = el.detailNudges;
  const empty = list.querySelector('.empty');
  if (empty) empty.remove();
  const manual = n.rule === 'manual';
  const ev = n.evidence && typeof n.evidence === 'object' ? n.evidence : {};
  const who = manual ? (ev.by === 'trainer' ? tr('fromTrainer', { name: ev.from || '' }) : tr('fromName', { name: ev.from || '' })) : ruleName(n.rule);
  const sev = n.severity === 'warn' ? 'warn' : 'info';
  const li = h('li', { class: `nl ${manual ? 'manual' : sev}` },
    h('span', { class: 'nl-icon', 'aria-hidden': 'true', text: manual ? '✉' : sev === 'warn' ? '⚠' : '⚑' }),
    h('span', { class: 'nl-at', text: fmtClock(n.at) }),
    h('span', { class: 'nl-text', text: n.text || '' }),
    h('span', { class: 'nl-rule', text: who }));
  li.dataset.rule = n.rule || '';
  list.prepend(li); // newest first
  while (list.children.length > MAX_NUDGES) list.lastElementChild.remove();
}

function addDetailLine(t) {
  if (!t.final) return; // trainers get finals only
  const d = D.detail;
  const key = `${t.speaker}:${t.segment}:${t.start}`;
  if (d.lines.has(key)) return;
  d.lines.add(key);
  const list = el.detailTranscript;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const li = h('li', {},
    h('span', { class: 'ts', text: fmtClock(t.start) }),
    h('span', { class: `spk ${t.speaker}`, text: speakerName(t.speaker) }),
    h('span', { class: 'txt', text: t.text || '' }));
  if (t.question === 'open' || t.question === 'closed') {
    li.querySelector('.txt').before(h('span', { class: `qbadge ${t.question}`, text: tr(t.question === 'open' ? 'qOpen' : 'qClosed') }));
  }
  li.dataset.speaker = t.speaker;
  list.append(li);
  while (list.children.length > MAX_LINES) list.firstElementChild.remove();
  if (nearBottom) list.scrollTop = list.scrollHeight;
}

function renderDetailChecklist(msg) {
  const items = Array.isArray(msg.items) ? msg.items : [];
  const done = items.filter((i) => i.done).length;
  setText(el.detailChecklistCount, items.length ? `${done}/${items.length}` : '');
  el.detailChecklist.replaceChildren(...items.map((i) => {
    const at = i.done ? fmtClock(i.at) : '';
    const li = h('li', { class: i.done ? 'done' : 'open' },
      h('span', { class: 'ck-mark', 'aria-hidden': 'true', text: i.done ? '✓' : '○' }),
      h('span', { class: 'ck-label', text: i.label || i.id || '' }),
      at ? h('span', { class: 'ck-at', text: at }) : '');
    li.setAttribute('aria-label', i.done ? tr('coveredAt', { label: i.label, at: at ? tr('coveredAtTime', { t: at }) : '', who: i.speaker === 'customer' ? tr('byCustomer') : i.speaker === 'rep' ? tr('byRep') : '' }) : tr('notYet', { label: i.label }));
    return li;
  }));
}

function renderDetailAudio(msg) {
  const d = D.detail;
  if (msg.speaker !== 'rep' && msg.speaker !== 'customer') return;
  d.audio[msg.speaker] = msg;
  const rows = ['rep', 'customer'].filter((sp) => d.audio[sp]).map((sp) => {
    const a = d.audio[sp];
    const bad = a.issue !== 'ok' || a.reliable === false;
    return h('li', { class: bad ? 'problem' : 'good' },
      h('span', { class: 'ac-icon', 'aria-hidden': 'true', text: bad ? '!' : '✓' }),
      h('span', { class: 'who', text: tr(sp === 'rep' ? 'repMic' : 'customerMic') }),
      h('span', { class: 'ac-issue', text: tr(`issueWord_${a.issue}`) + (a.reliable === false ? ` · ${tr('figuresPaused')}` : '') }),
      a.text ? h('span', { class: 'ac-text', text: a.text }) : '');
  });
  el.detailAudio.replaceChildren(...(rows.length ? rows : [h('li', { class: 'muted', text: tr('noAudioIssues') })]));
}

// ---------------------------------------------------------------- the trainer's evaluation

function setStatus(node, kind, content) {
  node.className = `form-status ${kind}`;
  node.replaceChildren();
  if (!content) return;
  node.append(h('span', { 'aria-hidden': 'true', text: kind === 'ok' ? '✓ ' : kind === 'error' ? '⚠ ' : '' }), content);
}

function renderEvaluateForm(msg) {
  const d = D.detail;
  if (!d || d.form || !Array.isArray(msg.sections)) return;
  d.form = evalForm(msg, { prefix: 'tr' });
  el.evaluateRows.replaceChildren(d.form.node);
  el.evaluateForm.hidden = false;
  el.evaluateEmpty.hidden = true;
}

function onEvaluateSubmit(ev) {
  ev.preventDefault();
  const d = D.detail;
  if (!d || !d.form || d.evalPending || d.evaluated) return;
  const { ticks, notes } = d.form.read();
  if (!Object.keys(ticks).length && !Object.keys(notes).length) {
    setStatus(el.evaluateStatus, 'error', tr('tickSomething'));
    return;
  }
  if (!send({ type: 'evaluate', session: d.id, ticks, notes })) return;
  d.evalPending = true;
  el.evaluateSend.disabled = true;
  setStatus(el.evaluateStatus, '', tr('sending'));
}

// ---------------------------------------------------------------- groups and reps

function openGroups() {
  if (D.detail) closeDetail(false);
  D.groupsOpen = true;
  el.board.hidden = true;
  el.groups.hidden = false;
  listGroups();
  renderGroups();
  el.groupsH.focus();
}

function listGroups() {
  if (send({ type: 'list_groups' })) D.groupPending = D.groupPending || 'list';
}

function closeGroups() {
  D.groupsOpen = false;
  el.groups.hidden = true;
  if (D.everWelcomed && D.key) el.board.hidden = false;
  el.btnGroups.focus();
}

function onGroups(msg) {
  D.groups = Array.isArray(msg.groups) ? msg.groups : [];
  if (D.groupPending === 'create') {
    setStatus(el.groupsStatus, 'ok', tr('groupCreated'));
    el.groupName.value = '';
  }
  D.groupPending = null;
  renderGroups();
}

function onRepLink(msg) {
  D.groupPending = null;
  D.repLink = msg;
  setStatus(el.groupsStatus, '', '');
  listGroups(); // the new rep joins the list
  renderGroups();
  const box = el.groupList.querySelector('.rep-link input');
  if (box) box.focus();
}

function historyHref(kind, id) {
  return `/history?${kind}=${encodeURIComponent(id)}`;
}

function renderGroups() {
  el.groupsEmpty.hidden = D.groups.length > 0;
  el.groupList.replaceChildren(...D.groups.map((g) => {
    const reps = Array.isArray(g.reps) ? g.reps : [];
    const inputId = `add-rep-${g.id}`;
    const input = h('input', { id: inputId, maxlength: '80', autocomplete: 'off', required: 'required', placeholder: tr('egAnna') });
    const form = h('form', { class: 'form add-rep' },
      h('label', { for: inputId, text: tr('addRepTo', { group: g.name }) }),
      h('div', { class: 'whisper-row' }, input, h('button', { type: 'submit', class: 'btn', text: tr('addRep') })));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!name) { input.focus(); return; }
      if (!send({ type: 'add_rep', group: g.id, name })) return;
      D.groupPending = 'add';
      setStatus(el.groupsStatus, '', tr('sending'));
    });
    const list = h('ul', { class: 'rep-list' }, ...reps.map((r) => {
      const li = h('li', {}, h('span', { class: 'who', text: r.name }),
        h('a', { class: 'btn small', href: historyHref('rep', r.id), text: tr('repProgress'), 'aria-label': tr('repProgressOf', { name: r.name }) }));
      li.dataset.rep = r.id;
      return li;
    }));
    const card = h('li', { class: 'card group' },
      h('div', { class: 'group-head' },
        h('h2', { text: g.name }),
        h('span', { class: 'muted', text: tr('repCount', { n: reps.length }) }),
        h('a', { class: 'btn small', href: historyHref('group', g.id), text: tr('groupProgress'), 'aria-label': tr('groupProgressOf', { group: g.name }) })),
      reps.length ? list : h('p', { class: 'muted', text: tr('noReps') }));
    const link = D.repLink && D.repLink.group === g.id ? D.repLink : null;
    if (link) card.append(repLinkBox(link));
    card.append(form);
    card.dataset.group = g.id;
    return card;
  }));
}

/** The rep's personal link, shown this once: the server keeps only its hash. */
function repLinkBox(link) {
  const id = `rep-link-${link.rep}`;
  const input = h('input', { id, readonly: 'readonly', value: link.url });
  input.addEventListener('focus', () => input.select());
  const copy = h('button', { type: 'button', class: 'btn small', text: tr('copy') });
  copy.addEventListener('click', async () => {
    let ok = false;
    try { await navigator.clipboard.writeText(input.value); ok = true; } catch {
      input.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
    }
    copy.textContent = ok ? tr('copied') : tr('selectCopy');
    setTimeout(() => { copy.textContent = tr('copy'); }, 1800);
  });
  const done = h('button', { type: 'button', class: 'btn small ghost', text: tr('repLinkDone') });
  done.addEventListener('click', () => { D.repLink = null; renderGroups(); });
  return h('div', { class: 'rep-link', role: 'group', 'aria-labelledby': `${id}-l` },
    h('label', { id: `${id}-l`, for: id, text: tr('repLinkFor', { name: link.name }) }),
    h('div', { class: 'copyrow' }, input, copy),
    h('p', { class: 'rep-link-once' }, h('span', { 'aria-hidden': 'true', text: '⚠ ' }), tr('repLinkOnce')),
    done);
}

function onGroupSubmit(ev) {
  ev.preventDefault();
  const name = el.groupName.value.trim();
  if (!name) { el.groupName.focus(); return; }
  if (!send({ type: 'create_group', name })) return;
  D.groupPending = 'create';
  setStatus(el.groupsStatus, '', tr('sending'));
}

// ---------------------------------------------------------------- whispers

function renderWhisperCount() {
  setText(el.whisperCount, tr('whisperCount', { n: el.whisperText.value.length }));
}

function sendWhisper(text) {
  const d = D.detail;
  text = String(text || '').trim().slice(0, 200);
  if (!d || !text) return;
  if (!send({ type: 'whisper', session: d.id, text })) return;
  d.whisperPending = { text, at: Date.now() };
  el.whisperStatus.className = 'whisper-status';
  el.whisperStatus.textContent = tr('whisperSending', { text });
}

function onWhisperSubmit(ev) {
  ev.preventDefault();
  const text = el.whisperText.value;
  if (!text.trim()) { el.whisperText.focus(); return; }
  sendWhisper(text);
  el.whisperText.value = '';
  renderWhisperCount();
}

// ---------------------------------------------------------------- start

function init() {
  applyStrings(document);
  el.signinForm.addEventListener('submit', onSignIn);
  el.btnSignout.addEventListener('click', signOut);
  el.detailBack.addEventListener('click', () => closeDetail(true));
  el.whisperForm.addEventListener('submit', onWhisperSubmit);
  el.evaluateForm.addEventListener('submit', onEvaluateSubmit);
  el.btnGroups.addEventListener('click', openGroups);
  el.groupsBack.addEventListener('click', closeGroups);
  el.groupForm.addEventListener('submit', onGroupSubmit);
  el.whisperText.addEventListener('input', renderWhisperCount);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && D.detail && !ev.defaultPrevented) closeDetail(true);
    else if (ev.key === 'Escape' && D.groupsOpen && !ev.defaultPrevented) closeGroups();
  });
  setInterval(tick, 1000);
  renderWhisperCount();
  const key = load('session', KEY_STORE);
  el.signinName.value = load('local', NAME_STORE);
  if (key) {
    D.key = key;
    D.name = el.signinName.value;
    el.signin.hidden = true;
    startSession();
  } else {
    showSignIn();
  }
}

init();
