//! Message info of a room message (protocol 1.2, §31) in the user's
//! words: `/info <n>` in both consoles (`i` on a chosen message in the
//! full-screen one). `{which}` names the message: `[3]`, or its words.

use super::catalogue;

catalogue! {
    UsageInfo {
        en: "/info (the server's rules), or /info <n>, n a message's number on screen",
        es: "/info (las reglas del servidor), o /info <n>, n el número de un mensaje en pantalla",
        pt: "/info (as regras do servidor), ou /info <n>, n o número de uma mensagem na tela",
    },
    Title {
        en: "{which} message info ({to} other members):",
        es: "{which} info del mensaje ({to} miembros más):",
        pt: "{which} info da mensagem ({to} outros membros):",
    },
    ReadBy {
        en: "Read by",
        es: "Leído por",
        pt: "Lido por",
    },
    DeliveredTo {
        en: "Delivered to",
        es: "Entregado a",
        pt: "Entregue a",
    },
    Nobody {
        en: "nobody yet",
        es: "nadie todavía",
        pt: "ninguém ainda",
    },
    TimeGone {
        en: "time no longer kept",
        es: "hora ya no guardada",
        pt: "hora não guardada",
    },
    Large {
        en: "{which} #{room} has {members} members, over {limit}: it keeps no receipts, its messages stay at ✓",
        es: "{which} #{room} tiene {members} miembros, más de {limit}: no guarda recibos, sus mensajes se quedan en ✓",
        pt: "{which} #{room} tem {members} membros, mais de {limit}: não guarda recibos, suas mensagens ficam em ✓",
    },
    NotMine {
        en: "{which} is not your message: only its sender sees who has it",
        es: "{which} no es tu mensaje: solo quien lo envió ve quién lo tiene",
        pt: "{which} não é sua mensagem: só quem a enviou vê quem a tem",
    },
    Direct {
        en: "{which} to {to}: {ticks}",
        es: "{which} a {to}: {ticks}",
        pt: "{which} para {to}: {ticks}",
    },
}
