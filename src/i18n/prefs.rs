//! Blocks, notification levels and pins (protocol 1.2, §22), and archived
//! chats (§23), in the user's words: `/block`, `/notify`, `/pin`,
//! `/archive` and friends in both consoles.

use super::catalogue;

catalogue! {
    UsageBlock {
        en: "usage: /block <user|@server>",
        es: "uso: /block <usuario|@servidor>",
        pt: "uso: /block <usuário|@servidor>",
    },
    UsageUnblock {
        en: "usage: /unblock <user|@server>",
        es: "uso: /unblock <usuario|@servidor>",
        pt: "uso: /unblock <usuário|@servidor>",
    },
    UsageNotify {
        en: "usage: /notify <user|#room> all|mentions|none",
        es: "uso: /notify <usuario|#sala> all|mentions|none",
        pt: "uso: /notify <usuário|#sala> all|mentions|none",
    },
    UsagePin { en: "usage: /pin <user|#room>", es: "uso: /pin <usuario|#sala>", pt: "uso: /pin <usuário|#sala>" },
    UsageUnpin { en: "usage: /unpin <user|#room>", es: "uso: /unpin <usuario|#sala>", pt: "uso: /unpin <usuário|#sala>" },
    Blocked {
        en: "{user} is blocked: their messages and invitations no longer reach you, and they no longer see when you are online",
        es: "{user} está bloqueado: sus mensajes e invitaciones ya no te llegan, y ya no ve cuándo estás en línea",
        pt: "{user} está bloqueado: suas mensagens e convites não chegam mais, e não vê mais quando você está online",
    },
    Unblocked {
        en: "{user} is unblocked: what they send from now on reaches you",
        es: "{user} está desbloqueado: lo que envíe desde ahora te llega",
        pt: "{user} está desbloqueado: o que enviar a partir de agora chega a você",
    },
    NoBlocks { en: "you blocked nobody", es: "no bloqueaste a nadie", pt: "você não bloqueou ninguém" },
    BlocksList {
        en: "blocked ({n}): {names}  (/unblock <user> to undo)",
        es: "bloqueados ({n}): {names}  (/unblock <usuario> para deshacer)",
        pt: "bloqueados ({n}): {names}  (/unblock <usuário> para desfazer)",
    },
    LevelAll { en: "every message notifies", es: "cada mensaje avisa", pt: "cada mensagem avisa" },
    LevelMentions { en: "only mentions notify", es: "solo las menciones avisan", pt: "só as menções avisam" },
    LevelNone { en: "muted", es: "silenciado", pt: "silenciado" },
    PrefShown { en: "{chat}: {level}{pinned}", es: "{chat}: {level}{pinned}", pt: "{chat}: {level}{pinned}" },
    PinnedMark { en: ", pinned", es: ", fijado", pt: ", fixado" },
    NoPrefs {
        en: "every chat notifies every message; none is pinned",
        es: "cada chat avisa de cada mensaje; ninguno está fijado",
        pt: "cada chat avisa de cada mensagem; nenhum está fixado",
    },
    OtherDevice { en: "(another device) {what}", es: "(otro dispositivo) {what}", pt: "(outro dispositivo) {what}" },
    PrefsUnknownServer {
        en: "this server does not keep blocks and chat preferences (protocol 1.2)",
        es: "este servidor no guarda bloqueos ni preferencias de chat (protocolo 1.2)",
        pt: "este servidor não guarda bloqueios nem preferências de chat (protocolo 1.2)",
    },
    UsageArchive {
        en: "usage: /archive <user|#room>",
        es: "uso: /archive <usuario|#sala>",
        pt: "uso: /archive <usuário|#sala>",
    },
    UsageUnarchive {
        en: "usage: /unarchive <user|#room>",
        es: "uso: /unarchive <usuario|#sala>",
        pt: "uso: /unarchive <usuário|#sala>",
    },
    ArchivedChat {
        en: "{chat} is archived: listed apart, it notifies only when you are mentioned (/unarchive {chat} to undo)",
        es: "el chat {chat} está archivado: aparte en la lista, solo avisa cuando te mencionan (/unarchive {chat} para deshacer)",
        pt: "a conversa {chat} está arquivada: à parte na lista, só avisa quando mencionam você (/unarchive {chat} para desfazer)",
    },
    UnarchivedChat {
        en: "{chat} is no longer archived: back among your chats",
        es: "el chat {chat} ya no está archivado: vuelve a tus chats",
        pt: "a conversa {chat} não está mais arquivada: volta para as suas conversas",
    },
    NoneArchived { en: "no chat is archived", es: "ningún chat está archivado", pt: "nenhuma conversa está arquivada" },
    ArchivedList {
        en: "archived ({n}): {names}  (/unarchive <user|#room> to bring one back)",
        es: "archivados ({n}): {names}  (/unarchive <usuario|#sala> para recuperar uno)",
        pt: "arquivadas ({n}): {names}  (/unarchive <usuário|#sala> para trazer uma de volta)",
    },
    /// `/chats`: the line above the archived chats, which come last.
    ArchivedHeading { en: "── archived ({n}) ──", es: "── archivados ({n}) ──", pt: "── arquivadas ({n}) ──" },
}
