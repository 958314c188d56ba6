//! A server's rules as `INFO` (protocol 1.2) tells them, in the user's
//! words: `/info` in both consoles and the first login's notice.

use super::catalogue;

catalogue! {
    RulesHeader { en: "this server's rules:", es: "las reglas de este servidor:", pt: "as regras deste servidor:" },
    RetentionDays {
        en: "  messages are deleted from the server after {days} days",
        es: "  los mensajes se borran del servidor a los {days} días",
        pt: "  as mensagens são apagadas do servidor após {days} dias",
    },
    RetentionNone {
        en: "  messages are kept on the server with no time limit",
        es: "  los mensajes se guardan en el servidor sin límite de tiempo",
        pt: "  as mensagens ficam no servidor sem limite de tempo",
    },
    QuotaBytes {
        en: "  each account may store {size}",
        es: "  cada cuenta puede guardar {size}",
        pt: "  cada conta pode guardar {size}",
    },
    QuotaNone { en: "  no storage quota per account", es: "  sin cuota de almacenamiento por cuenta", pt: "  sem cota de armazenamento por conta" },
    MaxDevices {
        en: "  devices connected at once per account: {n}",
        es: "  dispositivos conectados a la vez por cuenta: {n}",
        pt: "  dispositivos conectados ao mesmo tempo por conta: {n}",
    },
    Registration {
        en: "  new accounts: {mode}",
        es: "  cuentas nuevas: {mode}",
        pt: "  contas novas: {mode}",
    },
    RegistrationOpen { en: "anyone may register", es: "cualquiera puede registrarse", pt: "qualquer um pode se registrar" },
    RegistrationInvite { en: "with an invite code", es: "con un código de invitación", pt: "com um código de convite" },
    RegistrationClosed { en: "made by the administrator", es: "las crea el administrador", pt: "criadas pelo administrador" },
    MaxText {
        en: "  longest message: {n} bytes (longer ones are sent in parts)",
        es: "  mensaje más largo: {n} bytes (los más largos se envían en partes)",
        pt: "  mensagem mais longa: {n} bytes (as mais longas vão em partes)",
    },
    NameQuarantine {
        en: "  a deleted account's name is free for a new account after {days} days",
        es: "  el nombre de una cuenta borrada queda libre para otra cuenta a los {days} días",
        pt: "  o nome de uma conta apagada fica livre para outra conta após {days} dias",
    },
    Rate {
        en: "  requests per second per user: {n}",
        es: "  peticiones por segundo por usuario: {n}",
        pt: "  requisições por segundo por usuário: {n}",
    },
    Version { en: "  server: {server}, protocol {version}", es: "  servidor: {server}, protocolo {version}", pt: "  servidor: {server}, protocolo {version}" },
    MoreWithInfo {
        en: "  (/info shows these again, with the server's limits)",
        es: "  (/info las vuelve a mostrar, con los límites del servidor)",
        pt: "  (/info mostra de novo, com os limites do servidor)",
    },
}
