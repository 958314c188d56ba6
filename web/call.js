// call.js: voice and video calls (protocol 1.2, §24), loaded at the first
// call button or the first CALL event.
//
// The server only introduces the two browsers: the offer, the answer and
// the ICE candidates travel as CALL frames (wire.js formats and parses
// them), then the media go from this browser's RTCPeerConnection to the
// other's, directly or through the TURN server the server names (`TURN`),
// never through wachat. The screens (incoming, in call) are drawn here,
// with text nodes only: every byte from the network is text.

import { request, parseTurn, parseHistoryLine, fold } from './wire.js';
import { addStrings, t } from './i18n.js';
import { clock } from './voice.js';
import { say, icon, faces, within, PHONE } from './view.js';
import { draw as drawList, applied } from './chatlist.js';

// The screens' look, loaded with this module (the first visit fetches neither).
document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: '/call.css' }));

addStrings({
  en: {
    calling: 'Calling…', incomingVoice: 'Incoming voice call', incomingVideo: 'Incoming video call', incoming: '{who} is calling ({media})',
    voice: 'voice', video: 'video', answer: 'Answer', decline: 'Decline', hangUp: 'Hang up', unmute: 'Unmute',
    cameraOff: 'Camera off', cameraOn: 'Camera on', answeredElsewhere: 'Answered on another device', callConnecting: 'Connecting…',
    callDetails: 'Details', callState: 'Connection: {state}', endDeclined: 'Call declined', endHangup: 'Call ended', endMissed: 'Missed call',
    endGone: 'Call ended: the other side left', endBusy: '{who} is in another call', endFailed: 'Call failed: {why}',
    callBytes: '↓ audio {audio} · video {video}', via: 'Path: {path}', returnToCall: 'Back to the call with {who}', cameraAndMic: 'The camera and microphone', microphone: 'The microphone',
  },
  es: {
    calling: 'Llamando…', incomingVoice: 'Llamada de voz entrante', incomingVideo: 'Videollamada entrante', incoming: '{who} te llama ({media})',
    voice: 'voz', video: 'vídeo', answer: 'Contestar', decline: 'Rechazar', hangUp: 'Colgar', unmute: 'Activar micrófono',
    cameraOff: 'Apagar cámara', cameraOn: 'Encender cámara', answeredElsewhere: 'Contestada en otro dispositivo', callConnecting: 'Conectando…',
    callDetails: 'Detalles', callState: 'Conexión: {state}', endDeclined: 'Llamada rechazada', endHangup: 'Llamada terminada', endMissed: 'Llamada perdida',
    endGone: 'Llamada terminada: el otro lado se fue', endBusy: '{who} está en otra llamada', endFailed: 'La llamada falló: {why}',
    callBytes: '↓ audio {audio} · vídeo {video}', via: 'Camino: {path}', returnToCall: 'Volver a la llamada con {who}', cameraAndMic: 'La cámara y el micrófono', microphone: 'El micrófono',
  },
  pt: {
    calling: 'Ligando…', incomingVoice: 'Chamada de voz recebida', incomingVideo: 'Chamada de vídeo recebida', incoming: '{who} está ligando ({media})',
    voice: 'voz', video: 'vídeo', answer: 'Atender', decline: 'Recusar', hangUp: 'Desligar', unmute: 'Ativar microfone',
    cameraOff: 'Desligar câmera', cameraOn: 'Ligar câmera', answeredElsewhere: 'Atendida em outro dispositivo', callConnecting: 'Conectando…',
    callDetails: 'Detalhes', callState: 'Conexão: {state}', endDeclined: 'Chamada recusada', endHangup: 'Chamada encerrada', endMissed: 'Chamada perdida',
    endGone: 'Chamada encerrada: o outro lado saiu', endBusy: '{who} está em outra chamada', endFailed: 'A chamada falhou: {why}',
    callBytes: '↓ áudio {audio} · vídeo {video}', via: 'Caminho: {path}', returnToCall: 'Voltar à chamada com {who}', cameraAndMic: 'A câmera e o microfone', microphone: 'O microfone',
  },
});

/** A call whose connection stays 'disconnected' this long is hung up (the server ends it too when a tab closes). */
const DISCONNECTED_MS = 10000;
/** How long the chat's foot says how a call ended. */
const ENDED_MS = 5000;
/** How often the in-call screen reads getStats(). */
const STATS_MS = 1000;
/** How long the camera and microphone (and their permission's prompt) may take: 30 s, then the call fails saying so. */
const DEVICES_MS = 30000;

/** Most ICE candidates of the peer kept before the remote side is set. */
const MOST_PENDING = 100;

/**
 * The call screens' icons (a room's call's too, groupcall.js), lines drawn as the header's (view.js `icon`):
 * never an emoji, which a computer without an emoji font shows as a box.
 */
const CAMERA = [['rect', { x: '2.5', y: '6', width: '13', height: '12', rx: '2' }], ['path', { d: 'M15.5 10.5 21.5 7v10l-6-3.5z' }]];
const MIC = [['rect', { x: '9', y: '3', width: '6', height: '11', rx: '3' }], ['path', { d: 'M5 11a7 7 0 0 0 14 0M12 18v3' }]];
const SLASH = ['path', { d: 'M4 4l16 16' }];
export const ICONS = {
  phone: () => icon(PHONE),
  camera: () => icon(...CAMERA),
  cameraOff: () => icon(...CAMERA, SLASH),
  mic: () => icon(...MIC),
  micOff: () => icon(...MIC, SLASH),
};

/** A round button of a call's screen (call.css's look; a room's call's too, groupcall.js): `shape`'s icon, `key`'s words. */
export function callButton(shape, key, cls, act) {
  const b = document.createElement('button');
  b.className = `call-button ${cls}`;
  b.type = 'button';
  b.setAttribute('aria-label', t(key));
  const drawn = document.createElement('span');
  drawn.className = 'call-icon';
  drawn.append(ICONS[shape]());
  const label = document.createElement('span');
  label.className = 'call-label';
  label.textContent = t(key);
  b.append(drawn, label);
  b.addEventListener('click', act);
  return b;
}

/** The calls of this browser by id: at most one answered, and those ringing here. */
const calls = new Map();

/** Called once, by events.js's `calling`, when the module loads: the call button's `start` and the CALL events' `onEvent`, for `app`, the app's state (state.js). */
export function setup(app) {
  return { start: (media) => start(app, media), onEvent: (event) => onEvent(app, event) };
}

/** A call id: a message id's shape (§1). */
const newCallId = () => `c${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Sends a CALL frame; a refusal ends the call with the server's reason. */
async function signal(call, what) {
  try {
    const { reply } = await call.app.link.request(request.call(call.peer, call.id, what));
    if (!reply.ok) finish(call, t('endFailed', { why: reply.reason || reply.code }));
  } catch (_) {
    finish(call, t('endFailed', { why: t('offline') }));
  }
}

/**
 * The ICE servers for `call`: the TURN server the wachat server names, if
 * any (§24), whose credentials it hands out for a call with this peer
 * only (a refusal: no relay, the call goes on with direct paths).
 */
async function iceServers(call) {
  try {
    const { reply } = await call.app.link.request(request.turn(call.peer));
    const turn = reply.ok ? parseTurn(reply.value) : null;
    if (!turn) return [];
    // The TURN server answers STUN too: its server-reflexive candidates as well as its relay.
    return [{ urls: turn.urls.replace(/^turns?:/, 'stun:').replace(/\?.*$/, '') }, turn];
  } catch (_) {
    return [];
  }
}

/** `localStorage['wachat:relay'] = '1'` forces the TURN relay (docs/CALLS.md): what a class sees behind a strict NAT. */
const relayPolicy = () => (localStorage.getItem('wachat:relay') === '1' ? 'relay' : 'all');

/**
 * A new RTCPeerConnection for `call`, its candidates sent as they come.
 * The callee's has the TURN server at once (its call rings); the caller's
 * gets it once its offer went (`relayed`): the server hands credentials
 * only for a call that rings.
 */
async function connect(call) {
  const iceServersNow = call.role === 'callee' ? await iceServers(call) : [];
  const pc = new RTCPeerConnection({ iceServers: iceServersNow, iceTransportPolicy: relayPolicy() });
  call.pc = pc;
  pc.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    const json = JSON.stringify(e.candidate.toJSON());
    if (call.sent) signal(call, { ice: json });
    else call.unsent.push(json);
  };
  pc.ontrack = (e) => {
    const media = call.screen?.querySelector('video.remote');
    if (media && e.streams[0]) media.srcObject = e.streams[0];
  };
  pc.onconnectionstatechange = () => connectionChanged(call);
  // The permission's prompt and the devices: a limit, and the call fails saying which did not answer.
  const devices = navigator.mediaDevices.getUserMedia({ audio: true, video: call.media === 'video' });
  call.local = await within(devices, DEVICES_MS, t(call.media === 'video' ? 'cameraAndMic' : 'microphone'), (late) => late.getTracks().forEach((track) => track.stop()));
  for (const track of call.local.getTracks()) pc.addTrack(track, call.local);
  const self = call.screen?.querySelector('video.self');
  if (self) self.srcObject = call.local;
  return pc;
}

/** The caller's first signal went: its candidates follow. */
function sent(call) {
  if (!calls.has(call.id)) return; // refused, or ended meanwhile
  call.sent = true;
  for (const json of call.unsent.splice(0)) signal(call, { ice: json });
}

/** Candidates from the other side wait until its description is set. */
async function addCandidates(call) {
  if (!call.pc || !call.pc.remoteDescription) return;
  for (const json of call.pending.splice(0)) {
    try {
      await call.pc.addIceCandidate(JSON.parse(json));
    } catch (_) {
      /* a candidate this browser cannot use: the others may do */
    }
  }
}

/** The call button: calls the open direct chat's user. */
async function start(app, media) {
  const chat = app.view.chat;
  if (!chat || chat.room || [...calls.values()].some((c) => c.state !== 'ringing-here')) return;
  const call = newCall({ app, id: newCallId(), peer: chat.name, media, role: 'caller', state: 'calling' });
  draw(call);
  try {
    const pc = await connect(call);
    // The offer first, its candidates gathered after: the TURN server's
    // credentials come only for a call that rings (§24).
    const offer = await pc.createOffer();
    await signal(call, { offer: { media, sdp: offer.sdp } });
    if (!calls.has(call.id)) return; // refused, or found busy
    pc.setConfiguration({ iceServers: await iceServers(call), iceTransportPolicy: relayPolicy() });
    await pc.setLocalDescription(offer);
    if (call.state === 'calling') playTone(call, 'ringback');
    sent(call);
  } catch (e) {
    finish(call, t('endFailed', { why: e.message || String(e) }));
  }
}

/** A call: `fields` (its `app`: the state whose link it signals on), and what it gathers. */
function newCall(fields) {
  const call = { unsent: [], pending: [], sent: false, pc: null, local: null, screen: null, since: 0, ...fields };
  calls.set(call.id, call);
  return call;
}

/** A CALL event (wire.js's parseEvent). */
function onEvent(app, event) {
  const call = calls.get(event.id);
  switch (event.what) {
    case 'OFFER':
      if (call || app.model.isMe(event.from)) return;
      ring(newCall({ app, id: event.id, peer: event.from, media: event.media, role: 'callee', state: 'ringing-here', offer: event.sdp }));
      break;
    case 'ANSWER':
      if (!call) return;
      if (call.role === 'callee' && call.state === 'ringing-here' && app.model.isMe(event.from)) {
        finish(call, t('answeredElsewhere')); // another of my devices took it
      } else if (call.role === 'caller' && fold(event.from) === fold(call.peer)) {
        call.state = 'connecting';
        stopTone(call);
        watchMedia(call);
        call.pc.setRemoteDescription({ type: 'answer', sdp: event.sdp }).then(() => addCandidates(call)).catch((e) => hangUp(call, e.message));
        draw(call);
      }
      break;
    case 'ICE':
      if (!call || fold(event.from) !== fold(call.peer)) return;
      // Kept until the answer sets the remote side: a peer may not make
      // the list grow while the call rings (a browser sends a few dozen).
      if (call.pending.length < MOST_PENDING) call.pending.push(event.candidate);
      addCandidates(call);
      break;
    case 'END':
      // Only the call's two ends end it: another user's call may carry the same id.
      if (call && (fold(event.from) === fold(call.peer) || app.model.isMe(event.from))) {
        finish(call, endText(event, call));
        if (call.role === 'caller') caughtUp(app, call.peer);
      }
      break;
  }
}

/** An incoming call: the screen, the ringtone, and a notification if the tab is hidden. */
function ring(call) {
  draw(call);
  playTone(call, 'ringtone');
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    try {
      call.notification = new Notification(t('incoming', { who: faces.shown(call.peer), media: t(call.media) }), { tag: `wachat-call-${call.id}` });
      call.notification.onclick = () => window.focus();
    } catch (_) {
      /* a phone notifies through its service worker only: the screen is there */
    }
  }
}

async function answer(call) {
  call.state = 'connecting';
  stopTone(call);
  draw(call);
  try {
    const pc = await connect(call);
    await pc.setRemoteDescription({ type: 'offer', sdp: call.offer });
    await addCandidates(call);
    await pc.setLocalDescription(await pc.createAnswer());
    watchMedia(call);
    await signal(call, { answer: pc.localDescription.sdp });
    sent(call);
  } catch (e) {
    hangUp(call, e.message || String(e));
  }
}

function decline(call) {
  signal(call, { decline: true });
  finish(call, t('endDeclined'));
}

function hangUp(call, why) {
  // Its answer comes once the call's line is stored.
  signal(call, { hangup: true }).then(() => { if (call.role === 'caller') caughtUp(call.app, call.peer); });
  finish(call, why ? t('endFailed', { why }) : t('endHangup'));
}

/**
 * The call's line, from the server: the callee gets it as a message; the
 * caller, in whose name the server stores it, is told of no message of
 * its own, so it asks for the chat's newest lines (the line, and the
 * fold of a missed call into the one before) once the end is told,
 * which is after the line is stored.
 */
export async function caughtUp(app, peer) {
  try {
    const { reply, lines } = await app.link.request(request.history(peer, 3));
    if (!reply.ok) return;
    for (const line of lines) {
      const msg = parseHistoryLine(line);
      if (!msg) continue;
      const result = app.model.add(msg);
      if (result.added && app.view.chat === result.chat) app.view.append(result.msg);
      else if (!result.msg) applied(app, result);
    }
    drawList(app);
  } catch (_) {
    /* offline: the line comes with the chat's next HISTORY */
  }
}

function connectionChanged(call) {
  const state = call.pc?.connectionState;
  if (state === 'connected' && !call.since) {
    call.since = Date.now();
    call.state = 'in-call';
  }
  if (state === 'failed') hangUp(call, state);
  clearTimeout(call.lost);
  if (state === 'disconnected') call.lost = setTimeout(() => hangUp(call, state), DISCONNECTED_MS);
  draw(call);
}

function endText(event, call) {
  switch (event.why) {
    case 'declined': return t('endDeclined');
    case 'missed': return t('endMissed');
    case 'gone': return t('endGone');
    case 'busy': return t('endBusy', { who: faces.shown(call.peer) });
    default: return t('endHangup');
  }
}

/**
 * Ends `call` here: its sounds and media stopped, its screen gone, and
 * why, in the status line. Its line in the chat is the server's, which
 * arrives as a message (`📞 Voice call, 4:12`: view.js draws it).
 */
function finish(call, text) {
  if (!calls.has(call.id)) return;
  calls.delete(call.id);
  stopTone(call);
  clearInterval(call.timer);
  clearTimeout(call.lost);
  call.notification?.close();
  call.local?.getTracks().forEach((track) => track.stop());
  call.pc?.close();
  call.screen?.remove();
  say(text);
  // Said for a while, then the chat's foot is free again (for "… is typing").
  setTimeout(() => { if (document.getElementById('typing').textContent === text) say(''); }, ENDED_MS);
}

/** `1:05`: a call's length, as the voice player writes a clip's (one formatter). */
const duration = (ms) => clock(ms / 1000);

const kB = (bytes) => `${Math.round(bytes / 1024)} kB`;

/**
 * Draws `call`'s screen, full screen on a phone: who and how long (or
 * what is happening), the other's video large and this side's small, and
 * big round buttons: answer and decline while it rings here; mute,
 * camera and hang up otherwise. The connection's facts (its state, its
 * path, the bytes received) wait behind "Details".
 */
function draw(call) {
  if (!call.screen) {
    call.screen = document.createElement('section');
    call.screen.className = 'call-screen';
    call.screen.setAttribute('role', 'dialog');
    call.screen.dataset.call = call.id;
    document.body.append(call.screen);
  }
  const screen = call.screen;
  // The phone's Back makes the screen small, the call going on (back.js); a tap brings it back.
  screen.shut = () => screen.classList.add('minimized');
  screen.replaceChildren();
  screen.dataset.state = call.state;
  screen.dataset.media = call.media;
  screen.setAttribute('aria-label', faces.shown(call.peer));
  const node = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const media = (tag, cls) => {
    const e = node(tag, cls);
    e.autoplay = true;
    if (tag === 'video') e.playsInline = true;
    return e;
  };
  // The other side: its video large (a voice call plays it unseen), or its initial.
  if (call.state !== 'ringing-here') {
    const remote = media(call.media === 'video' ? 'video' : 'audio', 'remote');
    if (call.pc) remote.srcObject = new MediaStream(call.pc.getReceivers().map((r) => r.track));
    screen.append(remote);
  }
  if (call.media !== 'video' || call.state === 'ringing-here') {
    // The other's photo (profiles.js's), else the initial of the name the app knows them by.
    const photo = faces.photo(call.peer);
    const face = node('div', 'call-avatar', photo ? undefined : (faces.name(call.peer) || call.peer).slice(0, 1).toUpperCase());
    if (photo) face.append(Object.assign(node('img'), { src: photo, alt: '' }));
    screen.append(face);
  }
  if (call.media === 'video' && call.state !== 'ringing-here') {
    const self = media('video', 'self');
    self.muted = true; // never this side's own sound
    if (call.local) self.srcObject = call.local;
    screen.append(self);
  }
  const back = node('button', 'call-return', t('returnToCall', { who: faces.shown(call.peer) }));
  back.type = 'button';
  back.addEventListener('click', () => screen.classList.remove('minimized'));
  screen.append(back);
  const who = node('header', 'call-who');
  who.append(node('h2', null, faces.shown(call.peer)));
  const status = node('p', 'call-duration', statusText(call));
  who.append(status);
  screen.append(who);

  const controls = node('div', 'call-controls');
  const button = (shape, key, cls, act) => {
    const b = callButton(shape, key, cls, act);
    controls.append(b);
    return b;
  };
  screen.append(controls);
  if (call.state === 'ringing-here') {
    button('phone', 'decline', 'call-decline', () => decline(call));
    button(call.media === 'video' ? 'camera' : 'phone', 'answer', 'call-answer', () => answer(call));
    return;
  }
  const audio = () => call.local?.getAudioTracks()[0];
  const video = () => call.local?.getVideoTracks()[0];
  const toggle = (b, track, on, off, iconOn, iconOff) => {
    const enabled = track()?.enabled !== false;
    b.setAttribute('aria-pressed', String(!enabled));
    b.setAttribute('aria-label', t(enabled ? on : off));
    b.querySelector('.call-icon').replaceChildren(ICONS[enabled ? iconOn : iconOff]());
    b.querySelector('.call-label').textContent = t(enabled ? on : off);
  };
  const mute = button('mic', 'mute', 'call-mute', () => {
    if (audio()) audio().enabled = !audio().enabled;
    toggle(mute, audio, 'mute', 'unmute', 'mic', 'micOff');
  });
  toggle(mute, audio, 'mute', 'unmute', 'mic', 'micOff');
  if (call.media === 'video') {
    const camera = button('camera', 'cameraOff', 'call-camera', () => {
      if (video()) video().enabled = !video().enabled;
      toggle(camera, video, 'cameraOff', 'cameraOn', 'camera', 'cameraOff');
    });
    toggle(camera, video, 'cameraOff', 'cameraOn', 'camera', 'cameraOff');
  }
  button('phone', 'hangUp', 'call-hangup', () => hangUp(call));

  const details = node('details', 'call-details');
  details.open = Boolean(call.detailsOpen);
  details.addEventListener('toggle', () => { call.detailsOpen = details.open; });
  const state = node('p', 'call-state', t('callState', { state: call.pc?.connectionState || 'new' }));
  const bytes = node('p', 'call-bytes');
  details.append(node('summary', null, t('callDetails')), state, bytes);
  screen.append(details);
  clearInterval(call.timer);
  call.timer = setInterval(() => tick(call, status, bytes), STATS_MS);
}

/** What the screen says under the name: calling, ringing, connecting, or how long. */
function statusText(call) {
  switch (call.state) {
    case 'ringing-here': return t(call.media === 'video' ? 'incomingVideo' : 'incomingVoice');
    case 'calling': return t('calling');
    case 'in-call': return duration(Date.now() - call.since);
    default: return t('callConnecting');
  }
}

/**
 * The sounds of a call, made in the page (WebAudio: no file to fetch):
 * the callee's ringtone, two short rising tones every 2 s, and the
 * caller's ringback, the telephone's 425 Hz, 1 s in every 4.
 */
const TONES = {
  ringtone: { freqs: [660, 880], beeps: [[0, 0.35], [0.5, 0.35]], every: 2 },
  ringback: { freqs: [425], beeps: [[0, 1]], every: 4 },
};
/** How loud a tone plays (of the page's full volume). */
const TONE_GAIN = 0.15;

/** Plays `kind` for `call` until stopTone (its screen says which, `data-tone`, once the sound runs). */
export function playTone(call, kind) {
  stopTone(call);
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  const ctx = new Context();
  const gain = ctx.createGain();
  gain.gain.value = 0;
  gain.connect(ctx.destination);
  const { freqs, beeps, every } = TONES[kind];
  const oscillators = freqs.map((frequency) => {
    const o = ctx.createOscillator();
    o.frequency.value = frequency;
    const g = ctx.createGain();
    // The ringtone's two tones one after the other; the ringback's one, steady.
    g.gain.value = freqs.length > 1 ? 0 : 1;
    o.connect(g).connect(gain);
    o.start();
    return g;
  });
  const schedule = () => {
    const now = ctx.currentTime;
    beeps.forEach(([at, length], i) => {
      const pitch = oscillators[Math.min(i, oscillators.length - 1)].gain;
      if (oscillators.length > 1) {
        pitch.setValueAtTime(1, now + at);
        pitch.setValueAtTime(0, now + at + length);
      }
      gain.gain.setValueAtTime(TONE_GAIN, now + at);
      gain.gain.setValueAtTime(0, now + at + length);
    });
  };
  schedule();
  const timer = setInterval(schedule, every * 1000);
  call.tone = { ctx, timer };
  const shown = () => { if (call.tone?.ctx === ctx && call.screen) call.screen.dataset.tone = ctx.state === 'running' ? kind : ''; };
  ctx.onstatechange = shown;
  ctx.resume().then(shown, () => {});
}

export function stopTone(call) {
  if (!call.tone) return;
  clearInterval(call.tone.timer);
  call.tone.ctx.close().catch(() => {});
  call.tone = null;
  if (call.screen) call.screen.dataset.tone = '';
}

/**
 * From this side of the answer to the first audio byte, read every 20 ms:
 * the time a student waits before hearing the other side, kept on the
 * screen (`data-media-ms`) until the call ends.
 */
function watchMedia(call) {
  const from = performance.now();
  const look = async () => {
    if (!calls.has(call.id) || !call.pc) return;
    const got = { audio: 0, video: 0 };
    (await call.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind in got) got[r.kind] += r.bytesReceived || 0; });
    const ms = String(Math.round(performance.now() - from));
    if (got.audio > 0 && !call.screen.dataset.mediaMs) call.screen.dataset.mediaMs = ms;
    // A video call's first picture's bytes too (`data-video-ms`).
    if (got.video > 0 && !call.screen.dataset.videoMs) call.screen.dataset.videoMs = ms;
    if (!call.screen.dataset.mediaMs || (call.media === 'video' && !call.screen.dataset.videoMs)) setTimeout(look, 20);
  };
  look();
}

/** Once a second: the duration, and the media bytes received (getStats), which a student compares with the server's metrics. */
async function tick(call, status, bytes) {
  status.textContent = statusText(call);
  if (!call.pc) return;
  const got = { audio: 0, video: 0 };
  const stats = await call.pc.getStats();
  let pair = null;
  stats.forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind in got) got[report.kind] += report.bytesReceived || 0;
    if (report.type === 'transport' && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
  });
  // The path the media take: `host` (straight), `srflx` (through a NAT), or `relay` (through the TURN server).
  const path = pair && stats.get(pair.localCandidateId)?.candidateType;
  call.screen.dataset.inboundAudio = got.audio;
  call.screen.dataset.inboundVideo = got.video;
  if (path) call.screen.dataset.path = path;
  bytes.textContent = t('callBytes', { audio: kB(got.audio), video: kB(got.video) }) + (path ? ` · ${t('via', { path })}` : '');
}
