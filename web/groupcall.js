// groupcall.js: a room's call, a group call (protocol 1.2, §32), loaded
// at the first call button of a room, the first GROUPCALL event, or a
// call going on at the login (GROUPCALLS).
//
// The server starts the call, rings the room's members, says who joins
// and leaves, and passes each offer, answer and candidate from one
// member in the call to another's device in it, never to anyone else.
// The media go from this browser to each other member's (a mesh: one
// RTCPeerConnection per member, straight or through the TURN server the
// server names), never through wachat. Whoever joins offers to each
// member already in, who answers: two never offer to each other.
// Drawn with text nodes only: every byte from the network is text.

import { request, parseTurn, parseGroupCallLine, fold, isUser, serverOf } from './wire.js';
import { addStrings, t } from './i18n.js';
import { clock } from './voice.js';
import { say } from './view.js';
import { playTone, stopTone, caughtUp, ICONS, callButton } from './call.js';

// The grid's look, loaded with this module (call.js brings the call screens' own).
document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: '/groupcall.css' }));

addStrings({
  en: {
    returnToRoomCall: 'Back to the call in {room}', groupIncoming: 'Group {media} call from {who}', joinCall: 'Join', joinCallIn: 'Join the call in {room}', leaveCall: 'Leave',
    groupWaiting: 'Waiting for the others…', groupCount: '{n} in the call', groupEnded: 'The call ended', outOfCall: 'You are out of the call',
    joinedElsewhere: 'Joined on another device', groupMuted: 'muted', groupNoPicture: 'camera off', groupSpeaking: 'speaking',
  },
  es: {
    returnToRoomCall: 'Volver a la llamada de {room}', groupIncoming: 'Llamada de {media} en grupo de {who}', joinCall: 'Unirse', joinCallIn: 'Unirse a la llamada de {room}', leaveCall: 'Salir',
    groupWaiting: 'Esperando a los demás…', groupCount: '{n} en la llamada', groupEnded: 'La llamada terminó', outOfCall: 'Estás fuera de la llamada',
    joinedElsewhere: 'Unido en otro dispositivo', groupMuted: 'silenciado', groupNoPicture: 'cámara apagada', groupSpeaking: 'hablando',
  },
  pt: {
    returnToRoomCall: 'Voltar à chamada de {room}', groupIncoming: 'Chamada de {media} em grupo de {who}', joinCall: 'Entrar', joinCallIn: 'Entrar na chamada de {room}', leaveCall: 'Sair',
    groupWaiting: 'Esperando os outros…', groupCount: '{n} na chamada', groupEnded: 'A chamada terminou', outOfCall: 'Você está fora da chamada',
    joinedElsewhere: 'Entrou em outro dispositivo', groupMuted: 'silenciado', groupNoPicture: 'câmera desligada', groupSpeaking: 'falando',
  },
});

/**
 * How often the screen listens to each member's connection (about 4
 * times a second; its picture about once a second): the level and the
 * time stamp of the last packet of sound and of picture its receivers
 * kept (`getSynchronizationSources()`, a read of what the receiver holds,
 * where `getStats()` gathers a report of everything the connection
 * counts, too dear to ask often of seven). 230 ms, not 250: a read sees
 * the last packet only, and a sound that comes back every half second
 * (chromium's fake microphone beeps 20 ms of every 500) would be read at
 * the same two moments of it for as long as the clocks agree, every time
 * between its beeps; at 230 the reads fall on every part of it in turn.
 */
const LISTEN_MS = 230;
/** A member whose sound (or picture) did not move for this long shows muted (or its initial). */
const QUIET_MS = 2500;
/** Most ICE candidates of a member kept before its description is set. */
const MOST_PENDING = 100;
/** The level of sound (0 to 1, 1 being the loudest, -34 dBov here) above which a member speaks. */
const SPEAKING_LEVEL = 0.02;
/** How long a member shows speaking after its last loud packet: words have gaps. */
const SPEAKING_HOLD_MS = 750;
/** How long the chat's foot says how the call ended. */
const ENDED_MS = 5000;
/**
 * The picture each member sends: in a mesh each browser encodes its
 * picture once for every other member, and shows every other member's
 * in a tile, so a tile's size is enough (docs/CALLS.md measures what it
 * costs): 480x360 at 15 frames a second at most, and 300 kbit/s to each.
 */
const VIDEO = { width: { ideal: 480 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 15 } };
const VIDEO_BITRATE = 300_000;

/**
 * How I ask the others to send me their sound, said in each description
 * I send (`lean`): Opus in packets of 60 ms (`a=ptime`, where a browser
 * sends 20 ms: a third of the packets, each crossing the network, the
 * browser's processes and the decoder's queue) and nothing while its
 * sender is quiet (`usedtx=1`, Opus's discontinuous transmission: a
 * packet every 400 ms of silence). A call of eight brings each browser
 * seven sounds, most of them quiet most of the time (docs/CALLS.md
 * measures what that saves).
 */
const SOUND_PTIME_MS = 60;

/** The calls going on in my rooms, by folded room: `{room, id, by, media, members: Map<folded, name>}`. */
const live = new Map();
/** The call ringing here (`{app, room, id, by, media, screen}`), or null. */
let ringing = null;
/** The call this browser is in, or null (`newCall`). */
let mine = null;

/** Called once, by events.js's `groupCalling`: the controls of a room's calls for `app`, the app's state (state.js). */
export function setup(app) {
  return {
    start: (media) => start(app, media),
    onEvent: (event) => onEvent(app, event),
    listed: (lines) => listed(app, lines),
    decorate: () => decorate(app),
  };
}

/** `localStorage['wachat:relay'] = '1'` forces the TURN relay (docs/CALLS.md), as for a 1:1 call. */
const relayPolicy = () => (localStorage.getItem('wachat:relay') === '1' ? 'relay' : 'all');

/** The TURN server for the call I am in (`TURN`, granted to a member in a call), or none. */
async function iceServers(app) {
  try {
    const { reply } = await app.link.request(request.turn());
    const turn = reply.ok ? parseTurn(reply.value) : null;
    if (!turn) return [];
    return [{ urls: turn.urls.replace(/^turns?:/, 'stun:').replace(/\?.*$/, '') }, turn];
  } catch (_) {
    return [];
  }
}

/** The call button in a room: joins its call if one goes on, else starts one. */
async function start(app, media) {
  const chat = app.view.chat;
  if (!chat?.room || mine) return;
  const going = live.get(fold(chat.name));
  if (going) return join(app, going);
  const room = chat.name;
  const call = newCall(app, room, null, media);
  draw(call);
  call.screen.dataset.startedAt = String(Date.now()); // for the time from the start to the first ring (docs/CALLS.md)
  try {
    const { reply } = await app.link.request(request.groupCall(room, { start: media }));
    if (!reply.ok) return finish(call, t('endFailed', { why: reply.reason || reply.code }));
    call.id = reply.value;
    note({ room, id: call.id, by: app.model.me, media, members: [app.model.me] });
    draw(call);
    myLine(app, room, call.id, false); // the call's line, stored in my name: no event brings it here
    ready(call);
    await call.ready;
  } catch (e) {
    hangUp(call, e.message || String(e));
  }
}

/** Joins `going`, a call of my rooms: each member in it gets an offer. */
async function join(app, going) {
  if (mine) return;
  if (ringing?.id === going.id) stopRing(null);
  const call = newCall(app, going.room, going.id, going.media);
  draw(call);
  try {
    const { reply } = await app.link.request(request.groupCall(going.room, { join: going.id }));
    if (!reply.ok) return finish(call, t('endFailed', { why: reply.reason || reply.code }));
    ready(call);
    await call.ready;
    for (const other of reply.value.split(',').filter(isUser)) offerTo(call, other);
  } catch (e) {
    hangUp(call, e.message || String(e));
  }
}

/** The call I am in now: `id` null until the server says it (a start). */
function newCall(app, room, id, media) {
  mine = { app, room, id, media, peers: new Map(), local: null, iceServers: [], ready: null, screen: null, since: performance.now(), mic: true, camera: true };
  return mine;
}

/** My camera and microphone, and the TURN server (asked once I am in the call): what every connection waits for. */
function ready(call) {
  call.ready = (async () => {
    call.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: call.media === 'video' && VIDEO });
    call.iceServers = await iceServers(call.app);
    drawSelf(call);
  })();
}

/**
 * The line of my call `id` in `room`, stored in my name (as it starts,
 * or, `ended`, edited as it ends), which no event brings to my own
 * devices: read from the room's last messages. A room of this server
 * stores it before it answers the start or tells the end; one of another
 * server (1.3) stores it at its home, which sends it across the link
 * beside the call's events, and this server takes it when it comes, maybe
 * after them: asked again, a few times over some 15 s, until it is there
 * (and reads ended).
 */
async function myLine(app, room, id, ended) {
  const { parse } = await import('./calllog.js');
  for (const wait of serverOf(room) ? [0, 250, 500, 1000, 2000, 4000, 8000] : [0]) {
    if (wait) await new Promise((done) => setTimeout(done, wait));
    await caughtUp(app, room);
    const line = app.model.chat(room).keys.get(`${fold(app.model.me)}\n${id}`);
    if (line && (!ended || parse(line.text)?.seconds !== undefined)) return;
  }
}

/** Sends a signal to member `peer` in the call (`what`: an offer, an answer or a candidate). */
async function signal(call, peer, what) {
  try {
    const { reply } = await call.app.link.request(request.groupCall(call.room, { id: call.id, to: peer.name, ...what }));
    // Refused as not in the call, the member left meanwhile; past a bound
    // (FULL, RATE_LIMITED) this signal alone is lost.
    if (!reply.ok && reply.code === 'BAD_REQUEST') drop(call, fold(peer.name));
  } catch (_) {
    /* offline: the call ends with this device's connection */
  }
}

/** The connection to member `name` (made at its first need), with my tracks, the ones I turned off sending nothing. */
function peerOf(call, name) {
  const key = fold(name);
  const known = call.peers.get(key);
  if (known?.pc) return known;
  const pc = new RTCPeerConnection({ iceServers: call.iceServers, iceTransportPolicy: relayPolicy() });
  const peer = Object.assign(known || { name, tile: null }, { pc, pending: [], unsent: [], sent: false, since: performance.now(), seen: {} });
  call.peers.set(key, peer);
  pc.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    const json = JSON.stringify(e.candidate.toJSON());
    if (peer.sent) signal(call, peer, { ice: json });
    else peer.unsent.push(json);
  };
  pc.ontrack = (e) => {
    peer.stream = e.streams[0];
    drawTile(call, peer);
    timeFirst(peer, e.track);
  };
  // A path that broke (a network that changed, a machine too busy to
  // answer the checks) is looked for again by the one who offered (an
  // ICE restart: new candidates, one offer and its answer); the other
  // waits for it. A member who left is dropped by its LEFT.
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'failed' && peer.offered) restart(call, peer);
  };
  peer.senders = {};
  for (const track of call.local.getTracks()) {
    const sender = pc.addTrack(track, call.local);
    peer.senders[track.kind] = sender;
    if (!on(call, track.kind)) sender.replaceTrack(null);
    if (track.kind === 'video') {
      const params = sender.getParameters();
      params.encodings = [{ ...(params.encodings?.[0] || {}), maxBitrate: VIDEO_BITRATE }];
      sender.setParameters(params).catch(() => { /* before negotiation some browsers refuse: the default then */ });
    }
  }
  drawTile(call, peer);
  return peer;
}

/**
 * From my Join (a member I offer to) or its offer's coming (one who
 * offers to me) to its first sound and first picture: a remote track
 * is muted until its first packet comes, and unmutes then. Kept on its
 * tile (`data-audio-ms`, `data-video-ms`) for docs/CALLS.md's figures.
 */
function timeFirst(peer, track) {
  const key = track.kind === 'audio' ? 'audioMs' : 'videoMs';
  const mark = () => {
    const d = peer.tile?.dataset;
    if (d && !d[key]) d[key] = String(Math.round(performance.now() - peer.since));
  };
  if (track.muted) track.addEventListener('unmute', mark, { once: true });
  else mark();
}

/** Whether I send my sound (`audio`) or picture (`video`) now. */
const on = (call, kind) => (kind === 'audio' ? call.mic : call.camera);

/** My first signal to `peer` went: my candidates follow it. */
function sent(call, peer) {
  peer.sent = true;
  for (const json of peer.unsent.splice(0)) signal(call, peer, { ice: json });
}

/**
 * `sdp`, my description, as sent to a member: its Opus line asking for
 * discontinuous transmission and its sound section for 60 ms packets
 * (SOUND_PTIME_MS). What I send is what the other's encoder follows;
 * my own description stays the browser's.
 */
function lean(sdp) {
  const lines = sdp.split('\r\n');
  const opus = lines.map((l) => /^a=rtpmap:(\d+) opus\/48000/i.exec(l)?.[1]).find(Boolean);
  const audio = lines.findIndex((l) => l.startsWith('m=audio '));
  if (!opus || audio < 0) return sdp;
  const end = lines.findIndex((l, i) => i > audio && l.startsWith('m='));
  const section = lines.slice(audio, end < 0 ? lines.length : end);
  const fmtp = section.findIndex((l) => l.startsWith(`a=fmtp:${opus} `));
  if (fmtp < 0) return sdp;
  if (!/(^|;)usedtx=/.test(section[fmtp].split(' ')[1])) section[fmtp] += ';usedtx=1';
  if (!section.some((l) => l.startsWith('a=ptime:'))) section.splice(fmtp + 1, 0, `a=ptime:${SOUND_PTIME_MS}`);
  return [...lines.slice(0, audio), ...section, ...(end < 0 ? [] : lines.slice(end))].join('\r\n');
}

async function offerTo(call, name) {
  const peer = peerOf(call, name);
  peer.since = call.since; // its first sound and picture are timed from my Join
  peer.offered = true;
  try {
    await peer.pc.setLocalDescription(await peer.pc.createOffer());
    await signal(call, peer, { offer: lean(peer.pc.localDescription.sdp) });
    sent(call, peer);
  } catch (_) {
    drop(call, fold(name));
  }
}

/** My connection to `peer` failed: an offer with new candidates (`iceRestart`). */
async function restart(call, peer) {
  try {
    await peer.pc.setLocalDescription(await peer.pc.createOffer({ iceRestart: true }));
    await signal(call, peer, { offer: lean(peer.pc.localDescription.sdp) });
  } catch (_) {
    drop(call, fold(peer.name));
  }
}

async function answerTo(call, from, sdp) {
  await call.ready;
  const peer = peerOf(call, from);
  try {
    await peer.pc.setRemoteDescription({ type: 'offer', sdp });
    await addCandidates(peer);
    await peer.pc.setLocalDescription(await peer.pc.createAnswer());
    await signal(call, peer, { answer: lean(peer.pc.localDescription.sdp) });
    sent(call, peer);
  } catch (_) {
    drop(call, fold(from));
  }
}

/** Candidates from a member wait until its description is set. */
async function addCandidates(peer) {
  if (!peer.pc?.remoteDescription) return;
  for (const json of peer.pending.splice(0)) {
    try {
      await peer.pc.addIceCandidate(JSON.parse(json));
    } catch (_) {
      /* a candidate this browser cannot use: the others may do */
    }
  }
}

/** The connection to a member who left (or failed) closed, its tile gone. */
function drop(call, key) {
  const peer = call.peers.get(key);
  if (!peer) return;
  call.peers.delete(key);
  peer.pc?.close();
  peer.tile?.remove();
  layout(call);
}

/** GROUPCALLS' lines (at the login, each reconnection): the calls going on in my rooms. */
function listed(app, lines) {
  live.clear();
  for (const call of lines.map(parseGroupCallLine).filter(Boolean)) note(call);
  decorate(app);
}

/** A call going on: kept by its room. */
function note({ room, id, by, media, members }) {
  live.set(fold(room), { room, id, by, media, members: new Map(members.map((m) => [fold(m), m])) });
}

/** A GROUPCALL event (wire.js's parseEvent). */
function onEvent(app, e) {
  const key = fold(e.room);
  const call = live.get(key)?.id === e.id ? live.get(key) : null;
  const here = mine && mine.id === e.id && fold(mine.room) === key ? mine : null;
  switch (e.what) {
    case 'RING':
    case 'START':
      note({ room: e.room, id: e.id, by: e.from, media: e.media, members: [e.from] });
      if (app.model.isMe(e.from) && !here) caughtUp(app, e.room); // started on another device of mine
      if (e.what === 'RING' && !mine && !ringing && !app.model.isMe(e.from)) ring(app, live.get(key));
      break;
    case 'JOINED':
      call?.members.set(fold(e.user), e.user);
      if (app.model.isMe(e.user)) {
        if (ringing?.id === e.id && !here) stopRing(t('joinedElsewhere'));
      } else if (here && !here.peers.has(fold(e.user))) {
        // It offers to me once its JOIN is answered: its tile waits for it.
        here.peers.set(fold(e.user), { name: e.user, tile: null });
        drawTile(here, here.peers.get(fold(e.user)));
      }
      break;
    case 'LEFT':
      call?.members.delete(fold(e.user));
      if (here && app.model.isMe(e.user)) finish(here, t('outOfCall')); // the server took me out (the room, another device)
      else if (here) drop(here, fold(e.user));
      break;
    case 'STOP':
      if (ringing?.id === e.id) stopRing(e.why === 'declined' ? t('endDeclined') : t('endMissed'));
      break;
    case 'END':
      live.delete(key);
      if (ringing?.id === e.id) stopRing(t('endMissed'));
      if (here) finish(here, t('groupEnded'));
      if (call && app.model.isMe(call.by)) myLine(app, e.room, e.id, true); // my line, edited in my name
      break;
    case 'OFFER':
      // Only from a member in the call (the server checks it too).
      if (here && call?.members.has(fold(e.from))) answerTo(here, e.from, e.text);
      break;
    case 'ANSWER': {
      const peer = here?.peers.get(fold(e.from));
      if (peer?.pc) peer.pc.setRemoteDescription({ type: 'answer', sdp: e.text }).then(() => addCandidates(peer)).catch(() => drop(here, fold(e.from)));
      break;
    }
    case 'ICE': {
      const peer = here?.peers.get(fold(e.from));
      if (!peer?.pc) return;
      if (peer.pending.length < MOST_PENDING) peer.pending.push(e.text);
      addCandidates(peer);
      break;
    }
  }
  decorate(app);
}

/** A room's call rings here: its screen, the ringtone, a notification if the tab is hidden. */
function ring(app, call) {
  ringing = { app, ...call, screen: null };
  const screen = section(ringing, 'ringing-here');
  screen.dataset.rungAt = String(Date.now());
  screen.append(header(call.room, t('groupIncoming', { who: call.by, media: t(call.media) })));
  screen.append(node('div', 'call-avatar', call.room.slice(1, 2).toUpperCase()));
  const controls = node('div', 'call-controls');
  controls.append(
    callButton('phone', 'decline', 'call-decline', () => {
      app.link.request(request.groupCall(call.room, { decline: call.id })).catch(() => {});
      stopRing(t('endDeclined'));
    }),
    callButton(call.media === 'video' ? 'camera' : 'phone', 'joinCall', 'call-answer', () => join(app, call)),
  );
  screen.append(controls);
  playTone(ringing, 'ringtone');
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    try {
      ringing.notification = new Notification(`${call.room}: ${t('groupIncoming', { who: call.by, media: t(call.media) })}`, { tag: `wachat-call-${call.id}` });
      ringing.notification.onclick = () => window.focus();
    } catch (_) {
      /* a phone notifies through its service worker only */
    }
  }
}

/** The ring here stops (`text`: why, said in the chat's foot). */
function stopRing(text) {
  if (!ringing) return;
  stopTone(ringing);
  ringing.notification?.close();
  ringing.screen?.remove();
  ringing = null;
  if (text) sayFor(text);
}

function hangUp(call, why) {
  if (call.id) call.app.link.request(request.groupCall(call.room, { leave: call.id })).catch(() => {});
  finish(call, why ? t('endFailed', { why }) : t('endHangup'));
}

/** The call is over here: every connection closed, my camera and microphone off, the screen gone. */
function finish(call, text) {
  if (mine !== call) return;
  mine = null;
  clearInterval(call.timer);
  for (const peer of call.peers.values()) peer.pc?.close();
  call.local?.getTracks().forEach((track) => track.stop());
  call.screen?.remove();
  sayFor(text);
  decorate(call.app);
}

/** Says `text` in the chat's foot for a while. */
function sayFor(text) {
  say(text);
  setTimeout(() => { if (document.getElementById('typing').textContent === text) say(''); }, ENDED_MS);
}

// ----- The screens: made once, tiles added and taken away as members come and go.

const node = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** The screen of `call` in `state`, over the app (full screen on a phone). */
function section(call, state) {
  const screen = node('section', 'call-screen group-call');
  screen.setAttribute('role', 'dialog');
  screen.setAttribute('aria-label', call.room);
  Object.assign(screen.dataset, { state, media: call.media, room: call.room, call: call.id || '' });
  // The phone's Back makes the screen small, the call going on (back.js); a tap brings it back.
  screen.shut = () => screen.classList.add('minimized');
  const back = node('button', 'call-return', t('returnToRoomCall', { room: call.room }));
  back.type = 'button';
  back.addEventListener('click', () => screen.classList.remove('minimized'));
  screen.append(back);
  document.body.append(screen);
  call.screen = screen;
  return screen;
}

function header(title, status) {
  const who = node('header', 'call-who');
  who.append(node('h2', null, title), node('p', 'call-duration', status));
  return who;
}

/** The in-call screen: the room, how long, how many; the grid of tiles; mute, camera, leave. */
function draw(call) {
  if (call.screen) {
    call.screen.dataset.call = call.id || '';
    return;
  }
  const screen = section(call, 'in-call');
  const status = header(call.room, t('callConnecting'));
  const grid = node('div', 'call-grid');
  const controls = node('div', 'call-controls');
  screen.append(status, grid, controls);
  const toggle = (b, kind, keys, shapes) => {
    const enabled = on(call, kind);
    b.setAttribute('aria-pressed', String(!enabled));
    b.setAttribute('aria-label', t(keys[enabled ? 0 : 1]));
    b.querySelector('.call-icon').replaceChildren(ICONS[shapes[enabled ? 0 : 1]]());
    b.querySelector('.call-label').textContent = t(keys[enabled ? 0 : 1]);
  };
  // Off, a track sends nothing to anyone (`replaceTrack(null)`): the others see the sound, or the picture, stop.
  const turn = (kind, b, keys, shapes) => {
    if (kind === 'audio') call.mic = !call.mic;
    else call.camera = !call.camera;
    const track = call.local?.getTracks().find((tr) => tr.kind === kind);
    for (const peer of call.peers.values()) peer.senders?.[kind]?.replaceTrack(on(call, kind) ? track : null).catch(() => {});
    screen.dataset[kind === 'audio' ? 'mic' : 'camera'] = on(call, kind) ? 'on' : 'off';
    toggle(b, kind, keys, shapes);
    drawSelf(call);
  };
  const mute = callButton('mic', 'mute', 'call-mute', () => turn('audio', mute, ['mute', 'unmute'], ['mic', 'micOff']));
  controls.append(mute);
  if (call.media === 'video') {
    const camera = callButton('camera', 'cameraOff', 'call-camera', () => turn('video', camera, ['cameraOff', 'cameraOn'], ['camera', 'cameraOff']));
    controls.append(camera);
  }
  controls.append(callButton('phone', 'leaveCall', 'call-hangup', () => hangUp(call)));
  Object.assign(screen.dataset, { mic: 'on', camera: call.media === 'video' ? 'on' : 'off' });
  call.grid = grid;
  call.status = status.querySelector('p');
  call.timer = setInterval(() => listen(call), LISTEN_MS);
  screen.measure = () => measure(call);
  drawSelf(call);
}

/** My own tile, first: my picture (never my sound), or my initial. */
function drawSelf(call) {
  if (!call.grid) return;
  let tile = call.grid.querySelector('.call-tile.self');
  if (!tile) {
    tile = tileFor(call.app.model.me, t('you'));
    tile.classList.add('self');
    call.grid.prepend(tile);
  }
  const video = tile.querySelector('video');
  video.muted = true;
  if (call.local && video.srcObject !== call.local) video.srcObject = call.local;
  tile.dataset.video = call.media === 'video' && call.camera ? 'on' : 'off';
  tile.dataset.muted = String(!call.mic);
  layout(call);
}

/** An empty tile for `user`, named `label`: a picture, an initial under it, the name, marks for muted and speaking. */
function tileFor(user, label) {
  const tile = node('div', 'call-tile');
  tile.dataset.user = fold(user);
  tile.dataset.video = 'off';
  const video = node('video');
  video.autoplay = true;
  video.playsInline = true;
  const name = node('span', 'call-name', label);
  const muted = node('span', 'call-muted');
  muted.append(ICONS.micOff());
  muted.setAttribute('aria-label', t('groupMuted'));
  tile.append(node('div', 'call-initial', user.slice(0, 1).toUpperCase()), video, name, muted);
  return tile;
}

/** A member's tile: its picture and sound once its connection brings them. */
function drawTile(call, peer) {
  if (!call.grid) return;
  if (!peer.tile) {
    peer.tile = tileFor(peer.name, peer.name);
    call.grid.append(peer.tile);
  }
  const video = peer.tile.querySelector('video');
  // A voice call plays the sound through the same element, unseen.
  if (peer.stream && video.srcObject !== peer.stream) video.srcObject = peer.stream;
  layout(call);
}

/** The grid's columns for its tiles: one or two on a phone, up to three on a laptop. */
function layout(call) {
  if (!call.grid) return;
  const n = call.grid.children.length;
  const phone = innerWidth <= 600;
  const columns = phone ? (n <= 2 ? 1 : 2) : n <= 1 ? 1 : n <= 4 ? 2 : 3;
  call.grid.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
  call.grid.style.gridTemplateRows = `repeat(${Math.ceil(n / columns)}, minmax(0, 1fr))`;
  call.screen.dataset.count = String(n);
}

/**
 * Four times a second: how long, how many; and, from each member's
 * receivers, whether its sound and its picture still come (the time
 * stamp of their last packet moved) and how loud its last packet of
 * sound was: a member whose sound stopped shows muted, one whose picture
 * stopped shows its initial, one loud shows speaking.
 */
function listen(call) {
  const others = [...call.peers.values()].filter((p) => p.pc);
  const status = others.length ? `${clock((performance.now() - call.since) / 1000)} · ${t('groupCount', { n: others.length + 1 })}` : t('groupWaiting');
  if (call.status.textContent !== status) call.status.textContent = status;
  const at = performance.now();
  call.ticks = (call.ticks || 0) + 1;
  for (const peer of others) {
    if (!peer.tile) continue;
    const seen = peer.seen;
    // A read waits for the browser's WebRTC threads: none before the
    // connection is up (nothing to read, and a starved page needs its
    // time for the offers and answers), and the picture, which only
    // shows whether it stopped, once a second.
    const up = peer.pc.connectionState === 'connected';
    for (const receiver of up ? peer.pc.getReceivers() : []) {
      const kind = receiver.track.kind;
      if (kind === 'video' && call.ticks % 4) continue;
      // One source a receiver here: each member sends one sound and one picture.
      const last = receiver.getSynchronizationSources().reduce((a, b) => (!a || b.timestamp > a.timestamp ? b : a), null);
      if (!last) continue;
      if (last.rtpTimestamp !== seen[kind]) Object.assign(seen, { [kind]: last.rtpTimestamp, [`${kind}At`]: at });
      if (kind === 'audio' && (last.audioLevel || 0) > SPEAKING_LEVEL && seen.audioAt === at) seen.loudAt = at;
    }
    const d = peer.tile.dataset;
    const flag = (key, value) => { if (d[key] !== value) d[key] = value; };
    flag('muted', String(at - (seen.audioAt || peer.since) > QUIET_MS));
    flag('speaking', String(d.muted === 'false' && at - (seen.loudAt || -Infinity) <= SPEAKING_HOLD_MS));
    flag('video', call.media === 'video' && seen.videoAt !== undefined && at - seen.videoAt <= QUIET_MS ? 'on' : 'off');
    const label = [peer.name, d.muted === 'true' ? t('groupMuted') : d.speaking === 'true' ? t('groupSpeaking') : '', d.video === 'off' && call.media === 'video' ? t('groupNoPicture') : ''].filter(Boolean).join(', ');
    if (peer.tile.getAttribute('aria-label') !== label) peer.tile.setAttribute('aria-label', label);
  }
}

/**
 * What each member's connection carried so far, read when asked (the
 * tests, or a student in DevTools: `document.querySelector('.group-call')
 * .measure()`), never on a timer: its `getStats()`, the bytes of sound
 * and picture that came, the frames decoded, the sound's energy, the
 * path (`host`, `relay`), kept on its tile (`data-inbound-audio`,
 * `-video`, `data-frames`, `data-energy`, `data-path`, and the
 * connection's state, `data-connection`); what this
 * browser sent and got in all (`data-bytes-out`, `-in`), and when it was
 * read (`data-measured-at`, `Date.now()`). One reading at a time: asked
 * again meanwhile, it answers with the one under way.
 */
function measure(call) {
  call.measuring ||= readStats(call).finally(() => { call.measuring = null; });
  return call.measuring;
}

async function readStats(call) {
  const others = [...call.peers.values()].filter((p) => p.pc && p.tile);
  const reports = await Promise.all(others.map((p) => p.pc.getStats().catch(() => null)));
  let sent = 0;
  let got = 0;
  others.forEach((peer, i) => {
    const stats = reports[i];
    if (!stats) return;
    const now = { audio: 0, video: 0, energy: 0, frames: 0 };
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind in now) {
        now[r.kind] += r.bytesReceived || 0;
        if (r.kind === 'audio') now.energy += r.totalAudioEnergy || 0;
        if (r.kind === 'video') now.frames += r.framesDecoded || 0;
      }
      if (r.type === 'outbound-rtp') sent += r.bytesSent || 0;
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    got += now.audio + now.video;
    const d = peer.tile.dataset;
    d.connection = peer.pc.connectionState;
    Object.assign(d, { inboundAudio: now.audio, inboundVideo: now.video, frames: now.frames, energy: now.energy.toFixed(6) });
    const path = pair && stats.get(pair.localCandidateId)?.candidateType;
    if (path) d.path = path;
  });
  if (call.screen) Object.assign(call.screen.dataset, { bytesOut: sent, bytesIn: got, measuredAt: Date.now() });
}

// ----- Where a call going on shows: a "Join" on its room's row and on its line in the room.

/**
 * Marks the calls going on: a Join button beside each room's row in the
 * list (chatlist.js draws the rows again often: this runs after each
 * time), and "Join" on the open room's line of its call (view.js draws
 * the line; a tap on it joins, through the room's call button's way).
 */
function decorate(app) {
  for (const row of document.querySelectorAll('#chat-list button[data-chat]')) {
    const call = live.get(row.dataset.chat);
    const item = row.parentNode;
    let joinButton = item.querySelector(':scope > .call-join');
    if (!call || (mine && mine.id === call.id)) {
      joinButton?.remove();
      continue;
    }
    if (!joinButton) {
      joinButton = node('button', 'call-join small');
      joinButton.type = 'button';
      item.append(joinButton);
      item.classList.add('has-call');
    }
    joinButton.replaceChildren(ICONS[call.media === 'video' ? 'camera' : 'phone'](), ` ${t('joinCall')}`);
    joinButton.setAttribute('aria-label', t('joinCallIn', { room: call.room }));
    joinButton.onclick = () => join(app, call);
  }
  for (const line of document.querySelectorAll('#messages li.call-log[data-id]')) {
    const call = [...live.values()].find((c) => c.id === line.dataset.id);
    const mark = line.querySelector('.call-live');
    if (!call || (mine && mine.id === call.id)) mark?.remove();
    else if (!mark) line.querySelector('.call-again')?.append(node('span', 'call-live', t('joinCall')));
  }
}
