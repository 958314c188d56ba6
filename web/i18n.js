// i18n.js: what the app says, in English, Spanish and Portuguese (the
// languages of `wachat connect`), chosen from the browser's languages.

const STRINGS = {
  en: {
    mentioned: '{n} mentions of you', details: 'Details', youBlocked: 'You blocked {who}', mentionFrom: '{who} mentioned you',
    actions: 'Message actions', actionsOn: 'Actions on the message of {who}, {time}: {what}', actionsOnMine: 'Actions on your message, {time}: {what}', edited: 'edited', deleted: '(message deleted)', search: 'Search messages', searchIn: 'Where to search', allChats: 'All chats', thisChat: 'This chat', find: 'Find',
    user: 'User', password: 'Password', email: 'Email (optional)', login: 'Log in', register: 'Register',
    chats: 'Chats', newChat: 'New chat: a user or #room', open: 'Open', back: 'Back to chats',
    message: 'Message', send: 'Send', members: 'Members', leave: 'Leave room',
    online: 'online', offline: 'offline', connecting: 'connecting…', retrying: 'offline, retrying in {s} s',
    replaced: 'logged in elsewhere', refused: 'refused: {reason}', lastSeen: 'last seen {t}',
    never: 'never seen', unread: '{n} unread', unreadLine: 'Unread messages', typing: '{who} is typing…',
    you: 'you', today: 'Today', yesterday: 'Yesterday',
    sent: 'waiting', received: 'sent', delivered: 'delivered', read: 'read', failed: 'not sent: {reason}', bounced: 'not delivered: {reason}', joinRefused: 'Not joined: {reason}',
    noChat: 'Choose a chat, or open one by name.', chatList: 'Conversations',
    newMessage: 'New message from {who}', passwordNote: 'Your password stays in this tab\'s memory only.',
    announceOnly: 'Only admins write here', mutedUntil: 'You are muted until {t}', untilLifted: 'further notice',
    youMuted: '{by} muted you in {room} until {t}', youUnmuted: '{by} unmuted you in {room}',
    youKicked: '{by} removed you from {room}', youBanned: '{by} banned you from {room} until {t}',
    youUnbanned: '{by} lifted your ban from {room}', youInvited: '{by} invites you to {room}',
    youOpped: '{by} made you an admin of {room}', youDeopped: '{by} removed you as an admin of {room}',
    code: 'Link code', linkMode: 'Link with a code', linkButton: 'Link this browser',
    linkNote: 'Get a code with /link in wachat connect, or "Link a new device" in a logged-in browser. This browser then keeps only its own token, which you can unlink, never your password.',
    unlinked: 'This browser was unlinked from another device: log in again, or link it with a new code.',
    disabled: "The server's administrator disabled your account: this browser stopped trying. Log in again once it is enabled.",
    accountDeleted: 'Your account is deleted: its password, devices, inbox and rooms are gone. The messages you sent stay with their recipients.',
    devices: 'Devices', linkNew: 'Link a new device',
    starredTitle: 'Starred messages', profile: 'Profile', callVoice: 'Voice call', callVideo: 'Video call', forward: 'Forward', mute: 'Mute',
    rules: 'Server rules', rulesTitle: 'This server\'s rules', retentionDays: 'Messages are deleted from the server after {days} days.',
    retentionNone: 'Messages are kept on the server with no time limit.', quotaBytes: 'Each account may store {size}.',
    quotaNone: 'No storage quota per account.', maxDevices: 'Devices connected at once per account: {n}.',
    maxText: 'One message holds {n} Latin letters, {half} Cyrillic or Arabic ones, or {quarter} emoji; a longer text goes as several.', nameQuarantine: 'A deleted account\'s name is free for a new account after {days} days.', close: 'Close',
    draft: 'Draft', memberCount: '{n} members', noMessages: 'No messages yet', wrongLogin: 'Wrong user name or password.',
    newHere: 'New here? An email for your account', jumpNewest: 'Jump to the newest messages ({n} new)', forwarded: 'Forwarded', relayedBy: 'relayed by {home}', readMore: 'Read more', logOut: 'Log out',
    stay: 'Stay signed in on this device', unreachable: 'Cannot reach the server.',
    owner: 'owner', admin: 'admin', offlineHere: 'Not connected: messages wait here until the server is back.',
    memberCountOne: '{n} member', unreadOne: '{n} unread', mentionedOne: '{n} mention of you',
    photo: 'Photo', voiceMessage: 'Voice message ({t})', join: 'Join {room}', openRoom: 'Open {room}',
    throttled: '{reason}. Trying again in {s} s…', tooManyLogins: 'Too many failed logins',
    emoji: 'Emoji',
  },
  es: {
    mentioned: '{n} menciones', details: 'Detalles', youBlocked: 'Bloqueaste a {who}', mentionFrom: '{who} te mencionó',
    actions: 'Acciones del mensaje', actionsOn: 'Acciones del mensaje de {who}, {time}: {what}', actionsOnMine: 'Acciones de tu mensaje, {time}: {what}', edited: 'editado', deleted: '(mensaje eliminado)', search: 'Buscar mensajes', searchIn: 'Dónde buscar', allChats: 'Todos los chats', thisChat: 'Este chat', find: 'Buscar',
    user: 'Usuario', password: 'Contraseña', email: 'Correo (opcional)', login: 'Entrar', register: 'Registrarse',
    chats: 'Chats', newChat: 'Nuevo chat: un usuario o #sala', open: 'Abrir', back: 'Volver a los chats',
    message: 'Mensaje', send: 'Enviar', members: 'Miembros', leave: 'Salir de la sala',
    online: 'en línea', offline: 'sin conexión', connecting: 'conectando…', retrying: 'sin conexión, reintento en {s} s',
    replaced: 'sesión abierta en otro lugar', refused: 'rechazado: {reason}', lastSeen: 'visto por última vez {t}',
    never: 'nunca visto', unread: '{n} sin leer', unreadLine: 'Mensajes sin leer', typing: '{who} está escribiendo…',
    you: 'tú', today: 'Hoy', yesterday: 'Ayer',
    sent: 'en espera', received: 'enviado', delivered: 'entregado', read: 'leído', failed: 'no enviado: {reason}', bounced: 'no entregado: {reason}', joinRefused: 'No te uniste: {reason}',
    noChat: 'Elige un chat, o abre uno por su nombre.', chatList: 'Conversaciones',
    newMessage: 'Nuevo mensaje de {who}', passwordNote: 'Tu contraseña solo queda en la memoria de esta pestaña.',
    announceOnly: 'Solo los administradores escriben aquí', mutedUntil: 'Estás silenciado hasta las {t}', untilLifted: 'nuevo aviso',
    youMuted: '{by} te silenció en {room} hasta las {t}', youUnmuted: '{by} te quitó el silencio en {room}',
    youKicked: '{by} te sacó de {room}', youBanned: '{by} te expulsó de {room} hasta las {t}',
    youUnbanned: '{by} levantó tu expulsión de {room}', youInvited: '{by} te invita a {room}',
    youOpped: '{by} te hizo administrador de {room}', youDeopped: '{by} te quitó la administración de {room}',
    code: 'Código de vínculo', linkMode: 'Vincular con un código', linkButton: 'Vincular este navegador',
    linkNote: 'Consigue un código con /link en wachat connect, o "Vincular un dispositivo nuevo" en un navegador con la sesión iniciada. Este navegador guarda entonces solo su propio token, que puedes desvincular, nunca tu contraseña.',
    unlinked: 'Este navegador se desvinculó desde otro dispositivo: inicia sesión de nuevo, o vincúlalo con un código nuevo.',
    disabled: 'El administrador del servidor desactivó tu cuenta: este navegador dejó de intentarlo. Inicia sesión de nuevo cuando esté activada.',
    accountDeleted: 'Tu cuenta está eliminada: su contraseña, dispositivos, bandeja y salas ya no están. Los mensajes que enviaste quedan con sus destinatarios.',
    devices: 'Dispositivos', linkNew: 'Vincular un dispositivo nuevo',
    starredTitle: 'Mensajes destacados', profile: 'Perfil', callVoice: 'Llamada de voz', callVideo: 'Videollamada', forward: 'Reenviar', mute: 'Silenciar',
    rules: 'Reglas del servidor', rulesTitle: 'Las reglas de este servidor', retentionDays: 'Los mensajes se borran del servidor a los {days} días.',
    retentionNone: 'Los mensajes se guardan en el servidor sin límite de tiempo.', quotaBytes: 'Cada cuenta puede guardar {size}.',
    quotaNone: 'Sin cuota de almacenamiento por cuenta.', maxDevices: 'Dispositivos conectados a la vez por cuenta: {n}.',
    maxText: 'Un mensaje lleva {n} letras latinas, {half} cirílicas o árabes, o {quarter} emojis; un texto más largo va en varios.', nameQuarantine: 'El nombre de una cuenta borrada queda libre para otra cuenta a los {days} días.', close: 'Cerrar',
    draft: 'Borrador', memberCount: '{n} miembros', noMessages: 'Aún no hay mensajes', wrongLogin: 'Usuario o contraseña incorrectos.',
    stay: 'Mantener la sesión en este dispositivo', unreachable: 'No se puede conectar con el servidor.',
    newHere: '¿Eres nuevo? Un correo para tu cuenta', jumpNewest: 'Ir a los mensajes más nuevos ({n} nuevos)', forwarded: 'Reenviado', relayedBy: 'reenviado por {home}', readMore: 'Leer más', logOut: 'Cerrar sesión',
    owner: 'propietario', admin: 'admin', offlineHere: 'Sin conexión: los mensajes esperan aquí hasta que vuelva el servidor.',
    memberCountOne: '{n} miembro', unreadOne: '{n} sin leer', mentionedOne: '{n} mención',
    photo: 'Foto', voiceMessage: 'Mensaje de voz ({t})', join: 'Unirse a {room}', openRoom: 'Abrir {room}',
    throttled: '{reason}. Nuevo intento en {s} s…', tooManyLogins: 'Demasiados inicios de sesión fallidos',
    emoji: 'Emojis',
  },
  pt: {
    mentioned: '{n} menções', details: 'Detalhes', youBlocked: 'Você bloqueou {who}', mentionFrom: '{who} mencionou você',
    actions: 'Ações da mensagem', actionsOn: 'Ações da mensagem de {who}, {time}: {what}', actionsOnMine: 'Ações da sua mensagem, {time}: {what}', edited: 'editada', deleted: '(mensagem apagada)', search: 'Buscar mensagens', searchIn: 'Onde buscar', allChats: 'Todas as conversas', thisChat: 'Esta conversa', find: 'Buscar',
    user: 'Usuário', password: 'Senha', email: 'E-mail (opcional)', login: 'Entrar', register: 'Registrar',
    chats: 'Conversas', newChat: 'Nova conversa: um usuário ou #sala', open: 'Abrir', back: 'Voltar às conversas',
    message: 'Mensagem', send: 'Enviar', members: 'Membros', leave: 'Sair da sala',
    online: 'online', offline: 'offline', connecting: 'conectando…', retrying: 'offline, nova tentativa em {s} s',
    replaced: 'sessão aberta em outro lugar', refused: 'recusado: {reason}', lastSeen: 'visto por último {t}',
    never: 'nunca visto', unread: '{n} não lidas', unreadLine: 'Mensagens não lidas', typing: '{who} está digitando…',
    you: 'você', today: 'Hoje', yesterday: 'Ontem',
    sent: 'aguardando', received: 'enviada', delivered: 'entregue', read: 'lida', failed: 'não enviada: {reason}', bounced: 'não entregue: {reason}', joinRefused: 'Não entrou: {reason}',
    noChat: 'Escolha uma conversa, ou abra uma pelo nome.', chatList: 'Conversas',
    newMessage: 'Nova mensagem de {who}', passwordNote: 'Sua senha fica só na memória desta aba.',
    announceOnly: 'Só os administradores escrevem aqui', mutedUntil: 'Você está silenciado até {t}', untilLifted: 'segunda ordem',
    youMuted: '{by} silenciou você em {room} até {t}', youUnmuted: '{by} tirou seu silêncio em {room}',
    youKicked: '{by} removeu você de {room}', youBanned: '{by} baniu você de {room} até {t}',
    youUnbanned: '{by} suspendeu seu banimento de {room}', youInvited: '{by} convida você para {room}',
    youOpped: '{by} fez de você um administrador de {room}', youDeopped: '{by} tirou sua administração de {room}',
    code: 'Código de vínculo', linkMode: 'Vincular com um código', linkButton: 'Vincular este navegador',
    linkNote: 'Obtenha um código com /link no wachat connect, ou "Vincular um dispositivo novo" em um navegador conectado. Este navegador guarda então só seu próprio token, que você pode desvincular, nunca sua senha.',
    unlinked: 'Este navegador foi desvinculado de outro dispositivo: entre de novo, ou vincule-o com um código novo.',
    disabled: 'O administrador do servidor desativou sua conta: este navegador parou de tentar. Entre de novo quando ela for ativada.',
    accountDeleted: 'Sua conta foi excluída: sua senha, dispositivos, caixa de entrada e salas se foram. As mensagens que você enviou ficam com seus destinatários.',
    devices: 'Dispositivos', linkNew: 'Vincular um dispositivo novo',
    starredTitle: 'Mensagens favoritas', profile: 'Perfil', callVoice: 'Chamada de voz', callVideo: 'Chamada de vídeo', forward: 'Encaminhar', mute: 'Silenciar',
    rules: 'Regras do servidor', rulesTitle: 'As regras deste servidor', retentionDays: 'As mensagens são apagadas do servidor após {days} dias.',
    retentionNone: 'As mensagens ficam no servidor sem limite de tempo.', quotaBytes: 'Cada conta pode guardar {size}.',
    quotaNone: 'Sem cota de armazenamento por conta.', maxDevices: 'Dispositivos conectados ao mesmo tempo por conta: {n}.',
    maxText: 'Uma mensagem leva {n} letras latinas, {half} cirílicas ou árabes, ou {quarter} emojis; um texto mais longo vai em várias.', nameQuarantine: 'O nome de uma conta apagada fica livre para outra conta após {days} dias.', close: 'Fechar',
    draft: 'Rascunho', memberCount: '{n} membros', noMessages: 'Ainda sem mensagens', wrongLogin: 'Usuário ou senha incorretos.',
    stay: 'Manter conectado neste dispositivo', unreachable: 'Não foi possível conectar ao servidor.',
    newHere: 'Novo aqui? Um e-mail para sua conta', jumpNewest: 'Ir para as mensagens mais novas ({n} novas)', forwarded: 'Encaminhada', relayedBy: 'repassado por {home}', readMore: 'Ler mais', logOut: 'Sair',
    owner: 'dono', admin: 'admin', offlineHere: 'Sem conexão: as mensagens esperam aqui até o servidor voltar.',
    memberCountOne: '{n} membro', unreadOne: '{n} não lida', mentionedOne: '{n} menção',
    photo: 'Foto', voiceMessage: 'Mensagem de voz ({t})', join: 'Entrar em {room}', openRoom: 'Abrir {room}',
    throttled: '{reason}. Nova tentativa em {s} s…', tooManyLogins: 'Muitas tentativas de entrar falharam',
    emoji: 'Emojis',
  },
};

/** Adds the strings of a module loaded later (`{en: {…}, es: …}`). */
export function addStrings(more) {
  for (const l in more) Object.assign(STRINGS[l], more[l]);
}

/** The first of the browser's languages that the app speaks, else English. */
export const lang = (navigator.languages || [navigator.language || 'en'])
  .map((l) => String(l).slice(0, 2).toLowerCase())
  .find((l) => l in STRINGS) || 'en';

const plural = new Intl.PluralRules(lang);

/**
 * The text of `key` with its `{name}`s filled in. A count `n` that the
 * language says in the singular ("1 member", and in Portuguese "0 membro"
 * too) takes the key's `…One` form where there is one.
 */
export function t(key, values = {}) {
  const one = typeof values.n === 'number' && plural.select(values.n) === 'one' ? `${key}One` : null;
  const text = (one && (STRINGS[lang][one] ?? STRINGS.en[one])) ?? STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

/** Every element with `data-t` gets its text; `data-t-label` its aria-label and placeholder. */
export function translate(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll('[data-t-label]')) {
    el.setAttribute('aria-label', t(el.dataset.tLabel));
    if (el.tagName === 'BUTTON') el.title = t(el.dataset.tLabel);
    if ('placeholder' in el) el.placeholder = t(el.dataset.tLabel);
  }
}
