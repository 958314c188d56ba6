// rules.js: the server's rules (INFO, protocol 1.2) in the user's words,
// on the "Server rules" button (never by themselves: a panel that
// opens at a first login is in the way).
// Values from the network are inserted as text, never as HTML.

import { request, parseInfoLine } from './wire.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** Bytes for a person: `512 MiB`. */
function size(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit + 1 < units.length) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${Math.round(value)} ${units[unit]}`;
}

/** The sentences that tell the INFO lines `info` (a Map key → value). */
export function describe(info) {
  const out = [];
  const days = info.get('retention_days');
  out.push(days && days !== 'none' ? t('retentionDays', { days }) : t('retentionNone'));
  const quota = Number(info.get('quota_bytes'));
  out.push(Number.isFinite(quota) && quota > 0 ? t('quotaBytes', { size: size(quota) }) : t('quotaNone'));
  if (info.has('max_devices')) out.push(t('maxDevices', { n: info.get('max_devices') }));
  // The limit is in bytes (UTF-8): said in characters, which a reader counts (a Latin letter is 1 byte, Cyrillic 2, an emoji 4).
  const bytes = Number(info.get('max_text_bytes'));
  if (bytes > 0) out.push(t('maxText', { n: bytes.toLocaleString(), half: Math.floor(bytes / 2).toLocaleString(), quarter: Math.floor(bytes / 4).toLocaleString() }));
  if (info.has('name_quarantine_days')) out.push(t('nameQuarantine', { days: info.get('name_quarantine_days') }));
  return out;
}

/** Asks the server for its rules and shows them; false if it could not say (offline, older than 1.2). */
export async function showRules(link) {
  let answer;
  try {
    answer = await link.request(request.info());
  } catch (_) {
    return false;
  }
  if (!answer.reply.ok) return false;
  const info = new Map(answer.lines.map(parseInfoLine).filter(Boolean).map((l) => [l.key, l.value]));
  const list = $('rules-list');
  list.replaceChildren(...describe(info).map((sentence) => {
    const item = document.createElement('li');
    item.textContent = sentence;
    return item;
  }));
  $('rules').hidden = false;
  return true;
}
