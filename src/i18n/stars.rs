//! Starred messages (protocol 1.2, §25) in the user's words: `/star`,
//! `/unstar` and `/starred` in both consoles.

use super::catalogue;

catalogue! {
    UsageStar {
        en: "/star <n>, n a message's number on screen",
        es: "/star <n>, n el número de un mensaje en pantalla",
        pt: "/star <n>, n o número de uma mensagem na tela",
    },
    UsageUnstar {
        en: "/unstar <n>, n a message's number on screen",
        es: "/unstar <n>, n el número de un mensaje en pantalla",
        pt: "/unstar <n>, n o número de uma mensagem na tela",
    },
    Starred {
        en: "★ [{n}] starred (/starred lists your starred messages)",
        es: "★ [{n}] destacado (/starred muestra tus mensajes destacados)",
        pt: "★ [{n}] favoritada (/starred mostra suas mensagens favoritas)",
    },
    Unstarred {
        en: "[{n}] is no longer starred",
        es: "[{n}] ya no está destacado",
        pt: "[{n}] não é mais favorita",
    },
    NoneStarred {
        en: "no starred message (/star <n> stars one)",
        es: "ningún mensaje destacado (/star <n> destaca uno)",
        pt: "nenhuma mensagem favorita (/star <n> marca uma)",
    },
    StarredList {
        en: "★ starred messages ({n}), newest first:",
        es: "★ mensajes destacados ({n}), los más nuevos primero:",
        pt: "★ mensagens favoritas ({n}), as mais novas primeiro:",
    },
    /// Said of a star changed on another device.
    StarredThere {
        en: "{from}'s message {id} in {chat} starred",
        es: "mensaje {id} de {from} en {chat} destacado",
        pt: "mensagem {id} de {from} em {chat} favoritada",
    },
    UnstarredThere {
        en: "{from}'s message {id} in {chat} no longer starred",
        es: "mensaje {id} de {from} en {chat} ya no destacado",
        pt: "mensagem {id} de {from} em {chat} não é mais favorita",
    },
}
