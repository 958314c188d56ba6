// qr.js: a QR code (ISO/IEC 18004) of a short text, drawn on a canvas:
// the link code's address, for a phone's camera to read. Written for
// wachat, loaded with the first link code. Only what that needs: byte
// mode, error correction level M (15 % of the symbol may be lost),
// versions 1 to 6 (21 to 41 modules a side, up to 106 bytes), one mask.
//
// The steps are the standard's: the bits (mode, count, bytes, padding),
// split in blocks, each followed by its Reed–Solomon error correction,
// interleaved; the fixed patterns (finders, timing, alignment); the bits
// laid in two-column zigzags from the bottom right corner; the mask; and
// the format information (level and mask, with its own BCH code).

// Arithmetic in GF(256) modulo x^8 + x^4 + x^3 + x^2 + 1, by logarithms.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++, x = (x << 1) ^ (x & 128 ? 0x11d : 0)) {
  EXP[i] = x;
  LOG[x] = i;
}
for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
const mul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

/** Level M per version 1–6: [data bytes per block, blocks, correction bytes per block, alignment centre]. */
const VERSIONS = [[16, 1, 10, 0], [28, 1, 16, 18], [44, 1, 26, 22], [32, 2, 18, 26], [43, 2, 24, 30], [27, 4, 16, 34]];

/** The `n` correction bytes of `data`: the remainder of its division by the generator polynomial. */
function correction(data, n) {
  let gen = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array(gen.length + 1).fill(0);
    gen.forEach((g, j) => {
      next[j] ^= g;
      next[j + 1] ^= mul(g, EXP[i]);
    });
    gen = next;
  }
  const rest = new Array(n).fill(0);
  for (const byte of data) {
    const factor = byte ^ rest.shift();
    rest.push(0);
    for (let i = 0; i < n; i++) rest[i] ^= mul(gen[i + 1], factor);
  }
  return rest;
}

/** The codewords of `bytes` in version `v` (1-based): data and correction, interleaved. */
function codewords(bytes, v) {
  const [size, count, ecc] = VERSIONS[v - 1];
  const bits = [];
  const put = (value, n) => { for (let i = n - 1; i >= 0; i--) bits.push((value >> i) & 1); };
  put(4, 4); // byte mode
  put(bytes.length, 8);
  for (const b of bytes) put(b, 8);
  const room = size * count * 8;
  put(0, Math.min(4, room - bits.length)); // terminator
  while (bits.length % 8) bits.push(0);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b));
  for (let pad = 0xec; data.length < size * count; pad ^= 0xec ^ 0x11) data.push(pad);
  const blocks = [];
  for (let b = 0; b < count; b++) blocks.push(data.slice(b * size, (b + 1) * size));
  const checks = blocks.map((block) => correction(block, ecc));
  const out = [];
  for (let i = 0; i < size; i++) for (const block of blocks) out.push(block[i]);
  for (let i = 0; i < ecc; i++) for (const check of checks) out.push(check[i]);
  return out;
}

/** The modules of `text`'s QR code: rows of booleans (true: dark). Throws if it is too long. */
export function encode(text) {
  const bytes = new TextEncoder().encode(text);
  const v = VERSIONS.findIndex(([size, count]) => 12 + 8 * bytes.length <= size * count * 8) + 1;
  if (!v) throw new Error('too long for a QR code here');
  const n = 17 + 4 * v;
  const dark = Array.from({ length: n }, () => new Array(n).fill(false));
  const fixed = Array.from({ length: n }, () => new Array(n).fill(false));
  const set = (x, y, on) => {
    if (x < 0 || y < 0 || x >= n || y >= n) return;
    dark[y][x] = on;
    fixed[y][x] = true;
  };
  // Finders (with their light separators), timing lines, alignment, the dark module.
  for (const [fx, fy] of [[3, 3], [n - 4, 3], [3, n - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        set(fx + dx, fy + dy, d !== 2 && d !== 4);
      }
    }
  }
  for (let i = 8; i < n - 8; i++) {
    set(i, 6, i % 2 === 0);
    set(6, i, i % 2 === 0);
  }
  const centre = VERSIONS[v - 1][3];
  if (centre) {
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(centre + dx, centre + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }
  // Level M (00) and mask 0: the format information, twice, after its BCH code.
  const levelAndMask = (0b00 << 3) | 0;
  let rem = levelAndMask;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
  const format = ((levelAndMask << 10) | rem) ^ 0x5412;
  const bit = (i) => ((format >> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) set(8, i, bit(i));
  set(8, 7, bit(6));
  set(8, 8, bit(7));
  set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) set(n - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) set(8, n - 15 + i, bit(i));
  set(8, n - 8, true);
  // The data, two columns at a time from the right, up then down, past the fixed modules; mask 0 on them.
  const words = codewords(bytes, v);
  let i = 0;
  for (let right = n - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5; // the vertical timing line
    const upward = ((right + 1) & 2) === 0;
    for (let step = 0; step < n; step++) {
      const y = upward ? n - 1 - step : step;
      for (const x of [right, right - 1]) {
        if (fixed[y][x]) continue;
        const on = i < words.length * 8 && ((words[i >> 3] >> (7 - (i & 7))) & 1) === 1;
        dark[y][x] = on !== ((x + y) % 2 === 0);
        i++;
      }
    }
  }
  return dark;
}

/** Draws `text`'s QR code on `canvas`, with the light margin of 4 modules the standard asks for. */
export function draw(canvas, text) {
  const modules = encode(text);
  const scale = 6;
  const side = (modules.length + 8) * scale;
  canvas.width = canvas.height = side;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, side, side);
  g.fillStyle = '#000';
  modules.forEach((row, y) => row.forEach((on, x) => { if (on) g.fillRect((x + 4) * scale, (y + 4) * scale, scale, scale); }));
  canvas.dataset.text = text;
}
