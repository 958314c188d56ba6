//! Calls (protocol 1.2, §24) in the consoles' words: a console has no
//! camera or microphone, so it says who calls and where to answer.

use super::catalogue;

catalogue! {
    Ringing {
        en: "📞 {user} is calling ({media}): answer in the browser",
        es: "📞 {user} te está llamando ({media}): contesta en el navegador",
        pt: "📞 {user} está ligando ({media}): atenda no navegador",
    },
    Voice { en: "voice", es: "voz", pt: "voz" },
    Video { en: "video", es: "vídeo", pt: "vídeo" },
    EndedDeclined {
        en: "📞 the call was declined ({user})",
        es: "📞 la llamada fue rechazada ({user})",
        pt: "📞 a chamada foi recusada ({user})",
    },
    EndedHangup {
        en: "📞 {user} hung up",
        es: "📞 {user} colgó",
        pt: "📞 {user} desligou",
    },
    EndedMissed {
        en: "📞 nobody answered the call from {user}",
        es: "📞 nadie contestó la llamada de {user}",
        pt: "📞 ninguém atendeu a chamada de {user}",
    },
    EndedBusy {
        en: "📞 {user} is in another call",
        es: "📞 {user} está en otra llamada",
        pt: "📞 {user} está em outra chamada",
    },
    EndedGone {
        en: "📞 the call ended: {user} left",
        es: "📞 la llamada terminó: {user} se fue",
        pt: "📞 a chamada terminou: {user} saiu",
    },
    /// 1.2 (§24): a call's line in a chat, said from this side (`console::calllog`).
    LineOut {
        en: "📞 Outgoing {media} call, {length}",
        es: "📞 Llamada de {media} saliente, {length}",
        pt: "📞 Chamada de {media} efetuada, {length}",
    },
    LineIn {
        en: "📞 Incoming {media} call, {length}",
        es: "📞 Llamada de {media} entrante, {length}",
        pt: "📞 Chamada de {media} recebida, {length}",
    },
    LineMissed {
        en: "📞 Missed {media} call",
        es: "📞 Llamada de {media} perdida",
        pt: "📞 Chamada de {media} perdida",
    },
    LineMissedN {
        en: "📞 {n} missed {media} calls",
        es: "📞 {n} llamadas de {media} perdidas",
        pt: "📞 {n} chamadas de {media} perdidas",
    },
    LineUnanswered {
        en: "📞 Outgoing {media} call, no answer",
        es: "📞 Llamada de {media} saliente, sin respuesta",
        pt: "📞 Chamada de {media} efetuada, sem resposta",
    },
    LineUnansweredN {
        en: "📞 {n} outgoing {media} calls, no answer",
        es: "📞 {n} llamadas de {media} salientes, sin respuesta",
        pt: "📞 {n} chamadas de {media} efetuadas, sem resposta",
    },
    LineDeclined {
        en: "📞 Declined incoming {media} call",
        es: "📞 Llamada de {media} entrante rechazada",
        pt: "📞 Chamada de {media} recebida recusada",
    },
    LineRefused {
        en: "📞 Outgoing {media} call, declined",
        es: "📞 Llamada de {media} saliente, rechazada",
        pt: "📞 Chamada de {media} efetuada, recusada",
    },
    /// 1.2 (§32): a room's call started; a console joins no call.
    GroupStarted {
        en: "📞 {room}: call started by {user} ({media}) — join from the browser",
        es: "📞 {room}: llamada iniciada por {user} ({media}) — únete desde el navegador",
        pt: "📞 {room}: chamada iniciada por {user} ({media}) — entre pelo navegador",
    },
    /// 1.2 (§32): a room's call's line, said from this side (`console::calllog`).
    GroupLineLive {
        en: "📞 Group {media} call started by {user}",
        es: "📞 Llamada de {media} en grupo iniciada por {user}",
        pt: "📞 Chamada de {media} em grupo iniciada por {user}",
    },
    GroupLineOut {
        en: "📞 Outgoing group {media} call, {length} · joined: {joined}",
        es: "📞 Llamada de {media} en grupo saliente, {length} · se unieron: {joined}",
        pt: "📞 Chamada de {media} em grupo efetuada, {length} · entraram: {joined}",
    },
    GroupLineIn {
        en: "📞 Group {media} call from {user}, {length} · joined: {joined}",
        es: "📞 Llamada de {media} en grupo de {user}, {length} · se unieron: {joined}",
        pt: "📞 Chamada de {media} em grupo de {user}, {length} · entraram: {joined}",
    },
    GroupLineMissed {
        en: "📞 Missed group {media} call from {user}",
        es: "📞 Llamada de {media} en grupo perdida de {user}",
        pt: "📞 Chamada de {media} em grupo perdida de {user}",
    },
    Nobody { en: "nobody", es: "nadie", pt: "ninguém" },
    AndMore {
        en: "{names} and {n} more",
        es: "{names} y {n} más",
        pt: "{names} e mais {n}",
    },
}
