//! The console's words (`wachat connect`): what it says when it starts and
//! ends, the chat lines and notices of [`crate::console::view`], the help,
//! and the explanations of [`crate::console::command`] for a line it
//! cannot take. Lines made only of names, symbols and the user's text
//! (`bob: hola`, `#general> `) need no translation and are not here.

use super::{Lang, catalogue};

catalogue! {
    // ── Starting and ending ──────────────────────────────────────────────
    /// The first line when the server answered.
    Connected {
        en: "connected to {server} as {me} (this device: {device}); type /help for the commands",
        es: "conectado a {server} como {me} (este dispositivo: {device}); escribe /help para ver los comandos",
        pt: "conectado a {server} como {me} (este dispositivo: {device}); digite /help para ver os comandos",
    },
    /// A READMARK: the chat was read on another of your devices.
    ReadElsewhere {
        en: "{chat}: read on another of your devices",
        es: "{chat}: leído en otro de tus dispositivos",
        pt: "{chat}: lido em outro dos seus dispositivos",
    },
    /// The first line when the server could not be reached this time
    /// (this device reached it before).
    WorkingOffline {
        en: "working offline as {me} (this device: {device}); type /help for the commands",
        es: "trabajando sin conexión como {me} (este dispositivo: {device}); escribe /help para ver los comandos",
        pt: "trabalhando sem conexão como {me} (este dispositivo: {device}); digite /help para ver os comandos",
    },
    /// The first line when the server could not be reached, and this
    /// device never reached it: a wrong address or port, likely.
    NeverReached {
        en: "could not reach the server at {server}: is it running, and are these its address and ports? This device has never connected to it: what you write waits here until it answers; type /help for the commands",
        es: "no se pudo llegar al servidor en {server}: ¿está en marcha, y son estos su dirección y sus puertos? Este dispositivo nunca se ha conectado a él: lo que escribas espera aquí hasta que responda; escribe /help para ver los comandos",
        pt: "não foi possível alcançar o servidor em {server}: ele está rodando, e são estes o endereço e as portas dele? Este dispositivo nunca se conectou a ele: o que você escrever espera aqui até ele responder; digite /help para ver os comandos",
    },
    OutboxFromLastTime {
        en: "{n} message(s) from last time wait in the outbox",
        es: "{n} mensaje(s) de la sesión anterior esperan en la bandeja de salida",
        pt: "{n} mensagem(ns) da sessão anterior aguardam na caixa de saída",
    },
    OutboxAtExit {
        en: "{n} message(s) wait in the outbox; they leave when you connect again",
        es: "{n} mensaje(s) esperan en la bandeja de salida; se enviarán cuando vuelvas a conectarte",
        pt: "{n} mensagem(ns) aguardam na caixa de saída; serão enviadas quando você se conectar de novo",
    },
    /// Any error, before its explanation.
    ErrorLine {
        en: "error: {error}",
        es: "error: {error}",
        pt: "erro: {error}",
    },

    // ── Answers to commands ──────────────────────────────────────────────
    NoChatOpenToSay {
        en: "no chat is open: /chat <user|#room> first, or @user: text",
        es: "no hay ningún chat abierto: primero /chat <usuario|#sala>, o @usuario: texto",
        pt: "nenhum chat aberto: primeiro /chat <usuário|#sala>, ou @usuário: texto",
    },
    NoChatOpen {
        en: "no chat is open: /chat <user|#room> first",
        es: "no hay ningún chat abierto: primero /chat <usuario|#sala>",
        pt: "nenhum chat aberto: primeiro /chat <usuário|#sala>",
    },
    OnlineUsers {
        en: "online ({n}): {users}",
        es: "conectados ({n}): {users}",
        pt: "online ({n}): {users}",
    },
    NoConversations {
        en: "no conversations yet",
        es: "todavía no hay conversaciones",
        pt: "ainda não há conversas",
    },
    ChatUnread {
        en: "{chat}  ({n} unread)",
        es: "{chat}  ({n} sin leer)",
        pt: "{chat}  ({n} não lidas)",
    },
    RoomMembers {
        en: "{room}  ({n} members)",
        es: "{room}  ({n} miembros)",
        pt: "{room}  ({n} membros)",
    },
    RoomOneMember {
        en: "{room}  (1 member: you)",
        es: "{room}  (1 miembro: tú)",
        pt: "{room}  (1 membro: você)",
    },
    /// The head of `/members`.
    MembersOf {
        en: "{room}, {n} members:",
        es: "{room}, {n} miembros:",
        pt: "{room}, {n} membros:",
    },
    MembersOfOne {
        en: "{room}, 1 member:",
        es: "{room}, 1 miembro:",
        pt: "{room}, 1 membro:",
    },
    /// One member, or one user of `/users`: `  bob: last seen today 14:02`.
    UserPresence {
        en: "  {user}: {presence}",
        es: "  {user}: {presence}",
        pt: "  {user}: {presence}",
    },
    PresenceUnknownServer {
        en: "(this server does not say who was online when: it speaks protocol 1.0)",
        es: "(este servidor no dice quién estuvo en línea y cuándo: habla el protocolo 1.0)",
        pt: "(este servidor não diz quem esteve online e quando: ele fala o protocolo 1.0)",
    },
    /// The head of `/people`.
    PeopleNamed {
        en: "people named {start}… ({n}):",
        es: "personas llamadas {start}… ({n}):",
        pt: "pessoas chamadas {start}… ({n}):",
    },
    NobodyNamed {
        en: "nobody named {start}… shares a room with you: /chat <their full name> opens a chat anyway",
        es: "nadie llamado {start}… comparte una sala contigo: /chat <su nombre completo> abre el chat igualmente",
        pt: "ninguém chamado {start}… divide uma sala com você: /chat <nome completo> abre o chat mesmo assim",
    },
    NobodyNamedThere {
        en: "nobody of {server} named {start}… is listed to you: /chat <name>@{server} opens a chat anyway",
        es: "{server} no te muestra a nadie llamado {start}…: /chat <nombre>@{server} abre el chat igualmente",
        pt: "{server} não mostra ninguém chamado {start}…: /chat <nome>@{server} abre o chat mesmo assim",
    },
    PeopleUnknownServer {
        en: "(this server cannot look for people: it is older than protocol 1.2's PEOPLE; /chat <full name> opens a chat)",
        es: "(este servidor no busca personas: es anterior al PEOPLE del protocolo 1.2; /chat <nombre completo> abre un chat)",
        pt: "(este servidor não busca pessoas: é anterior ao PEOPLE do protocolo 1.2; /chat <nome completo> abre um chat)",
    },
    NotOnlineLately {
        en: "not online ({n}):",
        es: "sin conexión ({n}):",
        pt: "offline ({n}):",
    },
    Online { en: "online", es: "en línea", pt: "online" },
    /// `when` is a time (`14:02`), or a day and a time.
    LastSeen {
        en: "last seen {when}",
        es: "visto por última vez {when}",
        pt: "visto por último {when}",
    },
    OfflineUser { en: "offline", es: "sin conexión", pt: "offline" },
    /// The head of `/chats` when the server cannot be asked.
    ChatsOffline {
        en: "(offline: your chats as the local log has them)",
        es: "(sin conexión: tus chats según el registro local)",
        pt: "(sem conexão: suas conversas segundo o registro local)",
    },
    /// After the chat's name in `/chats`, for a peer online now.
    OnlineMark { en: " (online)", es: " (en línea)", pt: " (online)" },
    /// After the chat's name in `/chats`.
    UnreadMark {
        en: ", {n} unread",
        es: ", {n} sin leer",
        pt: ", {n} não lidas",
    },
    JoinedRoom {
        en: "joined {room}",
        es: "te uniste a {room}",
        pt: "você entrou em {room}",
    },
    LeftRoom {
        en: "left {room}",
        es: "saliste de {room}",
        pt: "você saiu de {room}",
    },
    /// The head of `/chat` and `/history` with nothing to show; `source` is
    /// empty or [`Msg::FromLocalLog`].
    ChatEmpty {
        en: "── {chat}: no messages yet{source} ──",
        es: "── {chat}: todavía no hay mensajes{source} ──",
        pt: "── {chat}: ainda não há mensagens{source} ──",
    },
    ChatLast {
        en: "── {chat}: last {n} message(s){source} ──",
        es: "── {chat}: últimos {n} mensaje(s){source} ──",
        pt: "── {chat}: últimas {n} mensagem(ns){source} ──",
    },
    FromLocalLog {
        en: ", offline: from the local log",
        es: ", sin conexión: del registro local",
        pt: ", sem conexão: do registro local",
    },
    HangUpNothingOpen {
        en: "usage: /hangup [user] (no direct chat is open)",
        es: "uso: /hangup [usuario] (no hay ningún chat directo abierto)",
        pt: "uso: /hangup [usuário] (nenhum chat direto aberto)",
    },
    NoDirectChatOpen {
        en: "no direct chat with {user} is open",
        es: "no hay ningún chat directo abierto con {user}",
        pt: "nenhum chat direto aberto com {user}",
    },
    MembersNothingOpen {
        en: "usage: /members [#room] (no room is open)",
        es: "uso: /members [#sala] (no hay ninguna sala abierta)",
        pt: "uso: /members [#sala] (nenhuma sala aberta)",
    },
    LeaveNothingOpen {
        en: "usage: /leave [#room] (no room is open)",
        es: "uso: /leave [#sala] (no hay ninguna sala abierta)",
        pt: "uso: /leave [#sala] (nenhuma sala aberta)",
    },

    // ── Times ────────────────────────────────────────────────────────────
    Today { en: "today", es: "hoy", pt: "hoje" },
    /// The sender of your own message in `/chats`.
    You { en: "you", es: "tú", pt: "você" },
    Yesterday { en: "yesterday", es: "ayer", pt: "ontem" },
    Sunday { en: "Sunday", es: "domingo", pt: "domingo" },
    Monday { en: "Monday", es: "lunes", pt: "segunda-feira" },
    Tuesday { en: "Tuesday", es: "martes", pt: "terça-feira" },
    Wednesday { en: "Wednesday", es: "miércoles", pt: "quarta-feira" },
    Thursday { en: "Thursday", es: "jueves", pt: "quinta-feira" },
    Friday { en: "Friday", es: "viernes", pt: "sexta-feira" },
    Saturday { en: "Saturday", es: "sábado", pt: "sábado" },
    /// A line between messages of different days: `── Tuesday 2024-03-05 ──`.
    DateLine {
        en: "── {day} ──",
        es: "── {day} ──",
        pt: "── {day} ──",
    },

    // ── Chat lines and notices ───────────────────────────────────────────
    /// Your message to a room: `[#general] you: hi`.
    MineInRoom {
        en: "[{room}] you: {text}",
        es: "[{room}] tú: {text}",
        pt: "[{room}] você: {text}",
    },
    /// 1.3: the author of a post in a room of another server that only
    /// the room's home vouches for (§27, "Rooms"): `eve@lab3 (relayed by lab2)`.
    RelayedAuthor {
        en: "{from} (relayed by {home})",
        es: "{from} (reenviado por {home})",
        pt: "{from} (repassado por {home})",
    },
    /// Your message to a user: `you → bob: hi`.
    MineToUser {
        en: "you → {to}: {text}",
        es: "tú → {to}: {text}",
        pt: "você → {to}: {text}",
    },
    TicksRead {
        en: "✓✓ read",
        es: "✓✓ leído",
        pt: "✓✓ lido",
    },
    /// `  ✓✓ read  (to bob: hola)`
    StateOfMessage {
        en: "  {ticks}  (to {to}: {excerpt})",
        es: "  {ticks}  (a {to}: {excerpt})",
        pt: "  {ticks}  (para {to}: {excerpt})",
    },
    StateOfUnknown {
        en: "  {ticks}  (to {to})",
        es: "  {ticks}  (a {to})",
        pt: "  {ticks}  (para {to})",
    },
    /// `meaning` is the translated `KO` code, `reason` the server's words.
    NotDelivered {
        en: "  ✗ not delivered to {to} ({meaning}): {reason}",
        es: "  ✗ no entregado a {to} ({meaning}): {reason}",
        pt: "  ✗ não entregue para {to} ({meaning}): {reason}",
    },
    /// 1.3 (§27): another server refused one of your messages, or it
    /// waited past the give-up age; `reason` is the peer's words.
    Bounced {
        en: "  ✗ not delivered to {to}: {reason}",
        es: "  ✗ no entregado a {to}: {reason}",
        pt: "  ✗ não entregue para {to}: {reason}",
    },
    /// 1.3: the home of a room of another server refused your `JOIN`.
    NotJoined {
        en: "  ✗ not joined to {room}: {reason}",
        es: "  ✗ no te uniste a {room}: {reason}",
        pt: "  ✗ não entrou em {room}: {reason}",
    },
    IsOnline {
        en: "{user} is online",
        es: "{user} está en línea",
        pt: "{user} está online",
    },
    WentOffline {
        en: "{user} went offline",
        es: "{user} se desconectó",
        pt: "{user} ficou offline",
    },
    /// Protocol 1.2's `TYPING` event: `{user}` is typing (in `{chat}`).
    Typing {
        en: "{user} is typing…",
        es: "{user} está escribiendo…",
        pt: "{user} está digitando…",
    },
    /// Protocol 1.1's `MEMBER` event.
    MemberJoined {
        en: "[{room}] {user} joined the room",
        es: "[{room}] {user} se unió a la sala",
        pt: "[{room}] {user} entrou na sala",
    },
    MemberLeft {
        en: "[{room}] {user} left the room",
        es: "[{room}] {user} salió de la sala",
        pt: "[{room}] {user} saiu da sala",
    },
    Offline {
        en: "(offline: {why}; retrying, messages wait in the outbox)",
        es: "(sin conexión: {why}; reintentando, los mensajes esperan en la bandeja de salida)",
        pt: "(sem conexão: {why}; tentando de novo, as mensagens aguardam na caixa de saída)",
    },
    BackOnline {
        en: "(back online)",
        es: "(conectado de nuevo)",
        pt: "(conectado de novo)",
    },
    Replaced {
        en: "(another wachat logged in as you and now receives your messages: this console stops)",
        es: "(otro wachat inició sesión como tú y ahora recibe tus mensajes: esta consola se detiene)",
        pt: "(outro wachat entrou como você e agora recebe suas mensagens: este console para)",
    },
    P2pOpenedByPeer {
        en: "[p2p] {peer} opened a direct chat with you: your messages to {peer} skip the server",
        es: "[p2p] {peer} abrió un chat directo contigo: tus mensajes a {peer} no pasan por el servidor",
        pt: "[p2p] {peer} abriu um chat direto com você: suas mensagens para {peer} não passam pelo servidor",
    },
    P2pOpened {
        en: "[p2p] direct chat with {peer} open: your messages to {peer} skip the server",
        es: "[p2p] chat directo con {peer} abierto: tus mensajes a {peer} no pasan por el servidor",
        pt: "[p2p] chat direto com {peer} aberto: suas mensagens para {peer} não passam pelo servidor",
    },
    P2pEnded {
        en: "[p2p] direct chat with {peer} ended ({why}); messages go through the server again",
        es: "[p2p] terminó el chat directo con {peer} ({why}); los mensajes vuelven a pasar por el servidor",
        pt: "[p2p] o chat direto com {peer} terminou ({why}); as mensagens voltam a passar pelo servidor",
    },
    P2pEndedResent {
        en: "[p2p] direct chat with {peer} ended ({why}); {n} unacknowledged message(s) resent through the server",
        es: "[p2p] terminó el chat directo con {peer} ({why}); {n} mensaje(s) sin confirmar reenviado(s) por el servidor",
        pt: "[p2p] o chat direto com {peer} terminou ({why}); {n} mensagem(ns) sem confirmação reenviada(s) pelo servidor",
    },
    NoDirectChat {
        en: "[p2p] no direct chat with {peer} ({why}); your messages to {peer} go through the server",
        es: "[p2p] no hay chat directo con {peer} ({why}); tus mensajes a {peer} pasan por el servidor",
        pt: "[p2p] sem chat direto com {peer} ({why}); suas mensagens para {peer} passam pelo servidor",
    },

    // ── Lines the console cannot take ────────────────────────────────────
    Usage {
        en: "usage: {usage}",
        es: "uso: {usage}",
        pt: "uso: {usage}",
    },
    UsageChat {
        en: "/chat <user|#room>",
        es: "/chat <usuario|#sala>",
        pt: "/chat <usuário|#sala>",
    },
    UsageMsg {
        en: "{command} <user> <text>",
        es: "{command} <usuario> <texto>",
        pt: "{command} <usuário> <texto>",
    },
    UsageAt {
        en: "@user: text",
        es: "@usuario: texto",
        pt: "@usuário: texto",
    },
    UsageHistory {
        en: "/history [n], n from 1 to {max}",
        es: "/history [n], n de 1 a {max}",
        pt: "/history [n], n de 1 a {max}",
    },
    UsageJoin {
        en: "/join <#room>",
        es: "/join <#sala>",
        pt: "/join <#sala>",
    },
    UsageLeave {
        en: "/leave [#room]",
        es: "/leave [#sala]",
        pt: "/leave [#sala]",
    },
    UsageMembers {
        en: "/members [#room]",
        es: "/members [#sala]",
        pt: "/members [#sala]",
    },
    UsagePeople {
        en: "/people <start of a name>",
        es: "/people <inicio de un nombre>",
        pt: "/people <início de um nome>",
    },
    UsageP2p {
        en: "/p2p <user>",
        es: "/p2p <usuario>",
        pt: "/p2p <usuário>",
    },
    UsageHangUp {
        en: "/hangup [user]",
        es: "/hangup [usuario]",
        pt: "/hangup [usuário]",
    },
    UsageUnlink { en: "/unlink <device>", es: "/unlink <dispositivo>", pt: "/unlink <dispositivo>" },
    /// `/devices`: the heading.
    DevicesOf {
        en: "{n} device(s) of {user}:",
        es: "{n} dispositivo(s) de {user}:",
        pt: "{n} dispositivo(s) de {user}:",
    },
    /// One device of `/devices`: `presence` is "online" or "last seen …".
    DeviceLine {
        en: "  {device}{here}: {presence}, from {address}",
        es: "  {device}{here}: {presence}, desde {address}",
        pt: "  {device}{here}: {presence}, de {address}",
    },
    ThisDevice { en: " (this one)", es: " (este)", pt: " (este)" },
    DevicesUnknownServer {
        en: "(this server has no devices: it speaks a protocol older than 1.2)",
        es: "(este servidor no tiene dispositivos: habla un protocolo anterior a 1.2)",
        pt: "(este servidor não tem dispositivos: fala um protocolo anterior ao 1.2)",
    },
    UnlinkedDevice {
        en: "{device} is unlinked: logged out for good, its link no longer works",
        es: "{device} está desvinculado: su sesión se cerró para siempre y su vínculo ya no sirve",
        pt: "{device} está desvinculado: a sessão foi encerrada para sempre e o vínculo não serve mais",
    },
    UnlinkThisDevice {
        en: "{device} is this device: to leave, /quit (to unlink it, do it from another device)",
        es: "{device} es este dispositivo: para salir, /quit (para desvincularlo, hazlo desde otro dispositivo)",
        pt: "{device} é este dispositivo: para sair, /quit (para desvinculá-lo, faça isso de outro dispositivo)",
    },
    LinkCode {
        en: "link code: {code} (valid {minutes} minutes, once). On the new device: wachat connect --user {user} --pair {code}, or \"link with a code\" in the browser",
        es: "código de vínculo: {code} (válido {minutes} minutos, una vez). En el dispositivo nuevo: wachat connect --user {user} --pair {code}, o \"vincular con un código\" en el navegador",
        pt: "código de vínculo: {code} (válido por {minutes} minutos, uma vez). No dispositivo novo: wachat connect --user {user} --pair {code}, ou \"vincular com um código\" no navegador",
    },
    TakesNoArguments {
        en: "{command} takes no arguments",
        es: "{command} no lleva argumentos",
        pt: "{command} não aceita argumentos",
    },
    WhisperToRoom {
        en: "a whisper goes to one user; for a room use /chat <#room>",
        es: "un susurro va a un solo usuario; para una sala usa /chat <#sala>",
        pt: "um sussurro vai para um só usuário; para uma sala use /chat <#sala>",
    },
    DirectChatWithRoom {
        en: "a direct chat is with one user, not a room: {name}",
        es: "un chat directo es con un usuario, no con una sala: {name}",
        pt: "um chat direto é com um usuário, não com uma sala: {name}",
    },
    NothingAfterSlash {
        en: "a command follows the /: try /help",
        es: "después de / va un comando: prueba /help",
        pt: "depois da / vem um comando: tente /help",
    },
    UnknownCommand {
        en: "unknown command {command} (try /help)",
        es: "comando desconocido {command} (prueba /help)",
        pt: "comando desconhecido {command} (tente /help)",
    },

    // ── Ctrl+C and Ctrl+D ────────────────────────────────────────────────
    CtrlCLine {
        en: "(Ctrl+C: line cleared; to leave, type /quit or press Ctrl+D)",
        es: "(Ctrl+C: línea borrada; para salir, escribe /quit o pulsa Ctrl+D)",
        pt: "(Ctrl+C: linha apagada; para sair, digite /quit ou tecle Ctrl+D)",
    },
    CtrlCDraft {
        en: "(Ctrl+C: message discarded; nothing was sent)",
        es: "(Ctrl+C: mensaje descartado; no se envió nada)",
        pt: "(Ctrl+C: mensagem descartada; nada foi enviado)",
    },
    CtrlDQuit {
        en: "(Ctrl+D: leaving)",
        es: "(Ctrl+D: saliendo)",
        pt: "(Ctrl+D: saindo)",
    },
    CtrlDDraft {
        en: "(Ctrl+D: leaving; the unfinished message was not sent)",
        es: "(Ctrl+D: saliendo; el mensaje sin terminar no se envió)",
        pt: "(Ctrl+D: saindo; a mensagem inacabada não foi enviada)",
    },

    // ── Reading the keyboard ─────────────────────────────────────────────
    ReadingStdin {
        en: "reading stdin",
        es: "leyendo la entrada estándar",
        pt: "lendo a entrada padrão",
    },
    Terminal { en: "terminal", es: "terminal", pt: "terminal" },

    // ── /help ────────────────────────────────────────────────────────────
    MoreLines {
        en: "… {n} more lines (wachat history prints it whole)",
        es: "… {n} líneas más (wachat history lo muestra entero)",
        pt: "… mais {n} linhas (wachat history mostra tudo)",
    },
    TooManyParts {
        en: "the text is {len} bytes: more than {max} messages ({bytes} bytes); not sent",
        es: "el texto tiene {len} bytes: más de {max} mensajes ({bytes} bytes); no se envió",
        pt: "o texto tem {len} bytes: mais de {max} mensagens ({bytes} bytes); não foi enviado",
    },
    SentInParts {
        en: "(the text is {len} bytes, one message holds {max}: it goes as {n} messages, marked (1/{n}) …)",
        es: "(el texto tiene {len} bytes y un mensaje admite {max}: va en {n} mensajes, marcados (1/{n}) …)",
        pt: "(o texto tem {len} bytes e uma mensagem comporta {max}: vai em {n} mensagens, marcadas (1/{n}) …)",
    },
    Help {
        en: "\
commands:
  <text>                  send to the open chat (a line ending in \\ continues)
  /chat <user|#room>      open a chat and show its last 20 messages
  /msg <user> <text>      send a direct message (also /whisper, @user: text)
  /p2p <user>, /hangup [user]   a peer-to-peer chat (the server only introduces you), or end it
  /users, /people <start>   who is online; people named <start>… in your rooms or <start>@<server>
  /chats, /archived, /starred   your chats (unread, last message); /archive /unarchive <chat>
  /history [n], /file <path>, /save n   last n messages; send a file; save n's file
  /join <#room>, /leave [#room]   join (or create) a room, or leave one (default: the open one)
  /rooms, /members [#room]        your rooms; who is in one, online or last seen
  /reply n, /edit n, /delete n, /react n 👍, /[un]star n, /search words   act on message n; search
  /topic /mode /invite /kick /ban /mute /op /roominfo /block /notify /pin /prefs (alone: usage)
  /devices, /unlink <device>, /link, /passwd [keep]   devices; log one out; link one; new password
  /help, /info            this help; the server's rules   /profile [user] /name /photo /privacy
  /quit                   leave (also /salir, /sair, @salir, Ctrl+D); /delete-account
Ctrl+C clears the line (or the message of several lines) being typed; nothing is sent.
ticks: … on its way   ✓ on the server   ✓✓ delivered   ✓✓ read   [p2p] went peer to peer
       in a room: ✓✓ once all members have it, read once all read it (/info n: who, when)",
        es: "\
comandos:
  <texto>                 enviar al chat abierto (una línea que termina en \\ continúa)
  /chat <usuario|#sala>   abrir un chat y ver sus últimos 20 mensajes
  /msg <usuario> <texto>  enviar un mensaje directo (también /whisper, @usuario: texto)
  /p2p <usuario>, /hangup [usuario]   chat punto a punto (el servidor solo los presenta), o fin
  /users, /people <inicio>   quién está en línea; personas <inicio>… en tus salas o <inicio>@<srv>
  /chats, /archived, /starred   tus chats (no leídos, último mensaje); /archive /unarchive <chat>
  /history [n], /file <ruta>, /save n   últimos n mensajes; enviar archivo; guardar el de n
  /join <#sala>, /leave [#sala]   unirse a una sala (o crearla), o salir (por defecto: la abierta)
  /rooms, /members [#sala]        tus salas; quién está en una, en línea o visto por última vez
  /reply n, /edit n, /delete n, /react n 👍, /[un]star n, /search palabras   actuar en n; buscar
  /topic /mode /invite /kick /ban /mute /op /roominfo /block /notify /pin /prefs (solos: su uso)
  /devices, /unlink <disp.>, /link, /passwd [keep]   dispositivos; cerrar; vincular; clave nueva
  /help, /info            ayuda; reglas del servidor   /profile [usuario] /name /photo /privacy
  /quit                   salir (también /salir, /sair, @salir, Ctrl+D); /delete-account
Ctrl+C borra la línea (o el mensaje de varias líneas) que escribes; no se envía nada.
marcas: … en camino   ✓ en el servidor   ✓✓ entregado   ✓✓ leído   [p2p] fue punto a punto
        en una sala: ✓✓ si todos lo tienen, leído si todos lo leen (/info n: quién, cuándo)",
        pt: "\
comandos:
  <texto>                 enviar para o chat aberto (uma linha terminada em \\ continua)
  /chat <usuário|#sala>   abrir um chat e ver suas últimas 20 mensagens
  /msg <usuário> <texto>  enviar uma mensagem direta (também /whisper, @usuário: texto)
  /p2p <usuário>, /hangup [usuário]   chat ponto a ponto (o servidor só apresenta vocês), ou fim
  /users, /people <início>   quem está online; pessoas <início>… nas suas salas ou <início>@<srv>
  /chats, /archived, /starred   conversas (não lidas, última mensagem); /archive /unarchive <chat>
  /history [n], /file <arq.>, /save n   últimas n mensagens; enviar arquivo; salvar o de n
  /join <#sala>, /leave [#sala]   entrar em uma sala (ou criá-la), ou sair (padrão: a aberta)
  /rooms, /members [#sala]        suas salas; quem está em uma, online ou visto por último
  /reply n, /edit n, /delete n, /react n 👍, /[un]star n, /search palavras   agir em n; buscar
  /topic /mode /invite /kick /ban /mute /op /roominfo /block /notify /pin /prefs (sós: o uso)
  /devices, /unlink <disp.>, /link, /passwd [keep]   dispositivos; encerrar; vincular; senha nova
  /help, /info            ajuda; regras do servidor   /profile [usuário] /name /photo /privacy
  /quit                   sair (também /salir, /sair, @salir, Ctrl+D); /delete-account
Ctrl+C apaga a linha (ou a mensagem de várias linhas) que você digita; nada é enviado.
marcas: … a caminho   ✓ no servidor   ✓✓ entregue   ✓✓ lido   [p2p] foi ponto a ponto
        numa sala: ✓✓ se todos a têm, lida se todos a leem (/info n: quem, quando)",
    },
}

/// The ticks of a state as the console shows them: `…`, `✓`, `✓✓`, and
/// `✓✓ read` with its word translated.
pub fn ticks(lang: Lang, state: crate::protocol::MsgState) -> &'static str {
    match state {
        crate::protocol::MsgState::Read => Msg::TicksRead.text(lang),
        other => other.ticks(),
    }
}
