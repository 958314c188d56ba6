//! A user's own account (protocol 1.2, §20) in the user's words: the
//! password change of both consoles, the browser's panel and `wachat
//! passwd`.

use super::catalogue;

catalogue! {
    ReqPasswd { en: "change the password", es: "cambiar la contraseña", pt: "alterar a senha" },
    NewPasswordShort {
        en: "a new password has at least {min} characters",
        es: "una contraseña nueva tiene al menos {min} caracteres",
        pt: "uma senha nova tem pelo menos {min} caracteres",
    },
    OldPasswordColon {
        en: "a current password with ':' cannot be changed over the network: ask the server's administrator (wachat users passwd)",
        es: "una contraseña actual con ':' no se puede cambiar por la red: pídaselo al administrador del servidor (wachat users passwd)",
        pt: "uma senha atual com ':' não pode ser alterada pela rede: peça ao administrador do servidor (wachat users passwd)",
    },
    AskOld { en: "current password: ", es: "contraseña actual: ", pt: "senha atual: " },
    AskNew {
        en: "new password (at least {min} characters): ",
        es: "contraseña nueva (al menos {min} caracteres): ",
        pt: "senha nova (pelo menos {min} caracteres): ",
    },
    AskAgain { en: "new password again: ", es: "contraseña nueva otra vez: ", pt: "senha nova de novo: " },
    NewPasswordsDiffer {
        en: "the two new passwords differ: nothing changed",
        es: "las dos contraseñas nuevas no coinciden: nada ha cambiado",
        pt: "as duas senhas novas não coincidem: nada mudou",
    },
    PasswordChanged {
        en: "password changed; your other devices are logged out and must log in with the new one",
        es: "contraseña cambiada; tus otros dispositivos se han desconectado y deben entrar con la nueva",
        pt: "senha alterada; seus outros dispositivos foram desconectados e devem entrar com a nova",
    },
    PasswordChangedKept {
        en: "password changed; your other devices stay logged in",
        es: "contraseña cambiada; tus otros dispositivos siguen conectados",
        pt: "senha alterada; seus outros dispositivos continuam conectados",
    },
    Cancelled { en: "cancelled: nothing changed", es: "cancelado: nada ha cambiado", pt: "cancelado: nada mudou" },
    UsagePasswd {
        en: "usage: /passwd [keep] (keep: your other devices stay logged in)",
        es: "uso: /passwd [keep] (keep: tus otros dispositivos siguen conectados)",
        pt: "uso: /passwd [keep] (keep: seus outros dispositivos continuam conectados)",
    },
    SecretTitle {
        en: "{question}(hidden; Esc cancels)",
        es: "{question}(oculta; Esc cancela)",
        pt: "{question}(oculta; Esc cancela)",
    },
    NewPasswordFromEnv {
        en: "WACHAT_PASSWORD is the current password: give the new one in WACHAT_NEW_PASSWORD, or use --password-stdin (two lines: current, new)",
        es: "WACHAT_PASSWORD es la contraseña actual: da la nueva en WACHAT_NEW_PASSWORD, o usa --password-stdin (dos líneas: actual, nueva)",
        pt: "WACHAT_PASSWORD é a senha atual: dê a nova em WACHAT_NEW_PASSWORD, ou use --password-stdin (duas linhas: atual, nova)",
    },
    ReqDelete { en: "delete the account", es: "eliminar la cuenta", pt: "excluir a conta" },
    AskPassword { en: "password: ", es: "contraseña: ", pt: "senha: " },
    AskConfirmName {
        en: "type your user name to delete it for good: ",
        es: "tu nombre de usuario, para eliminarla para siempre: ",
        pt: "seu nome de usuário, para excluí-la para sempre: ",
    },
    NotYourName {
        en: "\"{typed}\" is not your user name ({user}): nothing deleted",
        es: "\"{typed}\" no es tu nombre de usuario ({user}): nada se eliminó",
        pt: "\"{typed}\" não é seu nome de usuário ({user}): nada foi excluído",
    },
    AccountDeleted {
        en: "the account {user} is deleted: its password, devices, inbox and rooms are gone; the messages you sent stay with their recipients",
        es: "la cuenta {user} está eliminada: su contraseña, dispositivos, bandeja y salas ya no están; los mensajes que enviaste quedan con sus destinatarios",
        pt: "a conta {user} foi excluída: sua senha, dispositivos, caixa de entrada e salas se foram; as mensagens que você enviou ficam com seus destinatários",
    },
    UsageLink {
        en: "usage: /link (asks your password, then shows a code for the new device)",
        es: "uso: /link (pide tu contraseña y luego muestra un código para el dispositivo nuevo)",
        pt: "uso: /link (pede sua senha e depois mostra um código para o dispositivo novo)",
    },
    UsageDelete {
        en: "usage: /delete-account (asks your password, then your user name to confirm)",
        es: "uso: /delete-account (pide tu contraseña y luego tu nombre de usuario para confirmar)",
        pt: "uso: /delete-account (pede sua senha e depois seu nome de usuário para confirmar)",
    },
}
