//! Message info of a room message (protocol 1.2, §31) in the user's
//! words: `/info <n>` in both consoles.

use super::catalogue;

catalogue! {
    UsageInfo {
        en: "/info (the server's rules), or /info <n>, n a message's number on screen",
        es: "/info (las reglas del servidor), o /info <n>, n el número de un mensaje en pantalla",
        pt: "/info (as regras do servidor), ou /info <n>, n o número de uma mensagem na tela",
    },
    Title {
        en: "[{n}] message info ({to} other members):",
        es: "[{n}] info del mensaje ({to} miembros más):",
        pt: "[{n}] info da mensagem ({to} outros membros):",
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
        en: "[{n}] #{room} has {members} members, over {limit}: it keeps no receipts, its messages stay at ✓",
        es: "[{n}] #{room} tiene {members} miembros, más de {limit}: no guarda recibos, sus mensajes se quedan en ✓",
        pt: "[{n}] #{room} tem {members} membros, mais de {limit}: não guarda recibos, suas mensagens ficam em ✓",
    },
    NotMine {
        en: "[{n}] is not your message: only its sender sees who has it",
        es: "[{n}] no es tu mensaje: solo quien lo envió ve quién lo tiene",
        pt: "[{n}] não é sua mensagem: só quem a enviou vê quem a tem",
    },
    Direct {
        en: "[{n}] to {to}: {ticks}",
        es: "[{n}] a {to}: {ticks}",
        pt: "[{n}] para {to}: {ticks}",
    },
}
