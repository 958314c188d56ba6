// links.js: whether a link whose host is not in ASCII may show that
// host as typed, loaded with the first such link (view.js's `rich`).
// Until it answers, the link shows the host's punycode, as the URL API
// gives it; a host that could pass for another keeps it, as browsers
// show such a host in their address bar: a label that mixes Latin,
// Cyrillic, Greek or Armenian letters (`gооgle.com` with Cyrillic `о`s),
// or one made only of Cyrillic or Greek letters that look Latin
// (`аррӏе.com`). A host of one script (`bücher.de`, `почта.рф`) shows as
// typed. The link's target is the same either way.

/** The scripts whose letters pass for each other's (Unicode's `Script` property). */
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian'].map((name) => new RegExp(`\\p{Script=${name}}`, 'u'));
/** Cyrillic and Greek letters that look like Latin ones. */
const LOOK_LATIN = /^[аеіјорсухӏԁһԛѕԝαοιυνκρτχ\d-]+$/u;

/** Whether `host` (as typed, without a user or a port) could pass for another host. */
export function looksLikeAnother(host) {
  return host.toLowerCase().split('.').some((label) => {
    const scripts = SCRIPTS.filter((re) => re.test(label));
    return scripts.length > 1 || (scripts.length === 1 && scripts[0] !== SCRIPTS[0] && LOOK_LATIN.test(label));
  });
}

/** The link `a`, typed as `typed` with the authority `authority`, shows as typed if its host passes. */
export function check(a, typed, authority) {
  if (!looksLikeAnother(authority.split('@').pop().replace(/:\d*$/, ''))) a.textContent = typed;
}
