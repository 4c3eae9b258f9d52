// Sparring participant page: start or join a practice call, consent, microphone
// capture, and the live overlay (analysis indicator, talk share, nudges, checklist,
// transcript).
// Wire protocol v1: one WebSocket at /v1/live; JSON text frames, binary PCM audio frames.

import { LANG, applyStrings, fmtClock, fmtSeconds, pct, tr } from './i18n.js';
import { evalForm, openReportTab, reportLink, request, scorecardNode } from './scorecard.js';

const CLIENT = 'web/1.0';
const NUDGE_SHOW_MS = 8000; // a nudge fades after ~8 s, unless it says otherwise (show_s)
const NUDGE_FADE_MS = 1000;
const MAX_TRANSCRIPT_LINES = 300;
const MAX_HISTORY = 8; // the rep's overlay keeps the last nudges and whispers
const SLOW_SEND_BYTES = 2 * 1024 * 1024; // audio queued in the socket before we warn
const REP_STORE = 'sparring.rep.token'; // a rep's personal link, for this tab only
// The call this tab is in (token, name, device mode): a reload or a dropped connection
// rejoins it within the server's grace, without asking consent again.
const CALL_STORE = 'sparring.call';
const RETRY_FIRST_MS = 1000; // reconnect backoff: 1 s, doubling, at most 15 s
const RETRY_MAX_MS = 15000;
// Errors after which reconnecting cannot help: the call is gone or the token is wrong, or
// (`replaced`) another window took this place over, which a retry would only take back.
const FINAL_ERRORS = ['bad_token', 'token_expired', 'server_stopping', 'not_allowed_now', 'replaced'];
const RETENTION_DAYS = 90; // the server's default, when it names none
// A report link older than this before its expiry is made again on click.
const REPORT_LINK_MARGIN_MS = 60000;

/** "Rep", "Customer", … in the page's language. */
function roleLabel(r) { return tr(`role_${['rep', 'customer', 'observer', 'trainer'].includes(r) ? r : 'participant'}`); }
function roleLower(r) { return tr(`roleLower_${['rep', 'customer', 'observer', 'trainer'].includes(r) ? r : 'participant'}`); }

// Element references are taken once: the live panel may move into a picture-in-picture
// window, where document.getElementById no longer finds it.
const el = {};
for (const node of document.querySelectorAll('[id]')) {
  el[node.id.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = node;
}

const S = {
  ws: null,
  token: null, // the join token this page says hello with
  name: '',
  role: null,
  session: null,
  created: null, // the `created` answer, when this page started the call
  stereo: false,
  customerName: '',
  welcomed: false,
  consented: false,
  consentShown: false,
  live: false,
  ended: false,
  lastSeq: null,
  participants: [],
  mic: null,
  lines: new Map(), // "speaker:segment" -> {li, final}
  nudgeTimers: [],
  pip: null,
  slowWarned: false,
  audio: { rep: null, customer: null }, // the latest audio_check per microphone
  audioOk: '', // the server's words when a microphone was fine again ("sounds fine again")
  audioShown: 0, // which notice the slot shows when more than one microphone has one
  micCheck: 'idle', // the page's own microphone check: idle checking listening ok silent quiet clipping noisy
  talkText: null, // the talk-share texts from the last metrics, for when figures are measurable again
  repToken: '', // a rep's personal link (#rep=…): the call lands in their history
  repName: '',
  retentionDays: RETENTION_DAYS,
  form: null, // the call's evaluation form (`form`), kept for after the call
  reflect: null, // the rep's reflection form, once shown
  peer: null, // an observer's evaluation form
  rejoining: false, // said hello again after a drop or a reload; consent may stand
  retryMs: 0, // the next reconnect delay (0: none pending)
  retryTimer: null,
  lastError: '',
  peerPending: false, // an observer's evaluate on the live connection, waiting for its answer
  peerDone: false,
  scorecardShown: false,
  reportLink: null, // {href, expiresAt}: the short-lived link the report links open
};

// ---------------------------------------------------------------- small helpers

function show(...nodes) { for (const n of nodes) n.hidden = false; }
function hide(...nodes) { for (const n of nodes) n.hidden = true; }
function h(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
}

/** Show a message that must not be missed. `key` replaces an earlier alert with the same key. */
function alertMsg(kind, content, key) {
  if (key) for (const old of el.alerts.querySelectorAll(`[data-key="${key}"]`)) old.remove();
  const close = h('button', { class: 'x', type: 'button', 'aria-label': tr('dismiss'), text: '×' });
  const body = h('div', { class: 'alert-body' });
  if (content instanceof Node) body.append(content); else body.textContent = content;
  const box = h('div', { class: `alert ${kind}` }, body, close);
  if (key) box.dataset.key = key;
  close.addEventListener('click', () => box.remove());
  el.alerts.append(box);
  return box;
}
function clearAlert(key) {
  for (const old of el.alerts.querySelectorAll(`[data-key="${key}"]`)) old.remove();
}

function send(obj) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.ws.send(JSON.stringify(obj));
    return true;
  }
  return false;
}

/** The live socket. A join token starts with its node's name and a dot ("n1.…"): the path
 *  carries it, so that a load balancer sends every connection of a call to the node that
 *  holds its audio (docs/protocol.md, Many nodes). */
function wsUrl() {
  const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/live`;
  const node = nodeOf(S.token);
  return node ? `${base}?node=${encodeURIComponent(node)}` : base;
}

function nodeOf(token) {
  const t = String(token || '');
  const dot = t.indexOf('.');
  return dot > 0 ? t.slice(0, dot) : '';
}

function joinUrlFor(role) {
  const fromServer = S.created && S.created.join_urls && S.created.join_urls[role];
  if (fromServer) return new URL(fromServer, location.href).href;
  const token = S.created && S.created.tokens && S.created.tokens[role];
  return token ? `${location.origin}/#join=${encodeURIComponent(token)}` : '';
}

// ---------------------------------------------------------------- connection

/** Open the live connection; `first` is the message sent once it is open. */
function connect(first) {
  S.lastSeq = null;
  S.welcomed = false;
  const ws = new WebSocket(wsUrl());
  ws.binaryType = 'arraybuffer';
  S.ws = ws;
  ws.addEventListener('open', () => {
    clearAlert('conn');
    ws.send(JSON.stringify(first));
  });
  ws.addEventListener('message', (ev) => {
    if (typeof ev.data !== 'string') return; // the server sends no binary frames to us
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (ws !== S.ws) return;
    onMessage(msg);
  });
  ws.addEventListener('close', (ev) => {
    if (ws !== S.ws) return;
    onClosed(ev);
  });
  ws.addEventListener('error', () => { /* the close event follows and says more */ });
}

function helloMsg() {
  return {
    type: 'hello',
    token: S.token,
    name: S.name,
    client: CLIENT,
    audio: { format: 'pcm_s16le', rate: 16000, channels: S.stereo ? 2 : 1 },
  };
}

function onClosed(ev) {
  stopMic();
  S.live = false;
  if (S.ended) {
    renderIndicator({ live: false, ended: true });
    return;
  }
  if (mayReconnect(ev)) {
    scheduleReconnect();
    return;
  }
  if (S.lastError === 'replaced') { // the call goes on in the window that took over
    renderIndicator({ live: false, disconnected: true });
    alertMsg('warn', tr('replaced'), 'conn');
    hide(el.btnWithdraw, el.btnResume, el.pipWithdrawMirror, el.btnRejoin);
    return;
  }
  const why = ev.reason ? `: ${ev.reason}` : '';
  if (S.rejoining && !S.welcomed) { // the call is gone: join it anew, or start another
    S.rejoining = false;
    forgetCall();
    el.joinName.value = S.name;
    show(el.screenJoin);
  }
  if (!S.welcomed && !S.consentShown) {
    alertMsg('error', tr('couldNotJoin', { code: ev.code, why }), 'conn');
    setFormsBusy(false);
    return;
  }
  renderIndicator({ live: false, disconnected: true });
  alertMsg('error', tr('connClosed', { code: ev.code, why }), 'conn');
  hide(el.btnWithdraw, el.btnResume, el.pipWithdrawMirror);
  if (S.token) show(el.btnRejoin);
  setFormsBusy(false);
}

/** A call this page was in, dropped by the network or a restart of the page: retry. */
function mayReconnect(ev) {
  if (!S.token || !(S.welcomed || S.rejoining) || S.role === 'observer') return false;
  if (FINAL_ERRORS.includes(S.lastError)) return false;
  return ![1000, 1003, 1009].includes(ev.code);
}

function scheduleReconnect() {
  S.retryMs = S.retryMs ? Math.min(S.retryMs * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
  renderIndicator({ live: false, disconnected: true });
  alertMsg('warn', tr('reconnecting', { s: Math.round(S.retryMs / 1000) }), 'conn');
  clearTimeout(S.retryTimer);
  S.retryTimer = setTimeout(() => {
    S.rejoining = true;
    S.lastError = '';
    connect(helloMsg());
  }, S.retryMs);
}

function saveCall() {
  try {
    sessionStorage.setItem(CALL_STORE, JSON.stringify({
      token: S.token, name: S.name, stereo: S.stereo, customerName: S.customerName,
      consented: S.consented, created: S.created,
    }));
  } catch { /* private mode */ }
}

function forgetCall() {
  try { sessionStorage.removeItem(CALL_STORE); } catch { /* private mode */ }
}

function savedCall() {
  try { return JSON.parse(sessionStorage.getItem(CALL_STORE) || 'null'); } catch { return null; }
}

function checkSeq(msg) {
  if (typeof msg.seq !== 'number') return;
  if (S.lastSeq !== null && msg.seq !== S.lastSeq + 1) {
    const missed = msg.seq - S.lastSeq - 1;
    const what = missed > 0
      ? tr('missedMsgs', { n: missed, a: S.lastSeq, b: msg.seq })
      : tr('outOfOrder', { a: S.lastSeq, b: msg.seq });
    alertMsg('warn', `${what} ${tr('incomplete')}`, 'seq');
  }
  S.lastSeq = msg.seq;
}

function onMessage(msg) {
  checkSeq(msg);
  switch (msg.type) {
    case 'created': return onCreated(msg);
    case 'welcome': return onWelcome(msg);
    case 'state': return onState(msg);
    case 'metrics': return onMetrics(msg);
    case 'nudge': return showNudge(msg);
    case 'whisper': return showNudge({ ...msg, rule: 'manual' });
    case 'transcript': return onTranscript(msg);
    case 'checklist': return onChecklist(msg);
    case 'audio_check': return onAudioCheck(msg);
    case 'report': return onReport(msg);
    case 'form': return onForm(msg);
    case 'done': return onDone(msg);
    case 'error': return onError(msg);
    default: return undefined; // v1 may grow new message types: ignore what we do not know
  }
}

// ---------------------------------------------------------------- start / join

function setFormsBusy(busy) {
  el.startSubmit.disabled = busy;
  el.joinSubmit.disabled = busy;
}

function onStart(ev) {
  ev.preventDefault();
  const name = el.startName.value.trim();
  const title = el.startTitle.value.trim();
  S.stereo = el.startStereo.checked;
  S.customerName = el.startCustomerName.value.trim();
  if (!name || !title) return;
  if (S.stereo && !S.customerName) {
    el.startCustomerName.focus();
    alertMsg('warn', tr('enterCustomerName'), 'form');
    return;
  }
  clearAlert('form');
  S.name = name;
  rememberName(name);
  el.sessionTitle.textContent = title;
  setFormsBusy(true);
  const create = { type: 'create', title, language: el.startLanguage.value, playbook: 'default' };
  if (S.repToken) create.rep_token = S.repToken;
  connect(create);
}

function onCreated(msg) {
  S.created = msg;
  noteRetention(msg);
  S.session = msg.session;
  S.token = msg.tokens && msg.tokens.rep;
  S.role = 'rep';
  if (!S.token) {
    alertMsg('error', tr('noRepToken'), 'conn');
    return;
  }
  el.linkCustomer.value = joinUrlFor('customer');
  el.linkObserver.value = joinUrlFor('observer');
  el.inviteCustomer.hidden = S.stereo; // the customer sits at this device
  el.inviteH.textContent = S.stereo ? tr('inviteObserver') : tr('invitePartner');
  show(el.invite);
  send(helloMsg()); // continue as the rep on the same connection
}

function onJoin(ev) {
  ev.preventDefault();
  const name = el.joinName.value.trim();
  if (!name) return;
  S.name = name;
  rememberName(name);
  setFormsBusy(true);
  connect(helloMsg());
}

function rememberName(name) {
  try { localStorage.setItem('sparring.name', name); } catch { /* private mode */ }
}

function onWelcome(msg) {
  S.welcomed = true;
  S.retryMs = 0;
  clearAlert('conn');
  noteRetention(msg);
  if (msg.role) S.role = msg.role;
  if (msg.session) S.session = msg.session;
  if (msg.name) S.name = msg.name;
  if (msg.title) el.sessionTitle.textContent = msg.title;
  saveCall();
  if (S.rejoining) return; // the first state says whether our consent still stands
  enterConsent();
}

/** After a rejoin: back to the live view when the server kept our consent, else ask it. */
function resumeAfterRejoin(msg) {
  S.rejoining = false;
  const me = (msg.participants || []).find((p) => p.role === S.role && p.connected !== false);
  if (me && me.consented && S.role !== 'observer') {
    S.consented = true;
    saveCall();
    enterLive();
    startMic();
  } else {
    S.consented = false;
    S.consentShown = false;
    enterConsent();
  }
}

// ---------------------------------------------------------------- consent

function enterConsent() {
  hide(el.screenStart, el.screenJoin);
  setRoleUi();
  el.consentRole.textContent = S.stereo ? tr('roleRepStereo') : roleLower(S.role);
  if (S.stereo) {
    show(el.consentStereo);
    if (!el.consentCustomerName.value) el.consentCustomerName.value = S.customerName;
  }
  el.consentReport.textContent = consentReportText();
  el.consentMicNote.textContent = S.role === 'observer'
    ? `${tr('micObserver')} ${tr('observerConsentNote')}`
    : tr('micStartsAfter');
  S.consentShown = true;
  show(el.screenConsent);
  hide(el.screenLive);
  updateAgree();
  window.scrollTo(0, 0);
  el.consentAgree.focus({ preventScroll: true });
}

function updateAgree() {
  el.consentAgree.disabled = S.stereo
    && !(el.consentCustomerAgrees.checked && el.consentCustomerName.value.trim());
}

function scopes() {
  return [el.scopeCoaching, el.scopeTranscript, el.scopeTrainer]
    .filter((c) => c.checked).map((c) => c.value);
}

async function onAgree() {
  const sc = scopes();
  if (!sc.includes('coaching')) return;
  if (S.stereo) {
    const cname = el.consentCustomerName.value.trim();
    if (!el.consentCustomerAgrees.checked || !cname) return updateAgree();
    S.customerName = cname;
  }
  if (!send({ type: 'consent', granted: true, scopes: sc })) return;
  if (S.stereo) {
    send({ type: 'consent', granted: true, scopes: sc, on_behalf_of: 'customer', name: S.customerName });
  }
  S.consented = true;
  saveCall();
  enterLive();
  if (S.role !== 'observer') await startMic();
}

function onDecline() {
  send({ type: 'end' });
  S.ended = true;
  try { S.ws && S.ws.close(1000, 'declined'); } catch { /* already closed */ }
  hide(el.screenConsent, el.invite);
  alertMsg('info', tr('youLeft'), 'conn');
}

function onWithdraw() {
  send({ type: 'consent', granted: false });
  stopMic();
  S.consented = false;
  hide(el.btnWithdraw, el.pipWithdrawMirror);
  show(el.btnResume);
  // Until the server confirms, show paused right away: never claim analysis is on after a withdrawal.
  renderIndicator({ live: false, waiting_for: [S.stereo ? tr('waitRepAndCustomer') : tr('waitYou')] });
}

function onResume() { enterConsent(); }

// ---------------------------------------------------------------- live view

function isCoached() { return S.role === 'rep' || S.role === 'observer' || S.role === 'trainer'; }

function setRoleUi() {
  const coached = isCoached();
  el.talk.hidden = !coached;
  el.stats.hidden = !coached;
  el.btnEnd.textContent = S.role === 'rep' ? tr('endCall') : tr('leave');
  el.legendRep.textContent = S.role === 'rep' ? tr('you') : tr('rep');
  el.mic.hidden = S.role === 'observer';
}

function enterLive() {
  hide(el.screenConsent, el.btnResume, el.btnRejoin);
  show(el.screenLive, el.btnWithdraw);
  el.pipWithdrawMirror.hidden = !S.pip;
  el.btnPip.hidden = !('documentPictureInPicture' in window);
  show(el.audioSlot);
  renderAudio();
  window.scrollTo(0, 0);
  renderState();
}

function onState(msg) {
  S.live = !!msg.live;
  S.participants = Array.isArray(msg.participants) ? msg.participants : [];
  S.lastState = msg;
  if (msg.title) el.sessionTitle.textContent = msg.title;
  if (msg.session) S.session = msg.session;
  noteReturns(S.participants);
  if (S.rejoining && S.welcomed && msg.status !== 'ended') resumeAfterRejoin(msg);
  // A server that skips `welcome` still lets us through to the consent screen.
  if (!S.welcomed && !S.consentShown && S.token) enterConsent();
  renderState();
}

/** A language code as the page names it ("Dutch" / "Nederlandse"). */
function langName(code) {
  const names = Object.fromEntries(tr('langNames').split(',').map((pair) => pair.split('=')));
  return names[code] || code;
}

/** The create form marks the languages this server cannot transcribe (GET /v1/languages)
 *  and says what a call in one of them gets, and what install would bring it. */
async function loadLanguages() {
  try {
    const res = await fetch('/v1/languages', { cache: 'no-store' });
    if (!res.ok) return;
    const body = await res.json();
    S.languages = Object.fromEntries((body.languages || []).map((l) => [l.code, l]));
  } catch { return; /* an older server: every language as before */ }
  for (const option of el.startLanguage.options) {
    const info = S.languages[option.value];
    if (info && info.recognition !== 'on' && !option.dataset.mark) {
      option.dataset.mark = '1';
      option.textContent = `${option.textContent} ${tr('langNoAsrMark')}`;
    }
  }
  const first = [...el.startLanguage.options].find((o) => !o.dataset.mark);
  if (first && el.startLanguage.selectedOptions[0] && el.startLanguage.selectedOptions[0].dataset.mark) {
    el.startLanguage.value = first.value;
  }
  renderLanguageNote();
}

function renderLanguageNote() {
  const info = S.languages && S.languages[el.startLanguage.value];
  const note = el.startLanguageNote;
  if (!info || info.recognition === 'on') { note.hidden = true; return; }
  note.textContent = info.recognition === 'off'
    ? tr('langOffNote')
    : tr('langNoAsrNote', { language: langName(info.code), install: info.install || '' });
  note.hidden = false;
}

/** What the call's `state` says of speech recognition, as a notice that stays until it changes. */
function renderRecognition(msg) {
  const status = msg.recognition || 'on';
  if (status === S.recognitionShown) return;
  S.recognitionShown = status;
  clearAlert('asr');
  const language = langName(msg.language || 'en');
  if (status === 'unavailable') {
    alertMsg('warn', tr('asrUnavailable', { language, install: msg.recognition_install || '' }), 'asr');
  } else if (status === 'loading') {
    alertMsg('info', tr('asrLoading', { language }), 'asr');
  } else if (status === 'off') {
    alertMsg('info', tr('asrOff'), 'asr');
  }
}

/** "Bob is back": a party that was reconnecting is connected again. */
function noteReturns(participants) {
  const away = S.away || new Set();
  const now = new Set();
  for (const p of participants) {
    const key = `${p.role}`;
    if (p.reconnecting) now.add(key);
    else if (away.has(key) && p.connected !== false) {
      alertMsg('info', tr('partyBack', { name: p.name || roleLabel(p.role) }), `back-${key}`);
    }
  }
  S.away = now;
}

function renderState() {
  const msg = S.lastState || { live: false, waiting_for: [] };
  if (S.lastState) renderRecognition(msg);
  if (msg.status === 'ended') markEnded();
  if (S.ended) renderIndicator({ live: false, ended: true });
  else renderIndicator({ ...msg, live: !!msg.live && S.consented });
  renderParticipants();
  renderObserverNote();
  const dropped = msg.dropped_before_consent_s;
  if (typeof dropped === 'number' && dropped > 0) {
    el.dropped.textContent = tr('droppedAudio', { s: dropped.toFixed(1) });
    show(el.dropped);
  }
  // Keep the invite links in view until the customer has joined.
  if (S.created && !S.stereo) {
    const cust = S.participants.find((p) => p.role === 'customer' && p.connected !== false);
    el.invite.hidden = !!(cust && cust.consented) || S.ended;
  }
}

/** An observer sees what the parties' scopes allow; when that is nothing, the page says why. */
function renderObserverNote() {
  const note = el.observerNote;
  if (S.role !== 'observer') { note.hidden = true; return; }
  const party = (role) => S.participants.find((p) => p.role === role);
  const refused = (p) => !!(p && p.consented && Array.isArray(p.scopes) && !p.scopes.includes('trainer_view'));
  const noWords = (p) => !!(p && p.consented && Array.isArray(p.scopes) && p.scopes.includes('trainer_view') && !p.scopes.includes('transcript'));
  const rep = party('rep');
  const cust = party('customer');
  const lines = [];
  let kind = '';
  if (refused(rep) && refused(cust)) { lines.push(tr('observerNothingBoth')); kind = 'nothing'; }
  else if (refused(cust)) { lines.push(tr('observerNothingCustomer')); kind = 'nothing'; }
  else if (refused(rep)) { lines.push(tr('observerNothingRep')); kind = 'nothing'; }
  else {
    if (noWords(cust)) lines.push(tr('observerNoTranscriptCustomer'));
    if (noWords(rep)) lines.push(tr('observerNoTranscriptRep'));
    if (lines.length) kind = 'partial';
  }
  const text = lines.join(' ');
  if (note.textContent !== text) note.textContent = text;
  note.hidden = !text;
  note.dataset.kind = kind;
  note.classList.toggle('nothing', kind === 'nothing');
}

function renderIndicator(st) {
  const ind = el.indicator;
  let text;
  if (st.ended) text = tr('callEndedOff');
  else if (st.disconnected) text = tr('disconnectedOff');
  else if (st.live) text = tr('analysisOn');
  else {
    const w = Array.isArray(st.waiting_for) ? st.waiting_for.filter(Boolean) : [];
    text = w.length ? tr('analysisWaiting', { who: w.join(', ') }) : tr('analysisPaused');
  }
  ind.classList.toggle('on', !!st.live && !st.ended && !st.disconnected);
  ind.classList.toggle('off', !(st.live && !st.ended && !st.disconnected));
  if (el.indicatorText.textContent !== text) el.indicatorText.textContent = text;
  const sub = st.live && !st.ended && !st.disconnected ? tr('rawNeverStored') : '';
  if (el.indicatorSub.textContent !== sub) el.indicatorSub.textContent = sub;
  if (S.pip) S.pip.document.title = st.live ? `● ${tr('analysisOn')}` : tr('analysisPaused');
}

function renderParticipants() {
  const list = el.participants;
  list.replaceChildren();
  for (const p of S.participants) {
    const yes = !!p.consented;
    const tick = h('span', { class: `tick ${yes ? 'yes' : 'no'}`, 'aria-hidden': 'true', text: yes ? '✓' : '' });
    const who = h('span', { class: 'who', text: p.name || roleLabel(p.role) });
    if (p.role === S.role && (p.name === S.name || !p.name)) who.classList.add('me');
    const role = h('span', { class: 'role', text: roleLabel(p.role) });
    let status = yes ? tr('consented') : tr('noConsentYet');
    if (p.on_behalf) status = yes ? tr('consentedOnDevice') : tr('onDevice');
    if (p.connected === false) status = yes ? tr('offline') : tr('notJoined');
    if (p.reconnecting) status = tr('reconnectingParty');
    const st = h('span', { class: 'st', text: status });
    const li = h('li', {}, tick, who, role, st);
    li.setAttribute('aria-label', `${p.name || roleLabel(p.role)}, ${roleLabel(p.role)}, ${status}`);
    list.append(li);
  }
}

function share(obj) {
  if (!obj) return null;
  const r = Number(obj.rep) || 0;
  const c = Number(obj.customer) || 0;
  if (r + c <= 0) return null;
  return r / (r + c);
}

function onMetrics(m) {
  const w = share(m.talk_window);
  const all = share(m.talk);
  const me = S.role === 'rep' ? tr('you') : tr('rep');
  if (w !== null) {
    el.talkRep.style.width = pct(w);
    el.talkCust.style.width = pct(1 - w);
    S.talkText = {
      label: tr('talkLabel', { me, a: pct(w), b: pct(1 - w) }),
      aria: tr('talkAria', { me: me.toLowerCase(), a: pct(w), b: pct(1 - w) }),
    };
    renderTalkLabel();
  }
  if (all !== null) {
    el.talkRepAll.style.width = pct(all);
    el.talkCustAll.style.width = pct(1 - all);
    el.talkAllLabel.textContent = tr('wholeCallLabel', { me: me.toLowerCase(), a: pct(all) });
    el.talkBarAll.setAttribute('aria-label', tr('wholeCallAria', { me: me.toLowerCase(), a: pct(all), b: pct(1 - all) }));
  }
  el.talk.dataset.updated = String(m.at ?? Date.now());
  if ('longest_monologue_s' in m) el.statMonologue.textContent = fmtSeconds(m.longest_monologue_s);
  if ('interruptions' in m) el.statInterruptions.textContent = String(m.interruptions);
  if (m.questions && typeof m.questions === 'object') {
    el.statQuestions.textContent = `${m.questions.open ?? 0}/${m.questions.closed ?? 0}`;
  }
  if ('wpm' in m) {
    el.statWpm.textContent = typeof m.wpm === 'number' && isFinite(m.wpm) ? String(Math.round(m.wpm)) : '—';
  }
  if (typeof m.fillers === 'number') el.statFillers.textContent = String(m.fillers);
}

/** The talk-share head: the figures, or "not measurable now" while a microphone is unreliable. */
function renderTalkLabel() {
  const unreliable = unreliableMics();
  el.talk.classList.toggle('unmeasurable', unreliable.length > 0);
  let label;
  let aria;
  if (unreliable.length) {
    label = tr('notMeasurable');
    aria = tr('notMeasurableWhy', { who: unreliable.map((sp) => micLabel(sp).toLowerCase()).join(', ') });
    el.talk.dataset.measurable = 'false';
  } else {
    label = S.talkText ? S.talkText.label : '—';
    aria = S.talkText ? S.talkText.aria : tr('talkNotYet');
    el.talk.dataset.measurable = 'true';
  }
  if (el.talkLabel.textContent !== label) el.talkLabel.textContent = label;
  if (unreliable.length) el.talkLabel.lang = LANG; else el.talkLabel.removeAttribute('lang');
  el.talkLabel.title = unreliable.length ? aria : '';
  el.talkBar.setAttribute('aria-label', aria);
}

// ---------------------------------------------------------------- audio check

/** Whose microphone, in the page's words: "Your microphone", "The customer's microphone";
 *  `short`: "You", "Customer", for when the long one does not fit. */
function micLabel(speaker, short = false) {
  const sfx = short ? 'Short' : '';
  if (speaker === S.role && S.role !== 'observer' && S.role !== 'trainer') return tr(`yourMic${sfx}`);
  return speaker === 'customer' ? tr(`customerMic${sfx}`) : tr(`repMic${sfx}`);
}

function unreliableMics() {
  return ['rep', 'customer'].filter((sp) => S.audio[sp] && S.audio[sp].reliable === false);
}

/** The microphones with a problem now, the one that matters most to this page first. */
function audioNotices() {
  const list = ['rep', 'customer']
    .map((sp) => S.audio[sp])
    .filter((a) => a && a.issue !== 'ok');
  const rank = (a) => (a.speaker === S.role ? 0 : 2) + (a.reliable === false ? 0 : 1);
  return list.sort((a, b) => rank(a) - rank(b));
}

/** `audio_check`: the server's verdict on one microphone changed. */
function onAudioCheck(msg) {
  const speaker = msg.speaker === 'rep' || msg.speaker === 'customer' ? msg.speaker : null;
  if (!speaker) return;
  const issue = ['ok', 'leak', 'noise', 'background', 'quiet'].includes(msg.issue) ? msg.issue : 'ok';
  const reliable = msg.reliable !== false;
  if (issue === 'ok' && reliable) {
    S.audio[speaker] = null;
    S.audioOk = typeof msg.text === 'string' ? msg.text.trim() : '';
  } else {
    S.audioOk = '';
    const text = typeof msg.text === 'string' && msg.text.trim() ? msg.text.trim() : (issue === 'ok' ? '' : tr(`issue_${issue}`));
    S.audio[speaker] = { speaker, issue, reliable, text, at: msg.at };
  }
  const notices = audioNotices();
  // A new problem is the one shown; otherwise keep showing the one the reader chose.
  const idx = notices.findIndex((a) => a.speaker === speaker);
  if (issue !== 'ok' && idx >= 0) S.audioShown = idx;
  renderAudio();
  renderTalkLabel();
}

/** The page's own microphone check, from the capture path, before anything reaches the server. */
const MIC_CHECK_SKIP = 3; // frames (100 ms) at the start, while the capture settles
const MIC_CHECK_MIN = 30; // judge after 3 s of audio ...
const MIC_CHECK_WINDOW = 100; // ... over at most the last 10 s
const SILENT_PEAK = 1e-4; // below -80 dBFS everywhere: no signal at all (muted, wrong device)
const VOICE_ABOVE_FLOOR_DB = 10; // a frame this far above the noise floor holds a voice
const VOICE_MIN_DBFS = -60;
const VOICE_MIN_FRAMES = 3;
const QUIET_DBFS = -42; // a voice whose median frame level stays below this is too quiet
// The floor is the level of the quietest 10 ms of each frame (gaps between words), low
// percentile over the window. Noisy: a floor above NOISY_FLOOR_DBFS with the voice less
// than NOISY_SNR_DB above it, or a floor above LOUD_FLOOR_DBFS whatever the voice does.
const NOISY_FLOOR_DBFS = -55;
const NOISY_SNR_DB = 15;
const LOUD_FLOOR_DBFS = -30;
const CLIP_SHARE = 0.001; // 0.1% of samples at full scale: overloaded

function newMicCheck() {
  return { seen: 0, levels: [], floors: [], peaks: [], clipped: [], captured: [], done: false };
}

function dbfs(x) { return 20 * Math.log10(Math.max(Number(x) || 0, 1e-5)); }
function percentile(sorted, q) {
  if (!sorted.length) return -100;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** One 100 ms frame into the check; sets S.micCheck when the verdict changes. */
function micCheckFeed(mic, d) {
  const c = mic.check;
  if (!c || c.done) return;
  c.seen++;
  if (c.seen <= MIC_CHECK_SKIP) return;
  c.levels.push(dbfs(d.level));
  c.floors.push(dbfs(Number.isFinite(d.quietest) ? d.quietest : d.level));
  c.peaks.push(Number(d.peak) || Number(d.level) || 0);
  c.clipped.push(Number(d.clipped) || 0);
  c.captured.push(Number(d.captured) || 0);
  if (c.levels.length > MIC_CHECK_WINDOW) {
    for (const k of ['levels', 'floors', 'peaks', 'clipped', 'captured']) c[k].shift();
  }
  if (c.levels.length < MIC_CHECK_MIN) return;
  const { verdict, final } = micVerdict(c);
  // A verdict on a heard voice is final; silence, or sound without a voice yet, may still
  // change (a microphone unmuted, someone starts to speak): the check goes on.
  c.done = final;
  setMicCheck(verdict);
}

/** The verdict on the frames seen so far: {verdict, final}. */
function micVerdict(c) {
  const peak = Math.max(...c.peaks);
  if (peak < SILENT_PEAK) return { verdict: 'silent', final: false };
  const sorted = [...c.levels].sort((a, b) => a - b);
  const floor = percentile([...c.floors].sort((a, b) => a - b), 0.2);
  if (floor > LOUD_FLOOR_DBFS) return { verdict: 'noisy', final: false };
  const voiced = sorted.filter((l) => l >= Math.max(floor + VOICE_ABOVE_FLOOR_DB, VOICE_MIN_DBFS));
  if (voiced.length < VOICE_MIN_FRAMES) {
    // Sound but no voice standing out: nobody spoke yet, or 10 s on, the voice is lost in
    // noise or too soft.
    if (c.levels.length < MIC_CHECK_WINDOW) return { verdict: 'listening', final: false };
    return { verdict: floor > NOISY_FLOOR_DBFS + 10 ? 'noisy' : 'quiet', final: false };
  }
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  let verdict = 'ok';
  const voice = percentile(voiced, 0.5);
  if (sum(c.clipped) > CLIP_SHARE * Math.max(1, sum(c.captured))) verdict = 'clipping';
  else if (voice < QUIET_DBFS) verdict = 'quiet';
  else if (floor > NOISY_FLOOR_DBFS && voice - floor < NOISY_SNR_DB) verdict = 'noisy';
  return { verdict, final: true };
}

function setMicCheck(state) {
  if (S.micCheck === state) return;
  S.micCheck = state;
  renderAudio();
}

const MIC_CHECK_TEXT = {
  checking: 'micChecking', listening: 'micListening', ok: 'micOk',
  silent: 'micSilent', quiet: 'micQuiet', clipping: 'micClipping', noisy: 'micNoisy',
};

/** The audio-check slot: one fixed-height box, so nothing else moves when its words change. */
function renderAudio() {
  const notices = audioNotices();
  const box = el.audioCheck;
  let state;
  let who = '';
  let text;
  let tag = '';
  if (notices.length) {
    if (S.audioShown >= notices.length) S.audioShown = 0;
    const a = notices[S.audioShown];
    state = 'notice';
    who = micLabel(a.speaker);
    text = a.text;
    if (a.reliable === false) tag = tr('figuresPaused');
    box.dataset.issue = a.issue;
    box.dataset.speaker = a.speaker;
    box.dataset.reliable = String(a.reliable !== false);
  } else {
    S.audioShown = 0;
    delete box.dataset.issue;
    delete box.dataset.speaker;
    delete box.dataset.reliable;
    const mc = S.micCheck;
    const localProblem = ['silent', 'quiet', 'clipping', 'noisy'].includes(mc);
    if (S.audioOk && !localProblem) {
      state = 'recovered'; // the server's "sounds fine again", until something else is said
      text = S.audioOk;
    } else if (mc !== 'idle' && MIC_CHECK_TEXT[mc]) {
      state = mc;
      text = tr(MIC_CHECK_TEXT[mc]);
    } else {
      state = 'idle';
      text = tr('noProblems');
    }
  }
  const problem = state === 'notice' || ['silent', 'quiet', 'clipping', 'noisy'].includes(state);
  box.dataset.state = state;
  box.classList.toggle('problem', problem);
  const good = state === 'ok' || state === 'idle' || state === 'recovered';
  box.classList.toggle('good', good);
  el.audioCheckIcon.textContent = problem ? '!' : good ? '✓' : '…';
  el.audioCheckTitle.textContent = who ? `${tr('audioCheck')}:` : tr('audioCheck');
  // With a notice the head names the microphone; "Audio check" stays for screen readers.
  el.audioCheckTitle.classList.toggle('sr-only', !!who);
  el.audioCheckWho.textContent = who;
  el.audioCheckTag.textContent = tag;
  el.audioCheckTag.hidden = !tag;
  el.audioCheckText.textContent = text;
  // The page's words are in the browser's language; the server's in the session's.
  for (const n of [el.audioCheckTitle, el.audioCheckWho, el.audioCheckTag]) n.lang = LANG;
  const sessionLang = S.lastState && typeof S.lastState.language === 'string' ? S.lastState.language : '';
  const fromServer = state === 'notice' || state === 'recovered';
  el.audioCheckText.lang = fromServer && /^[a-z]{2}$/.test(sessionLang) ? sessionLang : LANG;
  box.title = [who, tag, text].filter(Boolean).join(' — ');
  const next = el.audioCheckNext;
  next.hidden = notices.length < 2;
  el.audioSlot.classList.toggle('multi', notices.length > 1);
  fitWho(notices.length ? notices[S.audioShown].speaker : null);
  if (notices.length > 1) {
    const i = ((S.audioShown + 1) % notices.length) + 1;
    next.replaceChildren(
      h('span', { class: 'ac-count', text: `${S.audioShown + 1}/${notices.length}` }),
      h('span', { class: 'ac-arrow', 'aria-hidden': 'true', text: '›' }));
    next.setAttribute('aria-label', tr('nextNotice', { i, n: notices.length }));
    next.title = next.getAttribute('aria-label');
  }
}

/** A long microphone name that does not fit the head line gives way to the short one. */
function fitWho(speaker) {
  const w = el.audioCheckWho;
  if (!speaker || !w.isConnected || w.scrollWidth <= w.clientWidth) return;
  w.textContent = micLabel(speaker, true);
}

function onAudioNext() {
  const n = audioNotices().length;
  if (n > 1) S.audioShown = (S.audioShown + 1) % n;
  renderAudio();
}

// ---------------------------------------------------------------- checklist

/** The playbook's topics, ticked off as they are covered (sent whole each time). */
function onChecklist(msg) {
  const items = Array.isArray(msg.items) ? msg.items.filter((i) => i && typeof i === 'object') : [];
  if (!items.length) { hide(el.checklist); return; }
  const done = items.filter((i) => i.done).length;
  el.checklistCount.textContent = `${done}/${items.length}`;
  el.checklist.setAttribute('aria-label', tr('checklistAria', { done, total: items.length }));
  el.checklist.classList.toggle('complete', done === items.length);
  const ticks = [];
  const rows = [];
  for (const item of items) {
    const label = String(item.label || item.id || '');
    const at = item.done ? fmtClock(item.at) : '';
    const who = item.speaker === 'customer' ? tr('byCustomer') : item.speaker === 'rep' ? tr(S.role === 'rep' ? 'byYou' : 'byRep') : '';
    const title = item.done ? tr('coveredAt', { label, at: at ? tr('coveredAtTime', { t: at }) : '', who }) : tr('notYet', { label });
    ticks.push(h('span', { class: `ck ${item.done ? 'yes' : 'no'}`, title, text: item.done ? '✓' : '' }));
    const li = h('li', { class: item.done ? 'done' : 'open', title },
      h('span', { class: 'ck-mark', 'aria-hidden': 'true', text: item.done ? '✓' : '' }),
      h('span', { class: 'ck-label', text: label }));
    if (at) li.append(h('span', { class: 'ck-at', text: at }));
    li.setAttribute('aria-label', title);
    li.dataset.id = String(item.id || '');
    rows.push(li);
  }
  el.checklistTicks.replaceChildren(...ticks);
  el.checklistItems.replaceChildren(...rows);
  show(el.checklist);
}

// ---------------------------------------------------------------- nudges

/** A short "why" line for a nudge, from the evidence keys we know; anything else shows nothing. */
function evidenceText(ev, rule) {
  if (!ev || typeof ev !== 'object') return '';
  const num = (k) => (typeof ev[k] === 'number' && isFinite(ev[k]) ? ev[k] : null);
  const round1 = (x) => Math.round(x * 10) / 10;
  const parts = [];
  const win = num('window_s');
  const last = win === null ? '' : (win >= 60 ? tr('evLastMin', { n: Math.round(win / 60) }) : tr('evLastS', { n: Math.round(win) }));
  if (num('rep_share') !== null) parts.push(tr('evYou', { p: pct(num('rep_share')) }));
  else if (num('rep_pct') !== null) parts.push(tr('evYou', { p: `${Math.round(num('rep_pct'))}%` }));
  if (num('wpm') !== null) parts.push(tr('evWpm', { n: Math.round(num('wpm')) }) + (num('max_wpm') !== null ? tr('evAim', { n: Math.round(num('max_wpm')) }) : ''));
  if (num('closed_in_a_row') !== null) parts.push(tr('evClosedRow', { n: num('closed_in_a_row') }));
  if (num('customer_speech_s') !== null) parts.push(tr('evCustomerSince', { t: fmtSeconds(num('customer_speech_s')) }));
  if (typeof ev.item === 'string' && ev.item) parts.push(tr('evOpenTopic', { item: ev.item }));
  if (num('spread_st') !== null) {
    const base = num('baseline_st');
    parts.push(tr('evPitch', { a: round1(num('spread_st')) }) + (base !== null ? tr('evPitchWas', { b: round1(base) }) : ''));
  }
  if (num('delta_db') !== null) {
    const d = round1(num('delta_db'));
    parts.push(tr('evDb', { d: `${d > 0 ? '+' : d < 0 ? '−' : ''}${Math.abs(d)}` }));
  }
  if (num('count') !== null) {
    const c = num('count');
    parts.push(tr(rule === 'fillers' ? 'evFillers' : rule === 'interruption' ? 'evInterruptions' : 'evTimes', { n: c }));
  }
  if (num('monologue_s') !== null) parts.push(tr('evTalking', { t: fmtSeconds(num('monologue_s')) }));
  if (num('silence_s') !== null) parts.push(tr('evSilence', { t: fmtSeconds(num('silence_s')) }));
  if (num('gap_ms') !== null) parts.push(tr('evGap', { n: Math.round(num('gap_ms')) }));
  if (parts.length && last && (num('rep_share') !== null || num('rep_pct') !== null || num('count') !== null)) parts.push(last);
  return parts.slice(0, 3).join(' · ');
}

/** Who a whisper is from: "From the trainer (Tom)" for a signed-in trainer, else "From Tom". */
function whisperFrom(n) {
  const ev = n.evidence && typeof n.evidence === 'object' ? n.evidence : {};
  const from = (typeof ev.from === 'string' && ev.from) || (typeof n.from === 'string' && n.from) || '';
  if (ev.by === 'trainer') return tr('fromTrainer', { name: from || roleLabel('trainer') });
  return from ? tr('fromName', { name: from }) : tr('fromYourTrainer');
}

function showNudge(n) {
  // The customer never sees a nudge or a whisper, whatever arrives (the server sends none).
  if (S.role === 'customer') return;
  for (const t of S.nudgeTimers) clearTimeout(t);
  S.nudgeTimers = [];
  const manual = n.rule === 'manual' || n.type === 'whisper';
  const sev = n.severity === 'warn' ? 'warn' : 'info';
  const meta = manual ? whisperFrom(n) : evidenceText(n.evidence, n.rule);
  const toast = h('div', { class: `toast ${manual ? 'manual' : sev}` },
    manual ? h('span', { class: 'toast-icon', 'aria-hidden': 'true', text: '✉' }) : '',
    h('div', {},
      h('div', { class: 'toast-text', text: n.text || '' }),
      meta ? h('div', { class: 'toast-meta', text: meta }) : ''));
  toast.dataset.rule = n.rule || '';
  toast.dataset.severity = sev;
  if (manual) toast.dataset.whisper = (n.evidence && n.evidence.by) || 'observer';
  el.nudge.replaceChildren(toast); // a newer nudge replaces the older one
  el.nudge.classList.add('kept'); // the slot keeps its height after the toast fades: nothing below jumps
  addHistory(n, manual, meta);
  const showMs = typeof n.show_s === 'number' && n.show_s > 0 ? n.show_s * 1000 : NUDGE_SHOW_MS; // playbook pacing.toast_s
  S.nudgeTimers.push(setTimeout(() => toast.classList.add('fading'), showMs));
  S.nudgeTimers.push(setTimeout(() => { if (toast.parentNode) toast.remove(); }, showMs + NUDGE_FADE_MS));
}

/** The short list of nudges and whispers so far (newest first), kept after the toast fades. */
function addHistory(n, manual, meta) {
  const li = h('li', { class: `hist ${manual ? 'manual' : n.severity === 'warn' ? 'warn' : 'info'}` },
    h('span', { class: 'hist-icon', 'aria-hidden': 'true', text: manual ? '✉' : n.severity === 'warn' ? '⚠' : '⚑' }),
    h('span', { class: 'hist-at', text: fmtClock(n.at) }),
    h('span', { class: 'hist-text', text: n.text || '' }),
    manual ? h('span', { class: 'hist-from', text: meta }) : '');
  li.dataset.rule = n.rule || '';
  if (manual) li.dataset.whisper = (n.evidence && n.evidence.by) || 'observer';
  el.historyItems.prepend(li);
  while (el.historyItems.children.length > MAX_HISTORY) el.historyItems.lastElementChild.remove();
  show(el.history);
}

// ---------------------------------------------------------------- transcript

function speakerLabel(role) {
  if (role === S.role && !S.stereo) return tr('you');
  const p = S.participants.find((x) => x.role === role && x.name);
  return p ? p.name : roleLabel(role);
}

function onTranscript(t) {
  const key = `${t.speaker}:${t.segment}`;
  let line = S.lines.get(key);
  if (line && line.final) return; // a final line is never changed
  if (t.final && !(t.text || '').trim()) {
    // Recognised nothing after all: the partials shown go, and no line stays.
    if (line) line.li.remove();
    S.lines.set(key, { li: null, final: true });
    return;
  }
  show(el.transcriptCard);
  const list = el.transcript;
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!line) {
    const li = h('li', {},
      h('span', { class: `spk ${t.speaker}`, text: speakerLabel(t.speaker) }),
      h('span', { class: 'txt' }));
    line = { li, final: false };
    S.lines.set(key, line);
    list.append(li);
    while (list.children.length > MAX_TRANSCRIPT_LINES) list.firstElementChild.remove();
  }
  line.li.querySelector('.txt').textContent = t.text || '';
  line.final = !!t.final;
  line.li.classList.toggle('partial', !line.final);
  // Coaching marks on the rep's finals: the question's kind and a rephrasing tip.
  // Not for the customer: they are the rep's coaching, not part of the conversation.
  if (line.final && isCoached()) {
    if (t.question === 'open' || t.question === 'closed') {
      line.li.querySelector('.txt').before(h('span', {
        class: `qbadge ${t.question}`,
        title: t.question === 'open' ? tr('openQuestion') : tr('closedQuestion'),
        text: t.question === 'open' ? tr('qOpen') : tr('qClosed'),
      }));
      line.li.dataset.question = t.question;
    }
    if (typeof t.tip === 'string' && t.tip.trim()) line.li.append(h('div', { class: 'tip', text: t.tip }));
  }
  if (nearBottom) list.scrollTop = list.scrollHeight;
}

// ---------------------------------------------------------------- report, errors, end

function onReport(msg) {
  if (!msg.url) return;
  refreshReportLink();
  markEnded();
  show(el.report);
  show(el.screenLive);
  if (S.role === 'rep') afterCallRep();
  if (S.role === 'observer') renderPeerStatus();
}

/** The report's links open a short-lived link the server signs for this page's token:
 *  the token itself never goes into a URL. Made now, so that the links work as links
 *  (middle click, copy); a click on one about to expire makes a fresh one. */
async function refreshReportLink() {
  if (!S.session || !S.token) return;
  try {
    S.reportLink = await reportLink(S.session, S.token);
    el.reportLink.href = S.reportLink.href;
    el.scorecardPrint.href = S.reportLink.href;
  } catch { /* a click tries again */ }
}

function onReportLinkClick(ev) {
  if (S.reportLink && Date.now() < S.reportLink.expiresAt - REPORT_LINK_MARGIN_MS) return;
  ev.preventDefault(); // stale or never made: a fresh link, in a tab opened by this click
  openReportTab(S.session, S.token).then(refreshReportLink, (err) => {
    alertMsg('error', err.status === 404 ? tr('reportGone') : tr('reportFailed', { err: err.message }), 'report');
  });
}

// ---------------------------------------------------------------- consent: who sees the report

/** The retention period, when the server names one (`retention_days`); else the default. */
function noteRetention(msg) {
  const d = Number(msg && msg.retention_days);
  if (Number.isFinite(d) && d > 0) S.retentionDays = Math.round(d);
}

function consentReportText() {
  const days = S.retentionDays;
  let text;
  if (S.role === 'customer') text = tr('reportCustomer', { days });
  else if (S.role === 'observer') text = tr('reportObserver', { days });
  else text = tr('reportRep', { days });
  if (S.role === 'rep' && S.repToken) text += ` ${tr('reportRepHistory')}`;
  return text;
}

// ---------------------------------------------------------------- evaluation form, reflection, scorecard

function onForm(msg) {
  if (!msg || !Array.isArray(msg.sections)) return;
  S.form = msg;
  if (S.role === 'observer') showPeerForm();
}

/** `done` on the live connection: an observer's evaluation was recorded. */
function onDone(msg) {
  if (msg.request === 'evaluate' && S.peerPending) {
    S.peerPending = false;
    S.peerDone = true;
    renderPeerStatus();
  }
}

function setStatus(node, kind, text) {
  node.className = `form-status ${kind}`;
  node.replaceChildren();
  if (text) node.append(h('span', { 'aria-hidden': 'true', text: kind === 'ok' ? '✓ ' : kind === 'error' ? '⚠ ' : '' }), text);
}

function errorText(res) {
  if (res.code === 'already_evaluated') return tr('alreadyEvaluated');
  if (res.code === 'timeout' || res.code === 'closed' || res.code === 'network') return tr('notSentNetwork');
  return tr('notSentCode', { code: res.code, message: res.message || '' });
}

function showPeerForm() {
  if (S.peer || !S.form) return;
  S.peer = evalForm(S.form, { prefix: 'peer' });
  el.peerRows.replaceChildren(S.peer.node);
  if (!el.peerName.value) el.peerName.value = S.name || '';
  show(el.peerEval);
  renderPeerStatus();
}

function renderPeerStatus() {
  if (!S.peer) return;
  if (S.peerDone) {
    S.peer.disable(true);
    el.peerName.disabled = true;
    el.peerSend.disabled = true;
    setStatus(el.peerStatus, 'ok', tr('peerThanks'));
  }
}

async function onPeerSubmit(ev) {
  ev.preventDefault();
  if (!S.peer || S.peerDone || S.peerPending) return;
  const name = el.peerName.value.trim();
  if (!name) { el.peerName.focus(); return; }
  const { ticks, notes } = S.peer.read();
  if (!Object.keys(ticks).length && !Object.keys(notes).length) {
    setStatus(el.peerStatus, 'error', tr('tickSomething'));
    return;
  }
  const msg = { type: 'evaluate', ticks, notes, name };
  setStatus(el.peerStatus, '', tr('sending'));
  // During the call, on this page's own connection; after it, with the observer link's token.
  if (!S.ended && S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.peerPending = true;
    send(msg);
    return;
  }
  el.peerSend.disabled = true;
  const res = await request(S.token, { ...msg, session: S.session, token: S.token });
  el.peerSend.disabled = false;
  if (res.ok) {
    S.peerDone = true;
    renderPeerStatus();
  } else {
    peerRefused(res);
  }
}

/** An evaluation not taken: a second one is said plainly (the first stands), anything else
 *  may be tried again. */
function peerRefused(res) {
  if (res.code === 'already_evaluated') {
    S.peer.disable(true);
    el.peerName.disabled = true;
    el.peerSend.disabled = true;
  }
  setStatus(el.peerStatus, 'error', errorText(res));
}

/** The rep's call ended: reflect first (when the server sent the form), then the scorecard. */
function afterCallRep() {
  if (S.reflect || S.scorecardShown) return;
  if (S.repToken) {
    el.scorecardProgress.href = `/history#rep=${encodeURIComponent(S.repToken)}`;
    show(el.scorecardProgress);
  }
  if (!S.form) { showScorecard(); return; }
  S.reflect = evalForm(S.form, { prefix: 'self' });
  el.reflectRows.replaceChildren(S.reflect.node);
  show(el.reflect);
  el.reflect.scrollIntoView({ block: 'start' });
  el.reflectH.setAttribute('tabindex', '-1');
  el.reflectH.focus({ preventScroll: true });
}

async function sendReflection(skip) {
  if (!S.reflect) return;
  el.reflectSend.disabled = true;
  el.reflectSkip.disabled = true;
  setStatus(el.reflectStatus, '', tr('sending'));
  const { ticks, notes } = skip ? { ticks: {}, notes: {} } : S.reflect.read();
  const res = await request(S.token, { type: 'evaluate', session: S.session, token: S.token, ticks, notes, skip });
  if (!res.ok && res.code !== 'already_evaluated') {
    el.reflectSend.disabled = false;
    el.reflectSkip.disabled = false;
    setStatus(el.reflectStatus, 'error', errorText(res));
    return;
  }
  hide(el.reflect);
  await showScorecard(res.ok ? '' : tr('alreadyEvaluated'));
}

function authHeaders(token) { return { Authorization: `Bearer ${token}` }; }

/** Fetch the report with the rep's token and show its scorecard. */
async function showScorecard(note = '') {
  S.scorecardShown = true;
  show(el.scorecardCard);
  setStatus(el.scorecardStatus, '', note || tr('loadingScorecard'));
  let report = null;
  for (let i = 0; i < 10 && !(report && report.scorecard); i++) {
    try {
      const res = await fetch(`/v1/sessions/${encodeURIComponent(S.session)}/report`, { headers: authHeaders(S.token), cache: 'no-store' });
      if (res.status === 404) break;
      if (res.ok) report = await res.json();
    } catch { /* retried */ }
    if (!(report && report.scorecard)) await new Promise((r) => setTimeout(r, 500));
  }
  if (!report || !report.scorecard) {
    setStatus(el.scorecardStatus, 'error', tr('noScorecard'));
    return;
  }
  setStatus(el.scorecardStatus, '', note);
  el.scorecardBody.replaceChildren(scorecardNode(report.scorecard, { self: 'rep' }));
  el.scorecardCard.scrollIntoView({ block: 'start' });
  el.scorecardH.setAttribute('tabindex', '-1');
  el.scorecardH.focus({ preventScroll: true });
}

async function onErase() {
  if (!S.session || !S.token) return;
  if (!window.confirm(tr('eraseConfirm'))) return;
  el.btnErase.disabled = true;
  const res = await request(S.token, { type: 'erase', session: S.session, token: S.token });
  if (!res.ok) {
    el.btnErase.disabled = false;
    setStatus(el.scorecardStatus, 'error', errorText(res));
    return;
  }
  el.scorecardBody.replaceChildren();
  hide(el.scorecardPrint, el.btnExport, el.btnErase, el.report, el.reflect);
  setStatus(el.scorecardStatus, 'ok', tr('erased'));
}

async function onExport() {
  el.btnExport.disabled = true;
  try {
    const res = await fetch(`/v1/sessions/${encodeURIComponent(S.session)}/export`, { headers: authHeaders(S.token), cache: 'no-store' });
    if (!res.ok) throw new Error(String(res.status));
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `sparring-${S.session}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    setStatus(el.scorecardStatus, 'error', tr('exportFailed', { err: err && err.message ? err.message : err }));
  } finally {
    el.btnExport.disabled = false;
  }
}

// ---------------------------------------------------------------- a rep's personal link

async function loadRepName() {
  el.myProgress.href = `/history#rep=${encodeURIComponent(S.repToken)}`;
  el.repLinkText.textContent = tr('repLinkUnknownName');
  show(el.repLinkNote);
  try {
    const res = await fetch('/v1/reps/me/history', { headers: authHeaders(S.repToken), cache: 'no-store' });
    if (!res.ok) {
      if (res.status === 401 || res.status === 403 || res.status === 404) el.repLinkText.textContent = tr('repLinkInvalid');
      return;
    }
    const data = await res.json();
    const rep = data && (data.rep || data);
    const name = rep && typeof rep.name === 'string' ? rep.name : '';
    if (!name) return;
    S.repName = name;
    el.repLinkText.textContent = tr('repLinkWhose', { name });
    el.startName.value = name;
  } catch { /* the note stays general */ }
}

function onError(msg) {
  S.lastError = msg.code || '';
  // A tab replaced by another keeps the call: reloading it is how to take the place back.
  if (FINAL_ERRORS.includes(S.lastError) && S.rejoining && S.lastError !== 'replaced') forgetCall();
  if (msg.code === 'replaced') {
    stopMic(); // the place is the other window's: not one more frame from here
    alertMsg('warn', tr('replaced'), 'conn');
    return;
  }
  if (msg.code === 'server_stopping') {
    alertMsg('warn', tr('serverStopping'), 'conn');
    return;
  }
  if (S.peerPending && ['already_evaluated', 'bad_message', 'forbidden', 'bad_state'].includes(msg.code)) {
    S.peerPending = false;
    peerRefused({ code: msg.code, message: msg.message });
    return;
  }
  const box = h('div', {}, h('code', { text: msg.code || 'error' }), ` — ${msg.message || tr('somethingWrong')}`);
  alertMsg('error', box, `err-${msg.code || 'x'}`);
  if (!S.welcomed && !S.consentShown) setFormsBusy(false);
}

function onEnd() {
  send({ type: 'end' });
  markEnded(S.role === 'rep' ? tr('callEnded') : tr('left'));
}

/** The call is over for this page: no more audio, no withdraw (nothing left to withdraw from). */
function markEnded(label = tr('callEnded')) {
  if (S.ended) return;
  S.ended = true;
  forgetCall();
  clearTimeout(S.retryTimer);
  stopMic();
  hide(el.btnWithdraw, el.btnResume, el.pipWithdrawMirror, el.invite);
  el.btnEnd.disabled = true;
  el.btnEnd.textContent = label;
  renderIndicator({ live: false, ended: true });
}

function onRejoin() {
  hide(el.btnRejoin);
  clearAlert('conn');
  S.consented = false;
  S.consentShown = false;
  connect(helloMsg());
}

// ---------------------------------------------------------------- microphone

async function startMic() {
  if (S.mic) return;
  const channels = S.stereo ? 2 : 1;
  const mic = { stopped: false, check: newMicCheck() };
  S.mic = mic;
  setMicCheck('checking');
  try {
    const constraints = S.stereo
      ? { channelCount: { ideal: 2 }, echoCancellation: false, noiseSuppression: false, autoGainControl: false }
      : { channelCount: { ideal: 1 }, echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    mic.stream = await navigator.mediaDevices.getUserMedia({ audio: constraints, video: false });
    if (mic.stopped) return releaseMic(mic);
    try {
      mic.ctx = new AudioContext({ sampleRate: 16000, latencyHint: 'interactive' });
    } catch {
      mic.ctx = new AudioContext({ latencyHint: 'interactive' }); // the worklet resamples
    }
    await mic.ctx.audioWorklet.addModule('/static/capture-worklet.js');
    if (mic.stopped) return releaseMic(mic);
    mic.src = mic.ctx.createMediaStreamSource(mic.stream);
    mic.node = new AudioWorkletNode(mic.ctx, 'sparring-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: channels,
      channelCountMode: 'explicit',
      channelInterpretation: channels === 2 ? 'discrete' : 'speakers',
      processorOptions: { channels },
    });
    mic.sink = mic.ctx.createGain();
    mic.sink.gain.value = 0; // keeps the graph pulled; nothing is played back
    mic.src.connect(mic.node).connect(mic.sink).connect(mic.ctx.destination);
    mic.node.port.onmessage = (e) => onFrame(mic, e.data);
    if (mic.ctx.state === 'suspended') await mic.ctx.resume();
    const track = mic.stream.getAudioTracks()[0];
    const got = track && track.getSettings ? track.getSettings().channelCount : undefined;
    if (S.stereo && got === 1) {
      alertMsg('warn', tr('monoMic'), 'stereo');
    }
    if (track) track.addEventListener('ended', () => {
      alertMsg('error', tr('micStopped'), 'mic');
      stopMic();
    });
    el.mic.classList.add('live');
    el.micLabel.textContent = S.stereo ? tr('micOnStereo') : tr('micOn');
  } catch (err) {
    releaseMic(mic);
    if (S.mic === mic) S.mic = null;
    setMicCheck('idle');
    alertMsg('error', tr('micUnavailable', { err: err && err.message ? err.message : err }), 'mic');
  }
}

function onFrame(mic, data) {
  if (mic.stopped || !data || !data.pcm) return;
  if (S.consented && !S.ended && S.ws && S.ws.readyState === WebSocket.OPEN) {
    S.ws.send(data.pcm);
    if (S.ws.bufferedAmount > SLOW_SEND_BYTES && !S.slowWarned) {
      S.slowWarned = true;
      alertMsg('warn', tr('slowNet'), 'slow');
    }
  }
  el.micLevel.style.width = `${Math.min(100, Math.round(Math.sqrt(data.level || 0) * 160))}%`;
  micCheckFeed(mic, data); // in the page only: nothing of it is sent
}

function releaseMic(mic) {
  mic.stopped = true;
  try { mic.node && mic.node.port.postMessage('stop'); } catch { /* gone */ }
  try { mic.src && mic.src.disconnect(); } catch { /* gone */ }
  if (mic.stream) for (const t of mic.stream.getTracks()) t.stop();
  if (mic.ctx && mic.ctx.state !== 'closed') mic.ctx.close().catch(() => {});
}

function stopMic() {
  const mic = S.mic;
  S.mic = null;
  if (mic) releaseMic(mic);
  el.mic.classList.remove('live');
  el.micLabel.textContent = tr('micOff');
  el.micLevel.style.width = '0';
  setMicCheck('idle');
}

// ---------------------------------------------------------------- pop out (Document PiP)

async function popOut() {
  if (S.pip) { S.pip.close(); return; }
  if (!('documentPictureInPicture' in window)) return;
  let pip;
  try {
    pip = await window.documentPictureInPicture.requestWindow({ width: 340, height: 290 });
  } catch (err) {
    alertMsg('warn', tr('pipFailed', { err: err.message || err }), 'pip');
    return;
  }
  for (const sheet of document.styleSheets) {
    if (sheet.href) { // linked, not copied inline: the page's CSP allows no inline styles
      const link = pip.document.createElement('link');
      link.rel = 'stylesheet';
      link.href = sheet.href;
      pip.document.head.append(link);
      continue;
    }
    try {
      const style = pip.document.createElement('style');
      style.textContent = [...sheet.cssRules].map((r) => r.cssText).join('\n');
      pip.document.head.append(style);
    } catch {
      if (sheet.href) {
        const link = pip.document.createElement('link');
        link.rel = 'stylesheet';
        link.href = sheet.href;
        pip.document.head.append(link);
      }
    }
  }
  pip.document.body.className = 'pip';
  pip.document.documentElement.lang = document.documentElement.lang;
  S.pip = pip;
  pip.document.body.append(el.livePanel);
  el.pipWithdrawMirror.hidden = !(S.consented && !S.ended);
  el.btnPip.textContent = tr('bringBack');
  renderState();
  renderAudio(); // its width changed: the microphone's name may need its short form
  pip.addEventListener('resize', renderAudio);
  pip.addEventListener('pagehide', () => {
    el.liveHome.append(el.livePanel);
    S.pip = null;
    el.pipWithdrawMirror.hidden = true;
    el.btnPip.textContent = tr('popOut');
    renderAudio();
  });
}

// ---------------------------------------------------------------- wiring

async function copyField(id) {
  const input = document.getElementById(id);
  const btn = document.querySelector(`[data-copy="${id}"]`);
  let ok = false;
  try {
    await navigator.clipboard.writeText(input.value);
    ok = true;
  } catch {
    input.select();
    try { ok = document.execCommand('copy'); } catch { ok = false; }
  }
  const was = btn.dataset.label || btn.textContent;
  btn.dataset.label = was;
  btn.textContent = ok ? tr('copied') : tr('selectCopy');
  setTimeout(() => { btn.textContent = was; }, 1800);
}

function init() {
  applyStrings(document);
  el.startForm.addEventListener('submit', onStart);
  el.joinForm.addEventListener('submit', onJoin);
  el.startLanguage.addEventListener('change', renderLanguageNote);
  el.startStereo.addEventListener('change', () => {
    el.startCustomerRow.hidden = !el.startStereo.checked;
    el.startCustomerName.required = el.startStereo.checked;
  });
  el.consentAgree.addEventListener('click', onAgree);
  el.consentDecline.addEventListener('click', onDecline);
  el.consentCustomerAgrees.addEventListener('change', updateAgree);
  el.consentCustomerName.addEventListener('input', updateAgree);
  el.btnWithdraw.addEventListener('click', onWithdraw);
  el.pipWithdrawMirror.addEventListener('click', onWithdraw);
  el.btnResume.addEventListener('click', onResume);
  el.btnEnd.addEventListener('click', onEnd);
  el.btnPip.addEventListener('click', popOut);
  el.btnRejoin.addEventListener('click', onRejoin);
  el.audioCheckNext.addEventListener('click', onAudioNext);
  el.reflectForm.addEventListener('submit', (ev) => { ev.preventDefault(); sendReflection(false); });
  el.reflectSkip.addEventListener('click', () => sendReflection(true));
  el.peerForm.addEventListener('submit', onPeerSubmit);
  el.btnErase.addEventListener('click', onErase);
  el.btnExport.addEventListener('click', onExport);
  el.reportLink.addEventListener('click', onReportLinkClick);
  el.scorecardPrint.addEventListener('click', onReportLinkClick);
  for (const b of document.querySelectorAll('[data-copy]')) {
    b.addEventListener('click', () => copyField(b.dataset.copy));
  }
  for (const input of [el.linkCustomer, el.linkObserver]) {
    input.addEventListener('focus', () => input.select());
  }
  window.addEventListener('pagehide', () => { if (S.pip) S.pip.close(); stopMic(); });
  window.addEventListener('resize', () => { if (!S.pip) renderAudio(); });

  let saved = '';
  try { saved = localStorage.getItem('sparring.name') || ''; } catch { /* private mode */ }
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('join');
  const repToken = hash.get('rep') || '';
  try {
    if (repToken) sessionStorage.setItem(REP_STORE, repToken);
  } catch { /* private mode */ }
  const stored = savedCall();
  if (stored && stored.token && (!token || token === stored.token)) {
    // This tab was in a call (a reload): go straight back to it.
    S.token = stored.token;
    S.name = stored.name || saved;
    S.stereo = !!stored.stereo;
    S.customerName = stored.customerName || '';
    S.created = stored.created || null;
    S.rejoining = true;
    connect(helloMsg());
  } else if (token) {
    S.token = token;
    el.joinName.value = saved;
    show(el.screenJoin);
    el.joinName.focus();
  } else {
    el.startName.value = saved;
    if (repToken) {
      S.repToken = repToken;
      loadRepName();
    }
    show(el.screenStart);
    (saved ? el.startTitle : el.startName).focus();
    loadLanguages();
  }
}

init();
