// people.js: "New chat" finds people by the start of their name
// (protocol 1.2 `PEOPLE`, docs/PROTOCOL.md §26), loaded at the first
// letter typed there. The server answers the people whose names start
// so among the members of my rooms (whom MEMBERS shows me), at most 20;
// the list under the box shows each with its avatar and when it was
// last seen, and a tap (or ↓, then Enter) opens the chat. A name typed
// whole and Enter still open any chat, found or not. Names are set as text.
// 1.3 (§27): `bo@lab2` asks lab2, over its server's link, for its people
// named bo…; lab2's refusal, that it cannot be reached, or that the network
// has no such server, is said in the list.

import { request, parseSeen, isUser, serverOf, fold } from './wire.js';
import { t, addStrings } from './i18n.js';
import { el, avatar, seenText, faces } from './view.js';
import { openChat } from './conversation.js';

addStrings({
  en: {
    people: 'People', nobodyNamed: 'Nobody in your rooms is called {start}…',
    nobodyThere: '{server} lists nobody called {start}…',
    notListed: '{server} does not list its people to other servers',
    serverUnreachable: '{server} cannot be reached now',
    tooMany: 'Too many searches of other servers: try again in a minute',
    noServer: 'There is no server {server} in this class network', noNetwork: 'This server is in no class network: {server} cannot be asked',
  },
  es: {
    people: 'Personas', nobodyNamed: 'Nadie en tus salas se llama {start}…',
    nobodyThere: '{server} no muestra a nadie llamado {start}…',
    notListed: '{server} no muestra sus personas a otros servidores',
    serverUnreachable: 'No se puede contactar con {server} ahora',
    tooMany: 'Demasiadas búsquedas en otros servidores: prueba dentro de un minuto',
    noServer: 'No hay ningún servidor {server} en esta red de la clase', noNetwork: 'Este servidor no está en ninguna red de la clase: no se puede preguntar a {server}',
  },
  pt: {
    people: 'Pessoas', nobodyNamed: 'Ninguém nas suas salas se chama {start}…',
    nobodyThere: '{server} não mostra ninguém chamado {start}…',
    notListed: '{server} não mostra as suas pessoas a outros servidores',
    serverUnreachable: 'Não é possível contactar {server} agora',
    tooMany: 'Buscas demais em outros servidores: tente daqui a um minuto',
    noServer: 'Não há nenhum servidor {server} nesta rede da turma', noNetwork: 'Este servidor não está em nenhuma rede da turma: não é possível perguntar a {server}',
  },
});

/** How long typing pauses before the server is asked. */
const PAUSE_MS = 200;
const $ = (id) => document.getElementById(id);
/** False once the server said it does not know `PEOPLE` (an older one): the box's own suggestions stay. */
let served = true;
let timer = null;
/** The start of a name asked last: an answer to an older one is dropped. */
let asked = '';

// ↓ from the box goes down the list; Esc, or opening a chat by its name, closes it.
$('new-chat-name').addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' && $('people')) {
    e.preventDefault();
    $('people').querySelector('button')?.focus();
  } else if (e.key === 'Escape') close();
});
$('new-chat').addEventListener('submit', () => close());

/** Called at each change of the "New chat" box: asks, after a pause, and shows the list (or closes it). */
export function suggest(app) {
  clearTimeout(timer);
  const start = $('new-chat-name').value.trim();
  // The box's own list (my chats, who is online) where this one does not answer: a #room, or an older server.
  $('new-chat-name').setAttribute('list', served && !start.startsWith('#') ? '' : 'suggested');
  if (!served || !isUser(start) || !app.link || app.link.status !== 'online') {
    close();
    return;
  }
  timer = setTimeout(() => ask(app, start), PAUSE_MS);
}

async function ask(app, start) {
  asked = start;
  let answer;
  try {
    answer = await app.link.request(request.people(start));
  } catch (_) {
    return; // offline meanwhile
  }
  if (asked !== start || $('new-chat-name').value.trim() !== start) return;
  if (!answer.reply.ok) {
    const server = serverOf(start);
    // An older server does not know PEOPLE; an address's refusal is about that address only.
    if (answer.reply.code === 'BAD_REQUEST' && !server) served = false;
    const said = server && {
      FORBIDDEN: 'notListed', OFFLINE: 'serverUnreachable', UNAVAILABLE: 'notListed', RATE_LIMITED: 'tooMany',
      UNKNOWN_SERVER: 'noServer', BAD_REQUEST: 'noNetwork',
    }[answer.reply.code];
    if (said) note(t(said, { server }));
    else close();
    return;
  }
  show(app, start, answer.lines.map(parseSeen).filter(Boolean));
}

/** The list under the box, made if it is not there. */
function listed() {
  let list = $('people');
  if (!list) {
    list = el('ul', 'people');
    list.id = 'people';
    list.setAttribute('aria-label', t('people'));
    list.addEventListener('keydown', (e) => move(e, list));
    $('new-chat').after(list);
  }
  return list;
}

/** A line of words in the list, in place of people. */
function note(words) {
  listed().replaceChildren(el('li', 'note', words));
}

function show(app, start, people) {
  const list = listed();
  if (!people.length) {
    const server = serverOf(start);
    note(server ? t('nobodyThere', { server, start: start.slice(0, start.indexOf('@')) }) : t('nobodyNamed', { start }));
    return;
  }
  list.replaceChildren(...people.map(({ user, seen }) => {
    const pick = el('button', 'person');
    pick.type = 'button';
    pick.dataset.user = fold(user);
    pick.append(avatar(user), el('span', 'chat-name', faces.shown(user)), el('span', 'chat-last', seenText(seen)));
    pick.addEventListener('click', () => {
      $('new-chat-name').value = '';
      close();
      openChat(app, user);
    });
    const item = el('li');
    item.append(pick);
    return item;
  }));
}

/** ↑ and ↓ between the people (↑ from the first goes back to the box), Esc back to the box. */
function move(e, list) {
  const buttons = [...list.querySelectorAll('button')];
  const at = buttons.indexOf(document.activeElement);
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const next = at + (e.key === 'ArrowDown' ? 1 : -1);
    (next < 0 ? $('new-chat-name') : buttons[Math.min(next, buttons.length - 1)]).focus();
  } else if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    $('new-chat-name').focus();
    close();
  }
}

export function close() {
  clearTimeout(timer);
  asked = '';
  $('people')?.remove();
}
