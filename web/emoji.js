// emoji.js: the emoji picker, opened by the "Emoji" button beside the
// message box (app.js), loaded at its first tap, never with the page.
// Its emoji are drawn by the system's own font: nothing is downloaded.
// Where the system has no emoji font (a lab PC), each shows its name
// instead of an empty box. A search finds an emoji by its name in any of
// the app's three languages; the ones used last come first, kept in this
// browser (localStorage). A pick goes into the message at the caret, or
// (opened by a message menu's "More reactions", actions.js) becomes a
// reaction.

import { t, addStrings } from './i18n.js';
import { el } from './view.js';

addStrings({
  en: { emojiSearch: 'Search emoji', emojiRecent: 'Recently used', emojiAll: 'Emoji', emojiNone: 'No emoji named “{q}”' },
  es: { emojiSearch: 'Buscar emoji', emojiRecent: 'Usados recientemente', emojiAll: 'Emoji', emojiNone: 'Ningún emoji se llama «{q}»' },
  pt: { emojiSearch: 'Pesquisar emoji', emojiRecent: 'Usados recentemente', emojiAll: 'Emoji', emojiNone: 'Nenhum emoji chamado “{q}”' },
});

/** Each emoji with its names: English | Spanish | Portuguese (CLDR's short names, shortened). */
const TABLE = `😀 grinning face|cara sonriente|rosto risonho
😃 smiling face with big eyes|cara sonriente con ojos grandes|rosto risonho com olhos grandes
😄 grinning face with smiling eyes|cara sonriente con ojos sonrientes|rosto risonho com olhos sorridentes
😁 beaming face|cara radiante|rosto radiante
😆 laughing|risa|risada
😅 sweat smile|sonrisa con sudor|sorriso com suor
🤣 rolling on the floor laughing|revolcándose de la risa|rolando de rir
😂 tears of joy|lágrimas de alegría|lágrimas de alegria
🙂 slightly smiling face|cara sonriendo ligeramente|rosto levemente sorridente
😉 winking face|cara guiñando el ojo|rosto piscando
😊 smiling face|cara feliz|rosto sorridente
😇 halo|aureola|auréola
🥰 smiling face with hearts|cara sonriente con corazones|rosto sorridente com corações
😍 heart eyes|ojos de corazón|olhos de coração
😘 blowing a kiss|lanzando un beso|mandando um beijo
😋 yummy|delicioso|delicioso
😜 winking face with tongue|cara guiñando con la lengua fuera|rosto piscando com língua
🤔 thinking face|cara pensativa|rosto pensativo
🤗 hugging face|cara con abrazo|rosto abraçando
🤫 shushing face|cara pidiendo silencio|rosto pedindo silêncio
😐 neutral face|cara neutral|rosto neutro
😑 expressionless|sin expresión|sem expressão
😶 no mouth|sin boca|sem boca
🙄 rolling eyes|ojos en blanco|olhos revirados
😏 smirk|sonrisa pícara|sorriso malicioso
😬 grimacing face|mueca|careta
😌 relieved face|cara de alivio|rosto aliviado
😴 sleeping face|cara durmiendo|rosto dormindo
😷 face with mask|cara con mascarilla|rosto com máscara
🤒 thermometer|termómetro|termômetro
🤯 exploding head|cabeza explotando|cabeça explodindo
🥳 party face|cara de fiesta|rosto festejando
😎 sunglasses|gafas de sol|óculos escuros
🤓 nerd face|cara de empollón|rosto nerd
😕 confused face|cara confusa|rosto confuso
😟 worried face|cara preocupada|rosto preocupado
😮 face with open mouth|cara con la boca abierta|rosto com boca aberta
😲 astonished face|cara asombrada|rosto espantado
😳 flushed face|cara sonrojada|rosto corado
🥺 pleading face|cara suplicante|rosto suplicante
😢 crying face|cara llorando|rosto chorando
😭 loudly crying|llorando a mares|chorando muito
😱 screaming in fear|gritando de miedo|gritando de medo
😤 steam from nose|resoplando|bufando
😡 pouting face|cara enfadada|rosto zangado
🤬 cursing|insultando|xingando
💀 skull|calavera|caveira
💩 pile of poo|caca|cocô
🤡 clown|payaso|palhaço
👻 ghost|fantasma|fantasma
👽 alien|alienígena|alienígena
🤖 robot|robot|robô
👋 waving hand|mano saludando|mão acenando
👌 ok hand|mano de ok|mão de ok
✌️ victory hand|mano de victoria|mão de vitória
🤞 crossed fingers|dedos cruzados|dedos cruzados
👍 thumbs up|pulgar arriba|polegar para cima
👎 thumbs down|pulgar abajo|polegar para baixo
👏 clapping hands|aplausos|palmas
🙌 raising hands|manos levantadas|mãos levantadas
🙏 folded hands|manos juntas|mãos juntas
💪 flexed biceps|bíceps|bíceps
👀 eyes|ojos|olhos
🧠 brain|cerebro|cérebro
❤️ red heart|corazón rojo|coração vermelho
🧡 orange heart|corazón naranja|coração laranja
💛 yellow heart|corazón amarillo|coração amarelo
💚 green heart|corazón verde|coração verde
💙 blue heart|corazón azul|coração azul
💜 purple heart|corazón morado|coração roxo
🖤 black heart|corazón negro|coração preto
💔 broken heart|corazón roto|coração partido
💯 hundred points|cien puntos|cem pontos
💥 collision|colisión|colisão
✨ sparkles|chispas|brilhos
🔥 fire|fuego|fogo
⭐ star|estrella|estrela
🌈 rainbow|arcoíris|arco-íris
☀️ sun|sol|sol
🌙 moon|luna|lua
⚡ lightning|rayo|raio
❄️ snowflake|copo de nieve|floco de neve
🌹 rose|rosa|rosa
🌻 sunflower|girasol|girassol
🐶 dog|perro|cachorro
🐱 cat|gato|gato
🐭 mouse|ratón|rato
🦊 fox|zorro|raposa
🐻 bear|oso|urso
🐼 panda|panda|panda
🐸 frog|rana|sapo
🐵 monkey|mono|macaco
🐔 chicken|gallina|galinha
🐧 penguin|pingüino|pinguim
🦄 unicorn|unicornio|unicórnio
🐝 bee|abeja|abelha
🍎 apple|manzana|maçã
🍕 pizza|pizza|pizza
🍔 hamburger|hamburguesa|hambúrguer
🍟 french fries|patatas fritas|batata frita
🌮 taco|taco|taco
🍰 cake|pastel|bolo
🎂 birthday cake|tarta de cumpleaños|bolo de aniversário
🍫 chocolate|chocolate|chocolate
🍿 popcorn|palomitas|pipoca
☕ coffee|café|café
🍺 beer|cerveza|cerveja
🍷 wine|vino|vinho
🥂 toast|brindis|brinde
🎉 party popper|confeti|confete
🎁 gift|regalo|presente
🎈 balloon|globo|balão
⚽ soccer ball|balón de fútbol|bola de futebol
🏀 basketball|baloncesto|basquete
🎮 video game|videojuego|videogame
🎵 musical note|nota musical|nota musical
🎸 guitar|guitarra|guitarra
📚 books|libros|livros
✏️ pencil|lápiz|lápis
💻 laptop|portátil|notebook
📱 mobile phone|teléfono móvil|celular
📷 camera|cámara|câmera
💡 light bulb|bombilla|lâmpada
🔑 key|llave|chave
🔒 locked|candado|cadeado
⏰ alarm clock|despertador|despertador
📅 calendar|calendario|calendário
📌 pushpin|chincheta|tachinha
🚀 rocket|cohete|foguete
🚗 car|coche|carro
🚲 bicycle|bicicleta|bicicleta
✈️ airplane|avión|avião
🏠 house|casa|casa
🌍 globe|globo terráqueo|globo terrestre
✅ check mark|marca de verificación|marca de seleção
❌ cross mark|aspa|xis
❓ question mark|signo de interrogación|ponto de interrogação
❗ exclamation mark|signo de exclamación|ponto de exclamação
⚠️ warning|advertencia|aviso
🆗 ok button|botón ok|botão ok
👉 pointing right|señalando a la derecha|apontando para a direita
👈 pointing left|señalando a la izquierda|apontando para a esquerda`;

/** The emoji: `{ e, names: [en, es, pt] }`, in the table's order. */
const EMOJI = TABLE.split('\n').map((line) => {
  const at = line.indexOf(' ');
  return { e: line.slice(0, at), names: line.slice(at + 1).split('|') };
});

/** Where the emoji used last are kept in this browser, newest first, at most RECENT_MAX. */
const RECENT_KEY = 'wachat-emoji-recent';
const RECENT_MAX = 16;

const LANGS = ['en', 'es', 'pt'];

/** An emoji's name in the app's language. */
function nameOf(emoji) {
  return emoji.names[Math.max(0, LANGS.indexOf(document.documentElement.lang))];
}

/** `text` for a search: lower case, without accents (`corazón` is found by `corazon`). */
function plain(text) {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The emoji whose name in some language has a word starting with `query`
 * (all of them for an empty one): first those whose name is it, then
 * those whose name starts with it, then the others, each in the table's
 * order.
 */
export function find(query) {
  const q = plain(query.trim()).replace(/\s+/g, ' ');
  if (!q) return EMOJI;
  const rank = (emoji) => Math.min(...emoji.names.map((n) => {
    const name = plain(n);
    if (name === q) return 0;
    if (name.startsWith(q)) return 1;
    const words = name.split(/[\s-]+/);
    return words.some((_, i) => words.slice(i).join(' ').startsWith(q)) ? 2 : 3;
  }));
  return EMOJI.map((emoji) => [rank(emoji), emoji]).filter(([r]) => r < 3).sort((a, b) => a[0] - b[0]).map(([, emoji]) => emoji);
}

/** The emoji used last, newest first (what this browser kept). */
export function recent() {
  let kept = [];
  try {
    kept = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
  } catch (_) {
    /* not ours, or damaged: start again */
  }
  return (Array.isArray(kept) ? kept : []).map((e) => EMOJI.find((x) => x.e === e)).filter(Boolean);
}

/** Notes `emoji` as the newest used. */
function used(emoji) {
  const kept = [emoji.e, ...recent().map((x) => x.e).filter((e) => e !== emoji.e)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(kept));
  } catch (_) {
    /* storage full or off: nothing is remembered */
  }
}

/**
 * Whether this system draws emoji: the pixels of 😀 differ from those of
 * a character no font has (what a missing glyph looks like). Asked once.
 */
let drawn = null;
function drawsEmoji() {
  if (drawn !== null) return drawn;
  const pixels = (text) => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 24;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    if (!g) return '';
    g.font = '20px sans-serif';
    g.textBaseline = 'top';
    g.fillText(text, 0, 0);
    return g.getImageData(0, 0, 24, 24).data.join();
  };
  drawn = pixels('😀') !== pixels('\u{10FFFD}');
  return drawn;
}

/** A button for `emoji`: its glyph, or its name where the system cannot draw it; its name to a screen reader. */
function button(emoji, onPick) {
  const b = el('button', drawsEmoji() ? 'emoji' : 'emoji named', drawsEmoji() ? emoji.e : nameOf(emoji));
  b.type = 'button';
  b.dataset.emoji = emoji.e;
  b.setAttribute('aria-label', nameOf(emoji));
  b.title = nameOf(emoji);
  b.addEventListener('click', () => {
    used(emoji);
    onPick(emoji.e);
  });
  return b;
}

/**
 * Opens the picker over `anchor` (the button that opened it), or closes
 * it if it is open; `onPick(emoji)` is given the emoji chosen, and the
 * picker closes. Esc closes it too; the focus goes back to `back`.
 */
export function open(anchor, onPick, back = anchor) {
  const was = document.getElementById('emoji-picker');
  if (was) {
    was.shut();
    return;
  }
  const box = el('div', 'emoji-picker');
  box.id = 'emoji-picker';
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', t('emojiAll'));
  const search = el('input', 'emoji-search');
  search.type = 'search';
  search.id = 'emoji-search';
  search.setAttribute('aria-label', t('emojiSearch'));
  search.placeholder = t('emojiSearch');
  search.autocomplete = 'off';
  const grid = el('div', 'emoji-grid');
  const shut = () => {
    box.remove();
    document.removeEventListener('pointerdown', outside, true);
    anchor.setAttribute('aria-expanded', 'false');
    back?.focus?.();
  };
  box.shut = shut;
  const pick = (e) => {
    shut();
    onPick(e);
  };
  const section = (title, list) => {
    const head = el('h3', 'emoji-head', title);
    const row = el('div', 'emoji-row');
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', title);
    row.append(...list.map((emoji) => button(emoji, pick)));
    return [head, row];
  };
  const draw = () => {
    const q = search.value;
    const found = find(q);
    const kept = q.trim() ? [] : recent();
    grid.replaceChildren(
      ...(kept.length ? section(t('emojiRecent'), kept) : []),
      ...(found.length ? section(t('emojiAll'), found) : [el('p', 'note', t('emojiNone', { q }))]),
    );
  };
  search.addEventListener('input', draw);
  // Enter picks the first emoji shown.
  search.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    grid.querySelector('button')?.click();
  });
  box.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault(); // app.js's Esc leaves what is under the picker alone
    shut();
  });
  const outside = (e) => {
    if (!box.contains(e.target) && !anchor.contains(e.target)) shut();
  };
  document.addEventListener('pointerdown', outside, true);
  draw();
  box.append(search, grid);
  document.body.append(box);
  // Above the button that opened it (above the whole composer, for its button), inside the window;
  // below it where there is more room there (a message's menu near the top of the chat).
  const r = anchor.getBoundingClientRect();
  const top = (anchor.closest('#composer') ?? anchor).getBoundingClientRect().top;
  const width = box.offsetWidth;
  box.style.left = `${Math.max(4, Math.min(r.left, innerWidth - width - 4))}px`;
  const below = innerHeight - r.bottom;
  if (top < 260 && below > top) {
    box.style.top = `${r.bottom + 4}px`;
    box.style.maxHeight = `${Math.max(160, Math.min(360, below - 8))}px`;
  } else {
    box.style.bottom = `${Math.max(4, innerHeight - top + 4)}px`;
    box.style.maxHeight = `${Math.max(160, Math.min(360, top - 8))}px`;
  }
  anchor.setAttribute('aria-expanded', 'true');
  search.focus();
}

/** Puts `text` into the message box at its caret (over what is selected), as typed: drafts and typing see it. */
export function insert(input, text) {
  input.focus();
  input.setRangeText(text, input.selectionStart, input.selectionEnd, 'end');
  input.dispatchEvent(new Event('input', { bubbles: true }));
}
