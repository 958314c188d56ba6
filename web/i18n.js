// i18n.js: what the app says, in English, Spanish and Portuguese (the
// languages of `wachat connect`), chosen from the browser's languages.

const STRINGS = {
  en: {
    user: 'User', password: 'Password', email: 'Email (optional)', login: 'Log in', register: 'Register',
    chats: 'Chats', newChat: 'New chat: a user or #room', open: 'Open', back: 'Back to chats',
    message: 'Message', send: 'Send', members: 'Members', leave: 'Leave room',
    online: 'online', offline: 'offline', connecting: 'connecting…', retrying: 'offline, retrying in {s} s',
    replaced: 'logged in elsewhere', refused: 'refused: {reason}', lastSeen: 'last seen {t}',
    never: 'never seen', unread: '{n} unread', unreadLine: 'Unread messages', typing: '{who} is typing…',
    you: 'you', today: 'Today', yesterday: 'Yesterday', older: 'Loading older messages…',
    sent: 'waiting', received: 'sent', delivered: 'delivered', read: 'read', failed: 'not sent: {reason}',
    notify: 'Notifications', noChat: 'Choose a chat, or open one by name.', chatList: 'Conversations',
    newMessage: 'New message from {who}', passwordNote: 'Your password stays in this tab\'s memory only.',
    rules: 'Server rules', rulesTitle: 'This server\'s rules', retentionDays: 'Messages are deleted from the server after {days} days.',
    retentionNone: 'Messages are kept on the server with no time limit.', quotaBytes: 'Each account may store {size}.',
    quotaNone: 'No storage quota per account.', maxDevices: 'Devices connected at once per account: {n}.',
    maxText: 'Longest message: {n} bytes.', close: 'Close',
  },
  es: {
    user: 'Usuario', password: 'Contraseña', email: 'Correo (opcional)', login: 'Entrar', register: 'Registrarse',
    chats: 'Chats', newChat: 'Nuevo chat: un usuario o #sala', open: 'Abrir', back: 'Volver a los chats',
    message: 'Mensaje', send: 'Enviar', members: 'Miembros', leave: 'Salir de la sala',
    online: 'en línea', offline: 'sin conexión', connecting: 'conectando…', retrying: 'sin conexión, reintento en {s} s',
    replaced: 'sesión abierta en otro lugar', refused: 'rechazado: {reason}', lastSeen: 'visto por última vez {t}',
    never: 'nunca visto', unread: '{n} sin leer', unreadLine: 'Mensajes sin leer', typing: '{who} está escribiendo…',
    you: 'tú', today: 'Hoy', yesterday: 'Ayer', older: 'Cargando mensajes anteriores…',
    sent: 'en espera', received: 'enviado', delivered: 'entregado', read: 'leído', failed: 'no enviado: {reason}',
    notify: 'Notificaciones', noChat: 'Elige un chat, o abre uno por su nombre.', chatList: 'Conversaciones',
    newMessage: 'Nuevo mensaje de {who}', passwordNote: 'Tu contraseña solo queda en la memoria de esta pestaña.',
    rules: 'Reglas del servidor', rulesTitle: 'Las reglas de este servidor', retentionDays: 'Los mensajes se borran del servidor a los {days} días.',
    retentionNone: 'Los mensajes se guardan en el servidor sin límite de tiempo.', quotaBytes: 'Cada cuenta puede guardar {size}.',
    quotaNone: 'Sin cuota de almacenamiento por cuenta.', maxDevices: 'Dispositivos conectados a la vez por cuenta: {n}.',
    maxText: 'Mensaje más largo: {n} bytes.', close: 'Cerrar',
  },
  pt: {
    user: 'Usuário', password: 'Senha', email: 'E-mail (opcional)', login: 'Entrar', register: 'Registrar',
    chats: 'Conversas', newChat: 'Nova conversa: um usuário ou #sala', open: 'Abrir', back: 'Voltar às conversas',
    message: 'Mensagem', send: 'Enviar', members: 'Membros', leave: 'Sair da sala',
    online: 'online', offline: 'offline', connecting: 'conectando…', retrying: 'offline, nova tentativa em {s} s',
    replaced: 'sessão aberta em outro lugar', refused: 'recusado: {reason}', lastSeen: 'visto por último {t}',
    never: 'nunca visto', unread: '{n} não lidas', unreadLine: 'Mensagens não lidas', typing: '{who} está digitando…',
    you: 'você', today: 'Hoje', yesterday: 'Ontem', older: 'Carregando mensagens anteriores…',
    sent: 'aguardando', received: 'enviada', delivered: 'entregue', read: 'lida', failed: 'não enviada: {reason}',
    notify: 'Notificações', noChat: 'Escolha uma conversa, ou abra uma pelo nome.', chatList: 'Conversas',
    newMessage: 'Nova mensagem de {who}', passwordNote: 'Sua senha fica só na memória desta aba.',
    rules: 'Regras do servidor', rulesTitle: 'As regras deste servidor', retentionDays: 'As mensagens são apagadas do servidor após {days} dias.',
    retentionNone: 'As mensagens ficam no servidor sem limite de tempo.', quotaBytes: 'Cada conta pode guardar {size}.',
    quotaNone: 'Sem cota de armazenamento por conta.', maxDevices: 'Dispositivos conectados ao mesmo tempo por conta: {n}.',
    maxText: 'Mensagem mais longa: {n} bytes.', close: 'Fechar',
  },
};

/** The first of the browser's languages that the app speaks, else English. */
export const lang = (navigator.languages || [navigator.language || 'en'])
  .map((l) => String(l).slice(0, 2).toLowerCase())
  .find((l) => l in STRINGS) || 'en';

/** The text of `key` with its `{name}`s filled in. */
export function t(key, values = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

/** Every element with `data-t` gets its text; `data-t-label` its aria-label and placeholder. */
export function translate(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll('[data-t-label]')) {
    el.setAttribute('aria-label', t(el.dataset.tLabel));
    if ('placeholder' in el) el.placeholder = t(el.dataset.tLabel);
  }
}
