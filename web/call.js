// call.js: voice and video calls (protocol 1.2, §24), loaded at the first
// call button or the first CALL event.
//
// The server only introduces the two browsers: the offer, the answer and
// the ICE candidates travel as CALL frames (wire.js formats and parses
// them), then the media go from this browser's RTCPeerConnection to the
// other's, directly or through the TURN server the server names (`TURN`),
// never through wachat. The screens (incoming, in call) are drawn here,
// with text nodes only: every byte from the network is text.

import { request, parseTurn, fold } from './wire.js';
import { addStrings, t } from './i18n.js';
import { clock } from './voice.js';

addStrings({
  en: {
    calling: 'Calling {who}…', incoming: '{who} is calling ({media})',
    voice: 'voice', video: 'video', answer: 'Answer', decline: 'Decline', hangUp: 'Hang up', mute: 'Mute', unmute: 'Unmute',
    cameraOff: 'Camera off', cameraOn: 'Camera on', answeredElsewhere: 'Answered on another device',
    callState: 'Connection: {state}', endDeclined: 'Call declined', endHangup: 'Call ended', endMissed: 'Missed call',
    endGone: 'Call ended: the other side left', endBusy: '{who} is in another call', endFailed: 'Call failed: {why}',
    callLine: '📞 {media} call with {who}, {duration}', callLineShort: '📞 {media} call with {who}: {how}',
    received: '↓ audio {audio} · video {video}',
  },
  es: {
    calling: 'Llamando a {who}…', incoming: '{who} te llama ({media})',
    voice: 'voz', video: 'vídeo', answer: 'Contestar', decline: 'Rechazar', hangUp: 'Colgar', mute: 'Silenciar', unmute: 'Activar micrófono',
    cameraOff: 'Apagar cámara', cameraOn: 'Encender cámara', answeredElsewhere: 'Contestada en otro dispositivo',
    callState: 'Conexión: {state}', endDeclined: 'Llamada rechazada', endHangup: 'Llamada terminada', endMissed: 'Llamada perdida',
    endGone: 'Llamada terminada: el otro lado se fue', endBusy: '{who} está en otra llamada', endFailed: 'La llamada falló: {why}',
    callLine: '📞 Llamada de {media} con {who}, {duration}', callLineShort: '📞 Llamada de {media} con {who}: {how}',
    received: '↓ audio {audio} · vídeo {video}',
  },
  pt: {
    calling: 'Ligando para {who}…', incoming: '{who} está ligando ({media})',
    voice: 'voz', video: 'vídeo', answer: 'Atender', decline: 'Recusar', hangUp: 'Desligar', mute: 'Silenciar', unmute: 'Ativar microfone',
    cameraOff: 'Desligar câmera', cameraOn: 'Ligar câmera', answeredElsewhere: 'Atendida em outro dispositivo',
    callState: 'Conexão: {state}', endDeclined: 'Chamada recusada', endHangup: 'Chamada encerrada', endMissed: 'Chamada perdida',
    endGone: 'Chamada encerrada: o outro lado saiu', endBusy: '{who} está em outra chamada', endFailed: 'A chamada falhou: {why}',
    callLine: '📞 Chamada de {media} com {who}, {duration}', callLineShort: '📞 Chamada de {media} com {who}: {how}',
    received: '↓ áudio {audio} · vídeo {video}',
  },
});

/** A call whose connection stays 'disconnected' this long is hung up (the server ends it too when a tab closes). */
const DISCONNECTED_MS = 10000;
/** How often the in-call screen reads getStats(). */
const STATS_MS = 1000;
/** Most ICE candidates of the peer kept before the remote side is set. */
const MOST_PENDING = 100;

let app = null;
/** The calls of this browser by id: at most one answered, and those ringing here. */
const calls = new Map();

/** Called once, by app.js, when the module loads. */
export function setup(theApp) {
  app = theApp;
  return { start, onEvent };
}

/** A call id: a message id's shape (§1). */
const newCallId = () => `c${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Sends a CALL frame; a refusal ends the call with the server's reason. */
async function signal(call, what) {
  try {
    const { reply } = await app.link().request(request.call(call.peer, call.id, what));
    if (!reply.ok) finish(call, t('endFailed', { why: reply.reason || reply.code }));
  } catch (_) {
    finish(call, t('endFailed', { why: t('offline') }));
  }
}

/** The ICE servers for a call: the TURN server the wachat server names, if any (§24). */
async function iceServers() {
  try {
    const { reply } = await app.link().request(request.turn());
    const turn = reply.ok ? parseTurn(reply.value) : null;
    if (!turn) return [];
    // The TURN server answers STUN too: its server-reflexive candidates as well as its relay.
    return [{ urls: turn.urls.replace(/^turns?:/, 'stun:').replace(/\?.*$/, '') }, turn];
  } catch (_) {
    return [];
  }
}

/** A new RTCPeerConnection for `call`, its candidates sent as they come. */
async function connect(call) {
  // `localStorage['wachat:relay'] = '1'` forces the TURN relay (docs/CALLS.md): what a class sees behind a strict NAT.
  const policy = localStorage.getItem('wachat:relay') === '1' ? 'relay' : 'all';
  const pc = new RTCPeerConnection({ iceServers: await iceServers(), iceTransportPolicy: policy });
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
  call.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: call.media === 'video' });
  for (const track of call.local.getTracks()) pc.addTrack(track, call.local);
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
async function start(media) {
  const chat = app.chat();
  if (!chat || chat.room || [...calls.values()].some((c) => c.state !== 'ringing-here')) return;
  const call = newCall({ id: newCallId(), peer: chat.name, media, role: 'caller', state: 'calling' });
  draw(call);
  try {
    const pc = await connect(call);
    await pc.setLocalDescription(await pc.createOffer());
    await signal(call, { offer: { media, sdp: pc.localDescription.sdp } });
    sent(call);
  } catch (e) {
    finish(call, t('endFailed', { why: e.message || String(e) }));
  }
}

function newCall(fields) {
  const call = { unsent: [], pending: [], sent: false, pc: null, local: null, screen: null, since: 0, ...fields };
  calls.set(call.id, call);
  return call;
}

/** A CALL event (wire.js's parseEvent). */
export function onEvent(event) {
  const call = calls.get(event.id);
  switch (event.what) {
    case 'OFFER':
      if (call || app.model().isMe(event.from)) return;
      ring(newCall({ id: event.id, peer: event.from, media: event.media, role: 'callee', state: 'ringing-here', offer: event.sdp }));
      break;
    case 'ANSWER':
      if (!call) return;
      if (call.role === 'callee' && call.state === 'ringing-here' && app.model().isMe(event.from)) {
        finish(call, t('answeredElsewhere'), false); // another of my devices took it
      } else if (call.role === 'caller' && fold(event.from) === fold(call.peer)) {
        call.state = 'connecting';
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
      if (call) finish(call, endText(event, call));
      break;
  }
}

/** An incoming call: the screen, and a notification if the tab is hidden. */
function ring(call) {
  draw(call);
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    try {
      call.notification = new Notification(t('incoming', { who: call.peer, media: t(call.media) }), { tag: `wachat-call-${call.id}` });
      call.notification.onclick = () => window.focus();
    } catch (_) {
      /* a phone notifies through its service worker only: the screen is there */
    }
  }
}

async function answer(call) {
  call.state = 'connecting';
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
  finish(call, t('endDeclined'), false);
}

function hangUp(call, why) {
  signal(call, { hangup: true });
  finish(call, why ? t('endFailed', { why }) : t('endHangup'));
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
    case 'busy': return t('endBusy', { who: call.peer });
    default: return t('endHangup');
  }
}

/** Ends `call` here: media stopped, screen gone, and its line in the chat (`line` false: nothing to say there). */
function finish(call, text, line = true) {
  if (!calls.has(call.id)) return;
  calls.delete(call.id);
  clearInterval(call.timer);
  clearTimeout(call.lost);
  call.notification?.close();
  call.local?.getTracks().forEach((track) => track.stop());
  call.pc?.close();
  call.screen?.remove();
  if (line) callLine(call, text);
  else app.say(text);
}

/** The call's line in its chat (this tab's, under the messages); a missed call is also a message, from the server. */
function callLine(call, text) {
  const media = t(call.media);
  const line = call.since
    ? t('callLine', { media, who: call.peer, duration: duration(Date.now() - call.since) })
    : t('callLineShort', { media, who: call.peer, how: text });
  if (fold(app.chat()?.name || '') === fold(call.peer)) {
    const item = document.createElement('li');
    item.className = 'call-line';
    item.textContent = line;
    document.getElementById('messages').append(item);
  }
  app.say(line);
}

/** `1:05`: a call's length, as the voice player writes a clip's (one formatter). */
const duration = (ms) => clock(ms / 1000);

const kB = (bytes) => `${Math.round(bytes / 1024)} kB`;

/** Draws `call`'s screen: incoming (answer, decline), or calling and in call (mute, camera, hang up, duration, state). */
function draw(call) {
  if (!call.screen) {
    call.screen = document.createElement('section');
    call.screen.className = 'call-screen';
    call.screen.setAttribute('role', 'dialog');
    call.screen.dataset.call = call.id;
    document.body.append(call.screen);
  }
  const screen = call.screen;
  screen.replaceChildren();
  screen.dataset.state = call.state;
  const title = document.createElement('h2');
  title.textContent = call.state === 'ringing-here'
    ? t('incoming', { who: call.peer, media: t(call.media) })
    : call.state === 'calling' ? t('calling', { who: call.peer }) : call.peer;
  screen.append(title);
  const button = (key, cls, act) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = t(key);
    b.addEventListener('click', act);
    screen.append(b);
    return b;
  };
  if (call.state === 'ringing-here') {
    button('answer', 'call-answer', () => answer(call));
    button('decline', 'call-decline secondary', () => decline(call));
    return;
  }
  if (call.media === 'video') {
    const remote = document.createElement('video');
    remote.className = 'remote';
    remote.autoplay = remote.playsInline = true;
    if (call.pc) remote.srcObject = new MediaStream(call.pc.getReceivers().map((r) => r.track));
    screen.append(remote);
  } else {
    const remote = document.createElement('audio');
    remote.className = 'remote';
    remote.autoplay = true;
    if (call.pc) remote.srcObject = new MediaStream(call.pc.getReceivers().map((r) => r.track));
    screen.append(remote);
  }
  const state = document.createElement('p');
  state.className = 'call-state';
  state.textContent = t('callState', { state: call.pc?.connectionState || 'new' });
  const clock = document.createElement('p');
  clock.className = 'call-duration';
  const bytes = document.createElement('p');
  bytes.className = 'call-bytes';
  screen.append(state, clock, bytes);
  const audio = () => call.local?.getAudioTracks()[0];
  const video = () => call.local?.getVideoTracks()[0];
  const mute = button(audio()?.enabled === false ? 'unmute' : 'mute', 'call-mute secondary', () => {
    if (audio()) audio().enabled = !audio().enabled;
    mute.textContent = t(audio()?.enabled === false ? 'unmute' : 'mute');
  });
  if (call.media === 'video') {
    const camera = button(video()?.enabled === false ? 'cameraOn' : 'cameraOff', 'call-camera secondary', () => {
      if (video()) video().enabled = !video().enabled;
      camera.textContent = t(video()?.enabled === false ? 'cameraOn' : 'cameraOff');
    });
  }
  button('hangUp', 'call-hangup', () => hangUp(call));
  clearInterval(call.timer);
  call.timer = setInterval(() => tick(call, clock, bytes), STATS_MS);
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
    let audio = 0;
    (await call.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio') audio += r.bytesReceived || 0; });
    if (audio > 0) call.screen.dataset.mediaMs = Math.round(performance.now() - from);
    else setTimeout(look, 20);
  };
  look();
}

/** Once a second: the duration, and the media bytes received (getStats), which a student compares with the server's metrics. */
async function tick(call, clock, bytes) {
  if (call.since) clock.textContent = duration(Date.now() - call.since);
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
  bytes.textContent = t('received', { audio: kB(got.audio), video: kB(got.video) }) + (path ? ` · ${path}` : '');
}
