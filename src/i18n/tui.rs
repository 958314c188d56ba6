//! The full-screen console's words (`wachat connect --tui`, [`crate::tui`]):
//! pane titles, the status line, the hints, the keys' help, and why it
//! will not start. The chat lines' own words (ticks, "today", "you",
//! presence, notices) are the line console's ([`super::console`]), so the
//! two consoles say the same things the same way.

use super::catalogue;

catalogue! {
    // ── Panes ────────────────────────────────────────────────────────────
    ChatsTitle { en: "Chats", es: "Chats", pt: "Conversas" },
    NoChats {
        en: "no chats yet: /chat <user|#room> starts one",
        es: "todavía no hay chats: /chat <usuario|#sala> empieza uno",
        pt: "ainda não há conversas: /chat <usuário|#sala> começa uma",
    },
    PickAChat {
        en: "pick a chat on the left (↑ ↓ Enter), or type /chat <user|#room>; F1 shows the keys",
        es: "elige un chat a la izquierda (↑ ↓ Enter), o escribe /chat <usuario|#sala>; F1 muestra las teclas",
        pt: "escolha uma conversa à esquerda (↑ ↓ Enter), ou digite /chat <usuário|#sala>; F1 mostra as teclas",
    },
    /// The title of the input box with a chat open.
    InputTo {
        en: "message to {chat}",
        es: "mensaje a {chat}",
        pt: "mensagem para {chat}",
    },
    InputNoChat {
        en: "a command (/help), or pick a chat",
        es: "un comando (/help), o elige un chat",
        pt: "um comando (/help), ou escolha uma conversa",
    },
    InputKeys {
        en: "Enter sends · Alt+Enter new line",
        es: "Enter envía · Alt+Enter nueva línea",
        pt: "Enter envia · Alt+Enter nova linha",
    },
    /// The line above the first unread message of a chat.
    UnreadDivider {
        en: "{n} unread message(s)",
        es: "{n} mensaje(s) sin leer",
        pt: "{n} mensagem(ns) não lida(s)",
    },
    /// Under one of your messages the server refused for good.
    NotDelivered {
        en: "✗ not delivered: {reason}",
        es: "✗ no entregado: {reason}",
        pt: "✗ não entregue: {reason}",
    },
    /// 1.2 (§23): the chat list's line above the archived chats.
    ArchivedTitle { en: "Archived ({n})", es: "Archivados ({n})", pt: "Arquivadas ({n})" },
    LoadingOlder {
        en: "loading older messages…",
        es: "cargando mensajes anteriores…",
        pt: "carregando mensagens anteriores…",
    },
    StartOfChat {
        en: "start of the conversation",
        es: "comienzo de la conversación",
        pt: "início da conversa",
    },
    ServerListsAtMost {
        en: "the server lists at most the last {n} messages",
        es: "el servidor lista como mucho los últimos {n} mensajes",
        pt: "o servidor lista no máximo as últimas {n} mensagens",
    },
    OlderWhenOnline {
        en: "offline: older messages once the server is back",
        es: "sin conexión: los mensajes anteriores cuando vuelva el servidor",
        pt: "sem conexão: as mensagens anteriores quando o servidor voltar",
    },
    /// The title of the panel of answers, notices and `--trace` frames.
    PanelTitle {
        en: "wachat · Esc closes · PgUp/PgDn scroll · F2 opens it again",
        es: "wachat · Esc cierra · RePág/AvPág desplazan · F2 lo vuelve a abrir",
        pt: "wachat · Esc fecha · PgUp/PgDn rolam · F2 abre de novo",
    },

    // ── The status line ──────────────────────────────────────────────────
    Connected { en: "connected", es: "conectado", pt: "conectado" },
    /// Never reached the server since the start; retrying.
    OfflineStatus { en: "offline", es: "sin conexión", pt: "sem conexão" },
    /// Was connected, lost it; retrying.
    Reconnecting { en: "reconnecting", es: "reconectando", pt: "reconectando" },
    Outbox {
        en: "outbox {n}",
        es: "por enviar {n}",
        pt: "a enviar {n}",
    },
    BellOn { en: "bell on", es: "timbre sí", pt: "sino ligado" },
    BellOff { en: "bell off", es: "timbre no", pt: "sino desligado" },
    HelpKey { en: "F1 keys", es: "F1 teclas", pt: "F1 teclas" },
    /// Ctrl+C on an empty input while messages wait in the outbox.
    QuitWithOutbox {
        en: "{n} message(s) still wait in the outbox; they leave when you connect again. Quit? (y/n)",
        es: "{n} mensaje(s) esperan todavía en la bandeja de salida; se enviarán cuando vuelvas a conectarte. ¿Salir? (s/n)",
        pt: "{n} mensagem(ns) ainda aguardam na caixa de saída; serão enviadas quando você se conectar de novo. Sair? (s/n)",
    },
    DraftDiscarded {
        en: "(Ctrl+C: message discarded; nothing was sent. Ctrl+C on an empty line quits)",
        es: "(Ctrl+C: mensaje descartado; no se envió nada. Ctrl+C en una línea vacía sale)",
        pt: "(Ctrl+C: mensagem descartada; nada foi enviado. Ctrl+C numa linha vazia sai)",
    },

    // ── Acting on a message (1.2, `tui/select.rs`) ────────────────────────
    /// The line above the input while a message is chosen.
    Chosen {
        en: "chosen: {who}: {text} · r reply · e edit · d delete · + react · * star · i info · / search · Esc",
        es: "elegido: {who}: {text} · r responder · e editar · d borrar · + reaccionar · * destacar · i info · / buscar · Esc",
        pt: "escolhida: {who}: {text} · r responder · e editar · d apagar · + reagir · * favoritar · i info · / buscar · Esc",
    },
    /// 1.2 (§25): what `*` on a chosen message did.
    StarredIt { en: "★ starred (on all your devices)", es: "★ destacado (en todos tus dispositivos)", pt: "★ favoritada (em todos os seus dispositivos)" },
    UnstarredIt { en: "star taken back", es: "ya no está destacado", pt: "não é mais favorita" },
    ConfirmDelete {
        en: "delete this message for everyone? (y/n)",
        es: "¿borrar este mensaje para todos? (s/n)",
        pt: "apagar esta mensagem para todos? (s/n)",
    },
    ReactMenu {
        en: "react with: {menu} or type any emoji (Esc: none)",
        es: "reaccionar con: {menu} o escribe cualquier emoji (Esc: ninguna)",
        pt: "reagir com: {menu} ou digite qualquer emoji (Esc: nenhuma)",
    },
    NotYourMessage {
        en: "only its author may edit a message",
        es: "solo su autor puede editar un mensaje",
        pt: "só o autor pode editar uma mensagem",
    },
    /// The input box's title while replying, editing, searching.
    InputReply { en: "reply {quote}", es: "responder {quote}", pt: "responder {quote}" },
    InputEdit { en: "edit your message", es: "editar tu mensaje", pt: "editar sua mensagem" },
    InputSearch {
        en: "search every chat (words)",
        es: "buscar en todos los chats (palabras)",
        pt: "buscar em todas as conversas (palavras)",
    },
    /// After an edited message's time.
    EditedMark { en: "edited", es: "editado", pt: "editada" },
    EditedIt { en: "edited", es: "editado", pt: "editada" },
    DeletedIt { en: "deleted for everyone", es: "borrado para todos", pt: "apagada para todos" },
    ReactedWith { en: "{emoji} added", es: "{emoji} añadido", pt: "{emoji} adicionado" },
    TookBack { en: "{emoji} taken back", es: "{emoji} retirado", pt: "{emoji} retirado" },
    /// The title of the search results.
    FoundTitle {
        en: "{n} found for \"{words}\" · ↑ ↓ · Enter opens · Esc closes",
        es: "{n} encontrados para \"{words}\" · ↑ ↓ · Enter abre · Esc cierra",
        pt: "{n} encontradas para \"{words}\" · ↑ ↓ · Enter abre · Esc fecha",
    },

    // ── F1 ───────────────────────────────────────────────────────────────
    Keys {
        en: "\
keys:
  ↑ ↓, Ctrl+P Ctrl+N   move in the chat list (Ctrl+P/N also while typing)
  Enter                open the chosen chat; in the input, send
  Alt+Enter, Ctrl+J    a new line in the message
  Tab                  switch between the chat list and the input
  Esc                  leave the input (or close this panel)
  PgUp PgDn            scroll the conversation (older messages load at the top)
  Ctrl+C               discard what you are typing; on an empty line, quit
  Ctrl+G               the bell for messages in other chats, on or off
  F2                   this panel again: answers to commands, notices, --trace
  Ctrl+L               redraw the screen
  ↑ on an empty input  a message: r reply, e edit, d delete, + react, * star, / search (Esc)",
        es: "\
teclas:
  ↑ ↓, Ctrl+P Ctrl+N   moverse en la lista de chats (Ctrl+P/N también al escribir)
  Enter                abrir el chat elegido; en la entrada, enviar
  Alt+Enter, Ctrl+J    una línea nueva en el mensaje
  Tab                  pasar de la lista de chats a la entrada y viceversa
  Esc                  salir de la entrada (o cerrar este panel)
  RePág AvPág          desplazar la conversación (arriba se cargan los anteriores)
  Ctrl+C               descartar lo que escribes; en una línea vacía, salir
  Ctrl+G               el timbre de los mensajes de otros chats, sí o no
  F2                   este panel otra vez: respuestas, avisos, --trace
  Ctrl+L               volver a dibujar la pantalla
  ↑ sin nada escrito    r responder, e editar, d borrar, + reaccionar, * destacar, / buscar (Esc)",
        pt: "\
teclas:
  ↑ ↓, Ctrl+P Ctrl+N   mover-se na lista de conversas (Ctrl+P/N também ao digitar)
  Enter                abrir a conversa escolhida; na entrada, enviar
  Alt+Enter, Ctrl+J    uma linha nova na mensagem
  Tab                  alternar entre a lista de conversas e a entrada
  Esc                  sair da entrada (ou fechar este painel)
  PgUp PgDn            rolar a conversa (as anteriores carregam no topo)
  Ctrl+C               descartar o que você digita; numa linha vazia, sair
  Ctrl+G               o sino das mensagens de outras conversas, ligado ou não
  F2                   este painel de novo: respostas, avisos, --trace
  Ctrl+L               redesenhar a tela
  ↑ sem nada digitado   r responder, e editar, d apagar, + reagir, * favoritar, / buscar (Esc)",
    },

    LogFile {
        en: "(while this screen is up, the log goes to {path})",
        es: "(mientras esta pantalla está abierta, el registro va a {path})",
        pt: "(enquanto esta tela está aberta, o log vai para {path})",
    },

    // ── Why it does not start ────────────────────────────────────────────
    NeedsTerminal {
        en: "--tui needs a terminal on stdin and stdout; without one, leave out --tui: the line console reads and prints plain lines",
        es: "--tui necesita una terminal en stdin y stdout; sin ella, quita --tui: la consola de líneas lee e imprime líneas simples",
        pt: "--tui precisa de um terminal em stdin e stdout; sem ele, tire --tui: o console de linhas lê e imprime linhas simples",
    },
    DumbTerminal {
        en: "--tui needs a terminal that can move its cursor, and TERM={term} cannot; leave out --tui to use the line console",
        es: "--tui necesita una terminal que pueda mover el cursor, y TERM={term} no puede; quita --tui para usar la consola de líneas",
        pt: "--tui precisa de um terminal que mova o cursor, e TERM={term} não move; tire --tui para usar o console de linhas",
    },
}
