// voice.js: voice messages (🎤), loaded at the first tap on the
// microphone or the first voice message drawn, never on the first load.
//
// A voice message is a file of §21 like any other: recorded here with
// MediaRecorder, sent by files.js (UPLOAD, PART, FILE), and named
// `voice-<seconds>s.<webm|ogg|m4a>`. The name alone says what it is
// (docs/PROTOCOL.md §21), so the consoles show `🎤 voice message (0:12)`
// and `/save` saves it, with no new request or type. view.js's `voice`
// reads a message's text by the rule of `protocol::files::voice` (the
// chat list says "🎤 Voice message (0:12)" before this module loads):
// both pass the cases of tests/data/voice.txt (tests/web/media.rs runs
// them through this module). The sound is fetched at the first ▶, and
// played from a blob: URL of its bytes.

import { t, addStrings } from './i18n.js';
import { el, voice, clock, banner, within, MAX_VOICE_SECONDS } from './view.js';
import { ownWords } from './wire.js';

addStrings({
  en: { recording: 'Recording {t}', stopSend: 'Send voice message', play: 'Play voice message', pause: 'Pause', voiceOf: 'Voice message, {t}', noMic: 'No microphone: {reason}', speed: 'Playback speed {x}', theMic: 'The microphone' },
  es: { recording: 'Grabando {t}', stopSend: 'Enviar mensaje de voz', play: 'Reproducir mensaje de voz', pause: 'Pausa', voiceOf: 'Mensaje de voz, {t}', noMic: 'Sin micrófono: {reason}', speed: 'Velocidad de reproducción {x}', theMic: 'El micrófono' },
  pt: { recording: 'Gravando {t}', stopSend: 'Enviar mensagem de voz', play: 'Tocar mensagem de voz', pause: 'Pausar', voiceOf: 'Mensagem de voz, {t}', noMic: 'Sem microfone: {reason}', speed: 'Velocidade de reprodução {x}', theMic: 'O microfone' },
});

/** The rule that reads a voice message, and its clock, are view.js's (the chat list needs them first); call.js and tests/web/media.rs ask them here. */
export { voice, clock };

/** How long the microphone (and its permission's prompt) may take before the recording is given up, said so. */
const MIC_MS = 30000;

/** The speeds a voice message plays at, in the order its speed control goes through them. */
const SPEEDS = [1, 1.5, 2];

/** The media type of each extension a voice message's name may have. */
const TYPES = { webm: 'audio/webm', ogg: 'audio/ogg', m4a: 'audio/mp4' };

/**
 * Records a voice message: the bar above the composer says how long, ■
 * sends it (`sendFile(file)`, files.js), ✕ drops it; it stops by itself
 * at MAX_VOICE_SECONDS. The microphone is released as soon as it stops.
 */
export async function record(app, sendFile) {
  if (document.getElementById('voice-bar')) return;
  let stream;
  try {
    // The permission's prompt and the device: a limit, said as any refusal is (view.js's `within`).
    stream = await within(navigator.mediaDevices.getUserMedia({ audio: true }), MIC_MS, t('theMic'), (late) => late.getTracks().forEach((track) => track.stop()));
  } catch (e) {
    banner(t('noMic', { reason: e.message || e.name }));
    return;
  }
  const type = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'].find((m) => MediaRecorder.isTypeSupported(m)) || '';
  const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const chunks = [];
  recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  const started = Date.now();
  const seconds = () => Math.min(MAX_VOICE_SECONDS, Math.max(1, Math.round((Date.now() - started) / 1000)));
  let keep = true;
  const bar = el('div', 'attach-bar voice-bar');
  bar.id = 'voice-bar';
  const time = el('span', 'attach-name', t('recording', { t: clock(0) }));
  time.setAttribute('role', 'timer');
  const stop = el('button', '', '■');
  stop.type = 'button';
  stop.id = 'voice-send';
  stop.setAttribute('aria-label', t('stopSend'));
  const cancel = el('button', 'secondary icon', '✕');
  cancel.type = 'button';
  cancel.id = 'voice-cancel';
  cancel.setAttribute('aria-label', t('close'));
  bar.append(time, stop, cancel);
  document.getElementById('composer').before(bar);
  stop.focus();
  const ticking = setInterval(() => {
    time.textContent = t('recording', { t: clock(Math.floor((Date.now() - started) / 1000)) });
    if (Date.now() - started >= MAX_VOICE_SECONDS * 1000) recorder.stop();
  }, 250);
  recorder.onstop = () => {
    clearInterval(ticking);
    for (const track of stream.getTracks()) track.stop();
    bar.remove();
    if (!keep || !chunks.length) return;
    const mime = recorder.mimeType || type || 'audio/webm';
    const ext = mime.includes('ogg') ? 'ogg' : mime.includes('mp4') ? 'm4a' : 'webm';
    const name = `voice-${seconds()}s.${ext}`;
    sendFile(new File(chunks, name, { type: mime.split(';')[0] }), name);
  };
  stop.addEventListener('click', () => recorder.stop());
  cancel.addEventListener('click', () => {
    keep = false;
    recorder.stop();
  });
  recorder.start(250);
}

/**
 * Each voice message's sound (once fetched) and speed (an index of
 * SPEEDS), by its sender and id (its file's id changes when the outbox
 * sends it), and the players drawn of it: a bubble drawn again (a tick,
 * a reaction) goes on playing, at its speed, in its new player.
 */
const sounds = new Map();

/**
 * Draws a voice message's player in its bubble's `box`: ▶/❚❚, a
 * progress bar, the time, the length known from the name before any
 * byte is fetched, and the speed (1×, 1.5×, 2×: a tap goes to the next,
 * playing or not; its name says the speed; the box's `data-rate` is the
 * rate the sound plays at). `fetchBlob(link, id, type)`: where its bytes
 * come from (files.js: kept here, or fetched).
 */
export function player(box, msg, link, fetchBlob) {
  const found = voice(ownWords(msg));
  const length = found.seconds;
  const key = `${msg.from}\n${msg.id}`;
  if (!sounds.has(key)) sounds.set(key, { audio: null, speed: 0, players: new Set() });
  const sound = sounds.get(key);
  // The players of this sound still on the page, this one with them.
  const each = (f) => {
    for (const p of sound.players) if (p.box.isConnected) f(p); else sound.players.delete(p);
  };
  const play = el('button', 'play', '▶');
  play.type = 'button';
  play.setAttribute('aria-label', t('play'));
  const bar = el('progress', 'voice-progress');
  bar.max = Math.max(length, 1);
  bar.value = 0;
  bar.setAttribute('aria-label', t('voiceOf', { t: clock(length) }));
  const time = el('span', 'voice-time', clock(length));
  const speedButton = el('button', 'secondary speed');
  speedButton.type = 'button';
  const showSpeed = () => {
    const x = `${SPEEDS[sound.speed]}×`;
    speedButton.textContent = x;
    speedButton.setAttribute('aria-label', t('speed', { x }));
    if (!sound.audio) return;
    sound.audio.playbackRate = SPEEDS[sound.speed];
    box.dataset.rate = String(sound.audio.playbackRate);
  };
  speedButton.addEventListener('click', () => {
    sound.speed = (sound.speed + 1) % SPEEDS.length;
    each((p) => p.showSpeed());
  });
  const playing = (on) => {
    play.textContent = on ? '❚❚' : '▶';
    play.setAttribute('aria-label', t(on ? 'pause' : 'play'));
  };
  // This bubble's bar, time and button follow the sound.
  const follow = (audio) => {
    audio.addEventListener('timeupdate', () => {
      bar.value = audio.currentTime;
      time.textContent = `${clock(audio.currentTime)} / ${clock(length)}`;
    });
    audio.addEventListener('ended', () => { playing(false); bar.value = bar.max; });
    audio.addEventListener('pause', () => playing(false));
    audio.addEventListener('play', () => playing(true));
    playing(!audio.paused && !audio.ended);
  };
  sound.players.add({ box, showSpeed, follow });
  if (sound.audio) follow(sound.audio);
  showSpeed();
  play.addEventListener('click', async () => {
    if (!sound.audio) {
      play.disabled = true;
      try {
        const blob = await fetchBlob(link, msg.file.id, TYPES[found.ext]);
        sound.audio = new Audio(URL.createObjectURL(blob));
      } finally {
        play.disabled = false;
      }
      each((p) => {
        p.showSpeed();
        p.follow(sound.audio);
      });
    }
    if (sound.audio.paused) sound.audio.play().catch(() => playing(false));
    else sound.audio.pause();
  });
  box.classList.add('voice');
  const mic = el('span', 'mic', '🎤');
  mic.setAttribute('aria-hidden', 'true');
  box.append(mic, play, bar, time, speedButton);
}
