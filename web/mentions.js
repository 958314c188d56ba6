// mentions.js: does a room message mention me? The rule of
// tests/data/mentions.txt, which protocol::mentions (the consoles, the
// server) passes too: "@" not preceded by a name character, then the
// longest run of name characters with its trailing dots dropped, equal
// to the name once both are case-folded.

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const AT_NAME = /@([A-Za-z0-9_.-]*)/g;

/** Whether `text` mentions `user`. */
export function mentions(text, user) {
  const want = user.toLowerCase();
  for (const m of text.matchAll(AT_NAME)) {
    if (m.index > 0 && NAME_CHAR.test(text[m.index - 1])) continue;
    if (m[1].replace(/\.+$/, '').toLowerCase() === want) return true;
  }
  return false;
}
