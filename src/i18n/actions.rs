//! The words of message actions (protocol 1.2) in both consoles: the
//! commands `/reply`, `/edit`, `/delete`, `/react`, `/search`, and what
//! they answer. Apart from `console.rs`, so that the words of actions
//! stay in one place.

use super::catalogue;

catalogue! {
    UsageReply {
        en: "/reply <n> <text>, n a message's number on screen",
        es: "/reply <n> <texto>, n el número de un mensaje en pantalla",
        pt: "/reply <n> <texto>, n o número de uma mensagem na tela",
    },
    UsageEdit {
        en: "/edit <n> <text>, n the number of one of your messages on screen",
        es: "/edit <n> <texto>, n el número de uno de tus mensajes en pantalla",
        pt: "/edit <n> <texto>, n o número de uma das suas mensagens na tela",
    },
    UsageDelete {
        en: "/delete <n>, n the number of one of your messages on screen (of anyone's in a room you run)",
        es: "/delete <n>, n el número de uno de tus mensajes en pantalla (de cualquiera en una sala que administras)",
        pt: "/delete <n>, n o número de uma das suas mensagens na tela (de qualquer um numa sala que você administra)",
    },
    UsageReact {
        en: "/react <n> <emoji>, any one emoji, such as {emoji}",
        es: "/react <n> <emoji>, un emoji cualquiera, como {emoji}",
        pt: "/react <n> <emoji>, um emoji qualquer, como {emoji}",
    },
    UsageSearch {
        en: "/search <words>",
        es: "/search <palabras>",
        pt: "/search <palavras>",
    },
    NoSuchNumber {
        en: "no message [{n}] on screen: /chat shows the numbers",
        es: "no hay ningún mensaje [{n}] en pantalla: /chat muestra los números",
        pt: "não há nenhuma mensagem [{n}] na tela: /chat mostra os números",
    },
    NotYours {
        en: "[{n}] is not your message: only its author may change it",
        es: "[{n}] no es tu mensaje: solo su autor puede cambiarlo",
        pt: "[{n}] não é sua mensagem: só o autor pode alterá-la",
    },
    Edited {
        en: "[{n}] edited",
        es: "[{n}] editado",
        pt: "[{n}] editada",
    },
    Deleted {
        en: "[{n}] deleted for everyone",
        es: "[{n}] eliminado para todos",
        pt: "[{n}] apagada para todos",
    },
    ReactionAdded {
        en: "{emoji} added to [{n}]",
        es: "{emoji} añadido a [{n}]",
        pt: "{emoji} adicionado a [{n}]",
    },
    ReactionTakenBack {
        en: "{emoji} taken back from [{n}]",
        es: "{emoji} retirado de [{n}]",
        pt: "{emoji} retirado de [{n}]",
    },
    Found {
        en: "── {n} message(s) found, newest first ──",
        es: "── {n} mensaje(s) encontrado(s), los más recientes primero ──",
        pt: "── {n} mensagem(ns) encontrada(s), as mais recentes primeiro ──",
    },
}
