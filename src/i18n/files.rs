//! The words of files in chats (protocol 1.2) in both consoles:
//! `/file PATH [caption]` and `/save N [PATH]`, and what they answer.

use super::catalogue;

catalogue! {
    UsageFile {
        en: "/file <path> [caption], sent to the open chat",
        es: "/file <ruta> [texto], enviado al chat abierto",
        pt: "/file <caminho> [legenda], enviado ao chat aberto",
    },
    UsageSave {
        en: "/save <n> [path], n the number of a message with 📎 on screen",
        es: "/save <n> [ruta], n el número de un mensaje con 📎 en pantalla",
        pt: "/save <n> [caminho], n o número de uma mensagem com 📎 na tela",
    },
    NoChatOpen {
        en: "no chat is open: /chat <user|#room> first",
        es: "no hay ningún chat abierto: primero /chat <usuario|#sala>",
        pt: "nenhum chat aberto: primeiro /chat <usuário|#sala>",
    },
    NoFile {
        en: "[{n}] carries no file that this device was told of",
        es: "[{n}] no lleva ningún archivo del que este dispositivo sepa",
        pt: "[{n}] não leva nenhum arquivo de que este dispositivo saiba",
    },
    SaveExists {
        en: "{path} exists already, and a file is never saved over another: give /save another name, or a folder",
        es: "{path} ya existe, y un archivo nunca se guarda encima de otro: da a /save otro nombre, o una carpeta",
        pt: "{path} já existe, e um arquivo nunca é salvo por cima de outro: dê a /save outro nome, ou uma pasta",
    },
    Saved {
        en: "[{n}] saved as {path}",
        es: "[{n}] guardado como {path}",
        pt: "[{n}] salvo como {path}",
    },
    // A voice message (1.2: `protocol::files::voice`), shown by its length; /save saves it.
    Voice {
        en: "🎤 voice message ({length})",
        es: "🎤 mensaje de voz ({length})",
        pt: "🎤 mensagem de voz ({length})",
    },
}
