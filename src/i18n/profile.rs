//! Your profile and privacy (protocol 1.2, §30) in the user's words:
//! `/profile`, `/name`, `/photo` and `/privacy` in both consoles.

use super::catalogue;

catalogue! {
    UsagePrivacy {
        en: "usage: /privacy [lastseen|receipts on|off]",
        es: "uso: /privacy [lastseen|receipts on|off]",
        pt: "uso: /privacy [lastseen|receipts on|off]",
    },
    UsageProfile {
        en: "usage: /profile [user]",
        es: "uso: /profile [usuario]",
        pt: "uso: /profile [usuário]",
    },
    /// `{user}`'s profile: its display name and whether it has a photo.
    Shown {
        en: "{user}: display name {name}, {photo}",
        es: "{user}: nombre visible {name}, {photo}",
        pt: "{user}: nome de exibição {name}, {photo}",
    },
    NoName { en: "(none)", es: "(ninguno)", pt: "(nenhum)" },
    HasPhoto { en: "with a photo", es: "con foto", pt: "com foto" },
    NoPhoto { en: "no photo", es: "sin foto", pt: "sem foto" },
    NameSet {
        en: "your display name is now {name}",
        es: "tu nombre visible ahora es {name}",
        pt: "seu nome de exibição agora é {name}",
    },
    NameRemoved {
        en: "you have no display name now: others see your account's name",
        es: "ya no tienes nombre visible: los demás ven el nombre de tu cuenta",
        pt: "você não tem mais nome de exibição: os outros veem o nome da sua conta",
    },
    PhotoSet {
        en: "your photo is set: cropped square, as everyone who shares a chat with you sees it",
        es: "tu foto está puesta: recortada en cuadrado, como la ve quien comparte un chat contigo",
        pt: "sua foto está definida: recortada em quadrado, como a vê quem compartilha um chat com você",
    },
    PhotoRemoved { en: "you have no photo now", es: "ya no tienes foto", pt: "você não tem mais foto" },
    /// The privacy: `{seen}` and `{receipts}` are each `On` or `Off` (below).
    Privacy {
        en: "last seen: {seen} · read receipts: {receipts} (who hides them does not see others' either)",
        es: "última vez: {seen} · confirmaciones de lectura: {receipts} (quien las oculta tampoco ve las de otros)",
        pt: "visto por último: {seen} · confirmações de leitura: {receipts} (quem as oculta também não vê as dos outros)",
    },
    On { en: "shown", es: "visibles", pt: "visíveis" },
    Off { en: "hidden", es: "ocultas", pt: "ocultas" },
    ProfileUnknownServer {
        en: "this server is older than protocol 1.2: it has no profiles",
        es: "este servidor es anterior al protocolo 1.2: no tiene perfiles",
        pt: "este servidor é anterior ao protocolo 1.2: não tem perfis",
    },
}
