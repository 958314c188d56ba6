// calllog.js: a call's line in a chat (1.2, §24), said from this side.
// The server stores it when the call ends, from the caller to the callee
// (protocol/call.rs's CallLog): `📞 Voice call, 4:12`, `📞 Missed voice
// call` (or `📞 3 missed voice calls`, missed calls in a row folded into
// one), `📞 Declined voice call`; an older server wrote `📞 Missed voice
// call from ana`. view.js loads this at the first such line, draws it
// after a phone's icon (the words here have no 📞), and makes the line a
// button that calls back (`media`).
//
// 1.2 (§32): a room's call has a line too, its starter's, edited as the
// call ends (protocol/group_call.rs's GroupLog): `📞 Group video call
// started by ana`, then `📞 Group video call by ana, 12:03 · joined: bob,
// carl · missed: dan and 3 more`; said as the call one started, joined,
// or missed. Its tap joins the call while it goes on (groupcall.js).

import { addStrings, t } from './i18n.js';
import { USER, isUser } from './wire.js';

addStrings({
  en: {
    lineVoice: 'voice call', lineVideo: 'video call', callsVoice: 'voice calls', callsVideo: 'video calls',
    callOut: 'Outgoing {call}, {length}', callIn: 'Incoming {call}, {length}',
    callMissed: 'Missed {call}', callMissedN: '{n} missed {calls}',
    callUnanswered: 'Outgoing {call}, no answer', callUnansweredN: '{n} outgoing {calls}, no answer',
    callDeclined: 'Declined incoming {call}', callRefused: 'Outgoing {call}, declined',
    callBack: '{said}. Call {who} again',
    groupLive: 'Group {call} started by {who}', groupOut: 'Outgoing group {call}, {length} · joined: {joined}',
    groupIn: 'Group {call} from {who}, {length} · joined: {joined}', groupMissed: 'Missed group {call} from {who}',
    noOne: 'nobody', andMore: '{names} and {n} more',
  },
  es: {
    lineVoice: 'llamada de voz', lineVideo: 'videollamada', callsVoice: 'llamadas de voz', callsVideo: 'videollamadas',
    callOut: '{Call} saliente, {length}', callIn: '{Call} entrante, {length}',
    callMissed: '{Call} perdida', callMissedN: '{n} {calls} perdidas',
    callUnanswered: '{Call} saliente, sin respuesta', callUnansweredN: '{n} {calls} salientes, sin respuesta',
    callDeclined: '{Call} entrante rechazada', callRefused: '{Call} saliente, rechazada',
    callBack: '{said}. Llamar de nuevo a {who}',
    groupLive: '{Call} en grupo iniciada por {who}', groupOut: '{Call} en grupo saliente, {length} · se unieron: {joined}',
    groupIn: '{Call} en grupo de {who}, {length} · se unieron: {joined}', groupMissed: '{Call} en grupo perdida de {who}',
    noOne: 'nadie', andMore: '{names} y {n} más',
  },
  pt: {
    lineVoice: 'chamada de voz', lineVideo: 'chamada de vídeo', callsVoice: 'chamadas de voz', callsVideo: 'chamadas de vídeo',
    callOut: '{Call} efetuada, {length}', callIn: '{Call} recebida, {length}',
    callMissed: '{Call} perdida', callMissedN: '{n} {calls} perdidas',
    callUnanswered: '{Call} efetuada, sem resposta', callUnansweredN: '{n} {calls} efetuadas, sem resposta',
    callDeclined: '{Call} recebida recusada', callRefused: '{Call} efetuada, recusada',
    callBack: '{said}. Ligar de novo para {who}',
    groupLive: '{Call} em grupo iniciada por {who}', groupOut: '{Call} em grupo efetuada, {length} · entraram: {joined}',
    groupIn: '{Call} em grupo de {who}, {length} · entraram: {joined}', groupMissed: '{Call} em grupo perdida de {who}',
    noOne: 'ninguém', andMore: '{names} e mais {n}',
  },
});

/**
 * A call's line read: `{what: 'talked', media, seconds}`, `{what:
 * 'missed', media, count}` or `{what: 'declined', media}`; null for any
 * other text (shown as it is).
 */
export function parse(text) {
  const group = parseGroup(text);
  if (group) return group;
  let m = new RegExp(`^📞 Missed (voice|video) call( from ${USER})?$`).exec(text);
  if (m) return { what: 'missed', media: m[1], count: 1 };
  if ((m = /^📞 ([1-9][0-9]{0,8}) missed (voice|video) calls$/.exec(text)) && m[1] !== '1') {
    return { what: 'missed', media: m[2], count: Number(m[1]) };
  }
  if ((m = /^📞 Declined (voice|video) call$/.exec(text))) return { what: 'declined', media: m[1] };
  if ((m = /^📞 (Voice|Video) call, (?:([0-9]{1,4}):)?([0-9]{1,4}):([0-9]{1,4})$/.exec(text))) {
    return { what: 'talked', media: m[1].toLowerCase(), seconds: Number(m[2] || 0) * 3600 + Number(m[3]) * 60 + Number(m[4]) };
  }
  return null;
}

const GROUP_STARTED = new RegExp(`^📞 Group (voice|video) call started by (${USER})$`, 'u');
const GROUP_ENDED = new RegExp(`^📞 Group (voice|video) call by (${USER}), (?:([0-9]{1,4}):)?([0-9]{1,4}):([0-9]{1,4}) · joined: (.+) · missed: (.+)$`, 'u');
/** Most names a list of the line holds (protocol/group_call.rs's LINE_NAMES). */
const LINE_NAMES = 12;

/** A list of a group call's line: `{names, more}`, or null. */
function names(s) {
  if (s === 'nobody') return { names: [], more: 0 };
  const m = / and ([1-9][0-9]{0,9}) more$/.exec(s);
  const list = (m ? s.slice(0, m.index) : s).split(', ');
  return list.length <= LINE_NAMES && list.every(isUser) ? { names: list, more: m ? Number(m[1]) : 0 } : null;
}

/** 1.2 (§32): a room's call's line: `{what: 'group', media, by}` while it goes on, with `seconds, joined, missed` once ended; or null. */
function parseGroup(text) {
  let m = GROUP_STARTED.exec(text);
  if (m) return { what: 'group', media: m[1], by: m[2] };
  if (!(m = GROUP_ENDED.exec(text))) return null;
  const [joined, missed] = [names(m[6]), names(m[7])];
  if (!joined || !missed) return null;
  return { what: 'group', media: m[1], by: m[2], seconds: Number(m[3] || 0) * 3600 + Number(m[4]) * 60 + Number(m[5]), joined, missed };
}

const two = (n) => String(n).padStart(2, '0');

/** `4:12`, or `1:02:03` past an hour. */
function clock(s) {
  const m = Math.floor(s / 60);
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(m % 60)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/**
 * The line of `msg` as this side says it, with the way the call went: to
 * the caller (`msg.mine`) an outgoing call, a missed one one nobody
 * answered, a declined one declined by the other; to the callee an
 * incoming one, missed or declined.
 */
export function said(msg, me = '') {
  const call = parse(msg.text);
  if (!call) return msg.text.replace(/^📞 /u, '');
  const media = call.media === 'video' ? 'Video' : 'Voice';
  const word = t(`line${media}`);
  const words = { call: word, Call: word[0].toUpperCase() + word.slice(1), calls: t(`calls${media}`), n: call.count };
  switch (call.what) {
    case 'group': {
      // The call I started, one I joined, or one I missed; while it goes on, who started it.
      if (call.seconds === undefined) return t('groupLive', { ...words, who: call.by });
      const said = { ...words, who: call.by, length: clock(call.seconds), joined: list(call.joined) };
      if (msg.mine) return t('groupOut', said);
      const joined = call.joined.names.some((n) => n.toLowerCase() === me.toLowerCase());
      return t(joined ? 'groupIn' : 'groupMissed', said);
    }
    case 'talked': return t(msg.mine ? 'callOut' : 'callIn', { ...words, length: clock(call.seconds) });
    case 'missed': return t(`call${msg.mine ? 'Unanswered' : 'Missed'}${call.count > 1 ? 'N' : ''}`, words);
    default: return t(msg.mine ? 'callRefused' : 'callDeclined', words);
  }
}

/** A list of a group call's line, in words. */
function list({ names: named, more }) {
  if (!named.length) return t('noOne');
  return more ? t('andMore', { names: named.join(', '), n: more }) : named.join(', ');
}

/** The kind of call `msg` was (`voice`, `video`), to call back the same way; null for a text that is none. */
export const media = (msg) => parse(msg.text)?.media ?? null;
