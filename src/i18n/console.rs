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
        en: "connected to {server} as {me}; type /help for the commands",
        es: "conectado a {server} como {me}; escribe /help para ver los comandos",
        pt: "conectado a {server} como {me}; digite /help para ver os comandos",
    },
    /// The first line when the server could not be reached.
    WorkingOffline {
        en: "working offline as {me}; type /help for the commands",
        es: "trabajando sin conexión como {me}; escribe /help para ver los comandos",
        pt: "trabalhando sem conexão como {me}; digite /help para ver os comandos",
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
    LeaveNothingOpen {
        en: "usage: /leave [#room] (no room is open)",
        es: "uso: /leave [#sala] (no hay ninguna sala abierta)",
        pt: "uso: /leave [#sala] (nenhuma sala aberta)",
    },

    // ── Chat lines and notices ───────────────────────────────────────────
    /// Your message to a room: `[#general] you: hi`.
    MineInRoom {
        en: "[{room}] you: {text}",
        es: "[{room}] tú: {text}",
        pt: "[{room}] você: {text}",
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
        en: "(you logged in somewhere else: this console no longer receives messages)",
        es: "(iniciaste sesión en otro lugar: esta consola ya no recibe mensajes)",
        pt: "(você entrou em outro lugar: este console não recebe mais mensagens)",
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

    // ── Reading the keyboard ─────────────────────────────────────────────
    ReadingStdin {
        en: "reading stdin",
        es: "leyendo la entrada estándar",
        pt: "lendo a entrada padrão",
    },
    Terminal { en: "terminal", es: "terminal", pt: "terminal" },

    // ── /help ────────────────────────────────────────────────────────────
    Help {
        en: "\
commands:
  <text>                  send to the open chat (a line ending in \\ continues)
  /chat <user|#room>      open a chat and show its last 20 messages
  /msg <user> <text>      send a direct message (also /whisper, @user: text)
  /p2p <user>             open a peer-to-peer chat with user: the server only introduces you
  /hangup [user]          end the peer-to-peer chat (default: the open one)
  /users                  who is online
  /chats                  your conversations, with unread counts
  /history [n]            the last n messages of the open chat (default 20)
  /join <#room>           join (or create) a room
  /leave [#room]          leave a room (default: the open one)
  /rooms                  the rooms you are in
  /help                   this help
  /quit                   leave (also /salir, /sair, @salir)
ticks: … on its way   ✓ on the server   ✓✓ delivered   ✓✓ read   [p2p] went peer to peer",
        es: "\
comandos:
  <texto>                 enviar al chat abierto (una línea que termina en \\ continúa)
  /chat <usuario|#sala>   abrir un chat y ver sus últimos 20 mensajes
  /msg <usuario> <texto>  enviar un mensaje directo (también /whisper, @usuario: texto)
  /p2p <usuario>          abrir un chat punto a punto: el servidor solo los presenta
  /hangup [usuario]       terminar el chat punto a punto (por defecto: el abierto)
  /users                  quién está en línea
  /chats                  tus conversaciones, con los mensajes sin leer
  /history [n]            los últimos n mensajes del chat abierto (por defecto 20)
  /join <#sala>           unirse a una sala (o crearla)
  /leave [#sala]          salir de una sala (por defecto: la abierta)
  /rooms                  las salas en las que estás
  /help                   esta ayuda
  /quit                   salir (también /salir, /sair, @salir)
marcas: … en camino   ✓ en el servidor   ✓✓ entregado   ✓✓ leído   [p2p] fue punto a punto",
        pt: "\
comandos:
  <texto>                 enviar para o chat aberto (uma linha terminada em \\ continua)
  /chat <usuário|#sala>   abrir um chat e ver suas últimas 20 mensagens
  /msg <usuário> <texto>  enviar uma mensagem direta (também /whisper, @usuário: texto)
  /p2p <usuário>          abrir um chat ponto a ponto: o servidor só apresenta vocês
  /hangup [usuário]       encerrar o chat ponto a ponto (padrão: o aberto)
  /users                  quem está online
  /chats                  suas conversas, com as mensagens não lidas
  /history [n]            as últimas n mensagens do chat aberto (padrão 20)
  /join <#sala>           entrar em uma sala (ou criá-la)
  /leave [#sala]          sair de uma sala (padrão: a aberta)
  /rooms                  as salas em que você está
  /help                   esta ajuda
  /quit                   sair (também /salir, /sair, @salir)
marcas: … a caminho   ✓ no servidor   ✓✓ entregue   ✓✓ lido   [p2p] foi ponto a ponto",
    },
}

/// The ticks of a state as the console shows them: `…`, `✓`, `✓✓`, and
/// `✓✓ read` with its word translated.
pub fn ticks(lang: Lang, state: crate::protocol::State) -> &'static str {
    match state {
        crate::protocol::State::Read => Msg::TicksRead.text(lang),
        other => other.ticks(),
    }
}
