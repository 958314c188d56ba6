//! The words of moderation (protocol 1.2) in the consoles: what a user is
//! told when a change is about them (the room's text tells everyone the
//! rest, see `server::moderation`), `/roominfo`, and the usage of the
//! moderation commands.

use super::catalogue;

catalogue! {
    YouWereMuted {
        en: "[{room}] {by} muted you until {until}: you read, but cannot write",
        es: "[{room}] {by} te silenció hasta las {until}: lees, pero no puedes escribir",
        pt: "[{room}] {by} silenciou você até {until}: você lê, mas não pode escrever",
    },
    YouWereUnmuted {
        en: "[{room}] {by} unmuted you: you can write again",
        es: "[{room}] {by} te quitó el silencio: puedes escribir de nuevo",
        pt: "[{room}] {by} tirou seu silêncio: você pode escrever de novo",
    },
    YouWereKicked {
        en: "[{room}] {by} removed you from the room (you may join again)",
        es: "[{room}] {by} te sacó de la sala (puedes volver a unirte)",
        pt: "[{room}] {by} removeu você da sala (você pode entrar de novo)",
    },
    YouWereBanned {
        en: "[{room}] {by} banned you until {until}",
        es: "[{room}] {by} te expulsó hasta las {until}",
        pt: "[{room}] {by} baniu você até {until}",
    },
    YouWereBannedForGood {
        en: "[{room}] {by} banned you until further notice",
        es: "[{room}] {by} te expulsó hasta nuevo aviso",
        pt: "[{room}] {by} baniu você até segunda ordem",
    },
    YouWereUnbanned {
        en: "[{room}] {by} lifted your ban: you may join again",
        es: "[{room}] {by} levantó tu expulsión: puedes volver a unirte",
        pt: "[{room}] {by} suspendeu seu banimento: você pode entrar de novo",
    },
    YouWereInvited {
        en: "{by} invites you to {room}: /join {room}",
        es: "{by} te invita a {room}: /join {room}",
        pt: "{by} convida você para {room}: /join {room}",
    },
    YouWereOpped {
        en: "[{room}] {by} made you an admin of the room",
        es: "[{room}] {by} te hizo administrador de la sala",
        pt: "[{room}] {by} fez de você um administrador da sala",
    },
    YouWereDeopped {
        en: "[{room}] {by} removed you as an admin of the room",
        es: "[{room}] {by} te quitó la administración de la sala",
        pt: "[{room}] {by} tirou sua administração da sala",
    },
    /// `/roominfo`, one line each.
    InfoOwner { en: "owner: {user}", es: "dueño: {user}", pt: "dono: {user}" },
    InfoNoOwner {
        en: "owner: none (server admins run it)",
        es: "dueño: ninguno (lo llevan los administradores del servidor)",
        pt: "dono: nenhum (os administradores do servidor cuidam dela)",
    },
    InfoAdmins { en: "admins: {users}", es: "administradores: {users}", pt: "administradores: {users}" },
    InfoAnnounce {
        en: "📢 announce-only: only admins write",
        es: "📢 solo anuncios: solo escriben los administradores",
        pt: "📢 só anúncios: só os administradores escrevem",
    },
    InfoInviteOnly { en: "invite-only", es: "solo con invitación", pt: "só com convite" },
    InfoTopic { en: "topic: {topic}", es: "tema: {topic}", pt: "tópico: {topic}" },
    InfoRole { en: "you are: {role}", es: "eres: {role}", pt: "você é: {role}" },
    InfoMuted {
        en: "you are muted until {until}",
        es: "estás silenciado hasta las {until}",
        pt: "você está silenciado até {until}",
    },
    InfoBanned { en: "you are banned until {until}", es: "estás expulsado hasta las {until}", pt: "você está banido até {until}" },
    InfoBannedForGood {
        en: "you are banned until further notice",
        es: "estás expulsado hasta nuevo aviso",
        pt: "você está banido até segunda ordem",
    },
    /// A moderation command with no room named and no room open.
    NoRoomOpen {
        en: "name a #room, or open one first with /chat #room",
        es: "indica una #sala, o abre una antes con /chat #sala",
        pt: "indique uma #sala, ou abra uma antes com /chat #sala",
    },
    /// The usage of the moderation commands.
    Usage {
        en: "usage: /topic [#room] <text>, /mode [#room] +announce|-announce|+invite|-invite, /invite|/kick|/unban|/unmute|/op|/deop [#room] <user>, /ban [#room] <user> [minutes], /mute [#room] <user> <minutes>, /roominfo [#room]",
        es: "uso: /topic [#sala] <texto>, /mode [#sala] +announce|-announce|+invite|-invite, /invite|/kick|/unban|/unmute|/op|/deop [#sala] <usuario>, /ban [#sala] <usuario> [minutos], /mute [#sala] <usuario> <minutos>, /roominfo [#sala]",
        pt: "uso: /topic [#sala] <texto>, /mode [#sala] +announce|-announce|+invite|-invite, /invite|/kick|/unban|/unmute|/op|/deop [#sala] <usuário>, /ban [#sala] <usuário> [minutos], /mute [#sala] <usuário> <minutos>, /roominfo [#sala]",
    },
    Done { en: "done", es: "hecho", pt: "feito" },
}
