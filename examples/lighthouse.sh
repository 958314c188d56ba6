#!/usr/bin/env bash
# Lighthouse 12.2.3 (mobile) on the browser app signed in, as README's
# "For everyone" quotes it: a server in a temporary directory, a room and
# a direct chat with messages, reactions, a photo and voice messages
# (typed on the send port, as any client types them), then chromium logged
# in as ana through the login form, and Lighthouse's snapshot of the page
# (accessibility and best practices) with a conversation open in turn:
# the direct chat, the room, a message's menu, "More reactions", "Emoji",
# a voice message at 1.5×, the chat list's menu, Profile and Details, each
# in the light and the dark scheme; then two navigations (every category):
# the first visit, and the app opened again signed in with its chat.
#
#   cargo build --release && examples/lighthouse.sh [path/to/wachat] [ports base, 17000]
#
# Needs node and npm (Lighthouse, with the puppeteer-core and
# chrome-launcher it depends on, goes into the temporary directory) and
# chromium at $CHROME_PATH (/usr/bin/chromium). Prints each score and every
# audit that failed; the HTML reports stay in the directory it names.
set -euo pipefail
wachat=${1:-target/release/wachat}
base=${2:-17000}
dir=$(mktemp -d)
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
"$wachat" serve --send-port "$base" --recv-port $((base + 1)) --web-port $((base + 2)) --data-dir "$dir/data" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$base") 2>/dev/null && break; sleep 0.1; done

python3 - "$base" <<'EOF'
import base64, hashlib, socket, struct, sys, zlib
class Conn:
    def __init__(self):
        self.sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
        self.lines = self.sock.makefile('rb')
    def request(self, line):
        self.sock.sendall((line + '\n').encode())
        reply = self.lines.readline().decode().rstrip('\n')
        assert reply.startswith('OK'), f'{line[:60]}: {reply}'
        return reply
def png(w, h):
    rows = b''.join(b'\0' + bytes(v for x in range(w) for v in ((x // 5) % 256, (y // 4) % 256, 128)) for y in range(h))
    chunk = lambda kind, data: struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
def send_file(conn, to, mid, name, data, caption=''):
    fid = conn.request(f'UPLOAD:{name}:{len(data)}:{hashlib.sha256(data).hexdigest()}')[3:]
    for at in range(0, len(data), 12000):
        conn.request(f'PART:{fid}:{at}:{base64.b64encode(data[at:at + 12000]).decode()}')
    conn.request(f'FILE:{to}:{mid}:{fid}:{caption}')
for user in ('ana', 'bob', 'carla'):
    Conn().request(f'REGISTER:{user}::pw-{user}')
ana, bob, carla = (Conn() for _ in range(3))
for conn, user in ((ana, 'ana'), (bob, 'bob'), (carla, 'carla')):
    conn.request(f'LOGIN:{user}:pw-{user}')
    conn.request('JOIN:#lab')
bob.request('NAME:Bob Builder')
ana.request('TOPIC:#lab:Lab 3: sockets')
bob.request('MSG:#lab:r1:¿Vienes al laboratorio?')
carla.request('MSG:#lab:r2:the room moved to 2.14, notes at www.example.org/notes')
ana.request('MSG:#lab:r3:Sí, voy')
bob.request('REACT:#lab:r2:👍')
send_file(carla, '#lab', 'r4', 'board.png', png(300, 200), 'the board')
bob.request('MSG:ana:d1:hola ana, *lunch* at noon?')
ana.request('MSG:bob:d2:yes, see you there')
bob.request('REACT:ana:d2:❤️')
send_file(bob, 'ana', 'd3', 'board.png', png(400, 300), 'the board')
send_file(bob, 'ana', 'd4', 'voice-3s.webm', bytes(range(256)) * 8)
send_file(ana, 'bob', 'd5', 'voice-2s.webm', bytes(range(256)) * 6)
bob.request('MSG:ana:d6:see you')
EOF

cd "$dir"
npm init -y >/dev/null
npm install --silent lighthouse@12.2.3 >/dev/null
cat >run.mjs <<'EOF'
import { snapshot, navigation } from 'lighthouse';
import puppeteer from 'puppeteer-core';
import * as chromeLauncher from 'chrome-launcher';
import fs from 'fs';

const url = process.argv[2];
const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH, chromeFlags: ['--headless=new', '--no-sandbox'] });
const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}`, defaultViewport: null });
const page = await browser.newPage();
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (name, { lhr, report }) => {
  fs.writeFileSync(`${name}.html`, report);
  const scores = Object.entries(lhr.categories).map(([k, c]) => `${k} ${Math.round(c.score * 100)}`).join(', ');
  console.log(`${name}: ${scores}`);
  for (const [id, a] of Object.entries(lhr.audits)) {
    if (a.score === null || a.score >= 1 || ['informative', 'manual', 'notApplicable'].includes(a.scoreDisplayMode)) continue;
    console.log(`  ${id} ${a.score} ${a.displayValue || ''}`);
    for (const item of (a.details?.items || []).slice(0, 8)) if (item.node) console.log(`    ${item.node.selector}`);
  }
};
say('first-visit', await navigation(page, url));

// Signed in (its token kept: "Stay signed in"), at a phone's size.
await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
await page.goto(url);
await page.type('#user', 'ana');
await page.type('#password', 'pw-ana');
await page.click('#stay');
await page.click('#login-button');
await page.waitForFunction(() => document.querySelector('#status.online') && Object.keys(localStorage).some((k) => k.startsWith('wachat:link')));
const toList = async () => {
  await page.evaluate(() => { if (document.getElementById('chat-pane').checkVisibility()) document.getElementById('back').click(); });
  await page.waitForFunction(() => document.getElementById('list-pane').checkVisibility());
};
const open = async (chat) => {
  await page.waitForSelector(`#chat-list button[data-chat='${chat}']`);
  await page.evaluate((c) => document.querySelector(`#chat-list button[data-chat='${c}']`).click(), chat);
  await page.waitForFunction(() => document.querySelectorAll('#messages .msg').length > 2 && document.getElementById('chat-pane').checkVisibility());
};
const views = {
  direct: () => open('bob'),
  room: () => open('#lab'),
  'message-menu': async () => { await open('#lab'); await page.click('#messages .msg:not(.mine) .more'); await page.waitForSelector('#messages .menu'); },
  'more-reactions': async () => { await open('bob'); await page.click('#messages .msg .more'); await page.waitForSelector('#messages .menu [data-act=more-reactions]'); await page.click('#messages .menu [data-act=more-reactions]'); await page.waitForSelector('#emoji-picker'); },
  emoji: async () => { await open('bob'); await page.click('#emoji-button'); await page.waitForSelector('#emoji-picker'); },
  'voice-speed': async () => { await open('bob'); await page.click('#messages .voice .speed'); await page.waitForFunction(() => document.querySelector('#messages .voice .speed').textContent === '1.5×'); },
  'list-menu': async () => {
    await toList();
    await page.evaluate(() => { const row = document.querySelector("#chat-list button[data-chat='bob']"); const r = row.getBoundingClientRect();
      row.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: r.left + 20, clientY: r.top + 20 })); });
    await page.waitForSelector('#list-menu');
  },
  profile: async () => { await toList(); await page.click('#profile-button'); await page.waitForSelector('#display-name'); },
  details: async () => { await open('#lab'); await page.click('#members-button'); await page.waitForFunction(() => !document.getElementById('chat-panel').hidden); },
};
for (const [name, show] of Object.entries(views)) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
    await page.goto(url);
    await page.waitForSelector('#status.online');
    await show();
    await wait(800);
    say(`${name}-${scheme}`, await snapshot(page, { flags: { onlyCategories: ['accessibility', 'best-practices'] } }));
  }
}
// The app opened again, signed in: its token and its open chat kept.
await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
await page.goto(url);
await page.waitForSelector('#status.online');
await open('bob');
await wait(1000);
say('signed-in', await navigation(page, url, { flags: { disableStorageReset: true } }));
await browser.disconnect();
await chrome.kill();
EOF
node run.mjs "http://127.0.0.1:$((base + 2))/"
echo "reports: $dir"
