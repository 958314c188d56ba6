// account.js: the "Account" panel, opened from the devices' panel's
// "Change password" (protocol 1.2, docs/PROTOCOL.md §20):
// a new password, with the choice of keeping the other devices logged in.
// The passwords go from the form to one PASSWD line and are then cleared
// from the form; the new one replaces the old in the link's memory (for
// reconnections) unless this browser logs in with its own token.

import { request } from './wire.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** The fewest characters of a new password (the server's rule too). */
const MIN_CHARS = 6;

/** Why these answers make no PASSWD, or '' if they make one. */
export function passwordProblem(old, fresh, again) {
  if (!old || !fresh) return t('passwordMissing');
  if (old.includes(':')) return t('oldPasswordColon');
  if (fresh !== again) return t('passwordsDiffer');
  if ([...fresh].length < MIN_CHARS) return t('passwordShort', { min: MIN_CHARS });
  return '';
}

async function change(link) {
  const note = $('account-note');
  const [old, fresh, again] = ['old-password', 'new-password', 'new-password-again'].map((id) => $(id).value);
  const keep = $('keep-devices').checked;
  const problem = passwordProblem(old, fresh, again);
  if (problem) {
    note.textContent = problem;
    return;
  }
  let answer;
  try {
    answer = await link.request(request.passwd(old, fresh, keep));
  } catch (err) {
    note.textContent = t('refused', { reason: err.message || '' });
    return;
  }
  if (!answer.reply.ok) {
    note.textContent = t('refused', { reason: answer.reply.reason || answer.reply.code });
    return;
  }
  if (!link.who.token) link.who.secret = fresh;
  for (const id of ['old-password', 'new-password', 'new-password-again']) $(id).value = '';
  note.textContent = t(keep ? 'passwordChangedKept' : 'passwordChanged');
}

/** Wires the panel; `getLink` gives the logged-in link, or null. */
export function wireAccount(getLink) {
  $('account-button').addEventListener('click', () => {
    const panel = $('account');
    panel.hidden = !panel.hidden;
    $('account-button').setAttribute('aria-expanded', String(!panel.hidden));
    $('account-note').textContent = '';
  });
  $('passwd-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const link = getLink();
    if (link) change(link);
  });
}
