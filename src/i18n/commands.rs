//! The words of the commands a user runs once: `wachat register`, `send`,
//! `users`, `history` ([`crate::oneshot`]); the teacher's `wachat users
//! add|list|remove|passwd|import` ([`crate::admin`],
//! [`crate::store::accounts`]); asking for a password ([`crate::cli`]);
//! and the data directory's lock ([`crate::store::lock`]), which a
//! teacher meets when a server still runs.

use super::catalogue;

catalogue! {
    // ── Passwords and the command line ───────────────────────────────────
    PasswordPrompt {
        en: "password for {user}: ",
        es: "contraseña de {user}: ",
        pt: "senha de {user}: ",
    },
    ReadingPasswordStdin {
        en: "reading the password from stdin",
        es: "leyendo la contraseña de la entrada estándar",
        pt: "lendo a senha da entrada padrão",
    },
    ReadingPassword {
        en: "reading the password",
        es: "leyendo la contraseña",
        pt: "lendo a senha",
    },
    NoPassword {
        en: "no password: set WACHAT_PASSWORD, or use --password-stdin, or run in a terminal",
        es: "falta la contraseña: define WACHAT_PASSWORD, usa --password-stdin o ejecútalo en una terminal",
        pt: "falta a senha: defina WACHAT_PASSWORD, use --password-stdin ou rode em um terminal",
    },
    EmptyPassword {
        en: "the password is empty",
        es: "la contraseña está vacía",
        pt: "a senha está vazia",
    },
    UsersNeedsUser {
        en: "wachat users: give --user NAME to list who is online, or a subcommand to manage the accounts of a data directory: {commands} (see wachat users --help)",
        es: "wachat users: indica --user NOMBRE para ver quién está en línea, o un subcomando para gestionar las cuentas de un directorio de datos: {commands} (ver wachat users --help)",
        pt: "wachat users: informe --user NOME para ver quem está online, ou um subcomando para gerenciar as contas de um diretório de dados: {commands} (veja wachat users --help)",
    },
    PasswordTooShort {
        en: "a new password has at least {min} characters",
        es: "una contraseña nueva tiene al menos {min} caracteres",
        pt: "uma senha nova tem pelo menos {min} caracteres",
    },
    NewPasswordsDiffer {
        en: "the two passwords differ; no account was created",
        es: "las dos contraseñas no coinciden; no se creó ninguna cuenta",
        pt: "as duas senhas não conferem; nenhuma conta foi criada",
    },
    NewPasswordRule {
        en: "choose a password: at least {min} characters, typed twice",
        es: "elige una contraseña: al menos {min} caracteres, escrita dos veces",
        pt: "escolha uma senha: pelo menos {min} caracteres, digitada duas vezes",
    },
    TryAgain {
        en: "{problem}; try again",
        es: "{problem}; inténtalo de nuevo",
        pt: "{problem}; tente de novo",
    },

    // ── One-shot commands ────────────────────────────────────────────────
    Registered {
        en: "registered {name}",
        es: "cuenta {name} creada",
        pt: "conta {name} criada",
    },
    SentTo {
        en: "sent to {to} ✓",
        es: "enviado a {to} ✓",
        pt: "enviado para {to} ✓",
    },
    ReqHistoryWith {
        en: "history with {chat}",
        es: "historial con {chat}",
        pt: "histórico com {chat}",
    },
    HistoryOlder {
        en: "older messages: wachat history --with {chat} --before {cursor}",
        es: "mensajes anteriores: wachat history --with {chat} --before {cursor}",
        pt: "mensagens anteriores: wachat history --with {chat} --before {cursor}",
    },

    // ── wachat users … ───────────────────────────────────────────────────
    Added {
        en: "added {name} (a member of #general){shown}",
        es: "cuenta {name} creada (miembro de #general){shown}",
        pt: "conta {name} criada (membro de #general){shown}",
    },
    /// Follows `Added` or `PasswordSet` when the password was made up here.
    ShownPassword {
        en: "; password: {password}",
        es: "; contraseña: {password}",
        pt: "; senha: {password}",
    },
    DisabledMark { en: "(disabled)", es: "(desactivada)", pt: "(desativada)" },
    AccountDisabled {
        en: "{name} disabled: its logins are refused, its sessions closed",
        es: "{name} desactivada: se rechazan sus inicios de sesión y se cierran sus sesiones",
        pt: "{name} desativada: suas entradas são recusadas, suas sessões fechadas",
    },
    AlreadyDisabled { en: "{name} was already disabled", es: "{name} ya estaba desactivada", pt: "{name} já estava desativada" },
    AccountEnabled {
        en: "{name} enabled: it may log in again",
        es: "{name} activada: puede volver a iniciar sesión",
        pt: "{name} ativada: pode entrar de novo",
    },
    NotDisabled { en: "{name} was not disabled", es: "{name} no estaba desactivada", pt: "{name} não estava desativada" },
    ListOnline { en: "online", es: "en línea", pt: "online" },
    ListLastSeen { en: "last seen {date} {time}", es: "visto por última vez {date} {time}", pt: "visto por último {date} {time}" },
    ListNeverSeen { en: "never seen", es: "nunca visto", pt: "nunca visto" },
    ListUsage {
        en: "rooms {rooms}  chats {chats}  unread {unread}",
        es: "salas {rooms}  chats {chats}  sin leer {unread}",
        pt: "salas {rooms}  conversas {chats}  não lidas {unread}",
    },
    ServerDidNotAnswer {
        en: "the server running on {dir} did not answer within {secs} s",
        es: "el servidor que usa {dir} no respondió en {secs} s",
        pt: "o servidor que usa {dir} não respondeu em {secs} s",
    },
    NoNodeAnswered {
        en: "no node of the cluster took the request within {secs} s: is one running (wachat serve --store …)?",
        es: "ningún nodo del clúster tomó la petición en {secs} s: ¿hay alguno en marcha (wachat serve --store …)?",
        pt: "nenhum nó do cluster pegou o pedido em {secs} s: há algum rodando (wachat serve --store …)?",
    },
    NodeDirectory {
        en: "{dir} is the data directory of cluster node {node}, which keeps its copy of the cluster's log there: the accounts are in the cluster's database; give --store postgres://… instead",
        es: "{dir} es el directorio de datos del nodo {node} de un clúster, que guarda allí su copia del registro del clúster: las cuentas están en la base de datos del clúster; indique --store postgres://…",
        pt: "{dir} é o diretório de dados do nó {node} de um cluster, que guarda ali sua cópia do log do cluster: as contas estão no banco de dados do cluster; use --store postgres://…",
    },
    RemovedMark {
        en: "(removed)",
        es: "(eliminada)",
        pt: "(removida)",
    },
    AdminMark {
        en: "server admin",
        es: "administrador del servidor",
        pt: "administrador do servidor",
    },
    RoomAndNamesNeeded {
        en: "users room needs a room and --add NAMES, e.g. wachat users room lab --add ana,bob (a room may be named without its #: an unquoted #lab starts a shell comment, which drops the rest of the line; quote it, '#lab', or leave the # out)",
        es: "users room necesita una sala y --add NOMBRES, p. ej. wachat users room lab --add ana,bob (una sala puede nombrarse sin su #: un #lab sin comillas empieza un comentario de la shell, que borra el resto de la línea; ponlo entre comillas, '#lab', o quita el #)",
        pt: "users room precisa de uma sala e --add NOMES, p. ex. wachat users room lab --add ana,bob (uma sala pode ser nomeada sem o #: um #lab sem aspas começa um comentário do shell, que apaga o resto da linha; ponha entre aspas, '#lab', ou tire o #)",
    },
    ImportRoomNeeded {
        en: "--room needs a room, e.g. --room lab (an unquoted #lab starts a shell comment, which drops the rest of the line; quote it, '#lab', or leave the # out)",
        es: "--room necesita una sala, p. ej. --room lab (un #lab sin comillas empieza un comentario de la shell, que borra el resto de la línea; ponlo entre comillas, '#lab', o quita el #)",
        pt: "--room precisa de uma sala, p. ex. --room lab (um #lab sem aspas começa um comentário do shell, que apaga o resto da linha; ponha entre aspas, '#lab', ou tire o #)",
    },
    JoinedRoom {
        en: "{name} is now in {room}",
        es: "{name} ahora está en {room}",
        pt: "{name} agora está em {room}",
    },
    AlreadyInRoom {
        en: "{name} was in {room} already",
        es: "{name} ya estaba en {room}",
        pt: "{name} já estava em {room}",
    },
    /// `wachat users list`: an account its user deleted (1.2, `DELACCOUNT`).
    /// `wachat users invites`: a code's state.
    InviteValid {
        en: "valid until {date} {time}",
        es: "válido hasta el {date} a las {time}",
        pt: "válido até {date} às {time}",
    },
    InviteUsed { en: "used (it made an account)", es: "usado (creó una cuenta)", pt: "usado (criou uma conta)" },
    InviteExpired {
        en: "expired on {date} {time}",
        es: "caducó el {date} a las {time}",
        pt: "expirou em {date} às {time}",
    },
    InvitesHidden {
        en: "({used} used and {expired} expired codes not listed: wachat users invites --all lists them)",
        es: "({used} códigos usados y {expired} caducados no listados: wachat users invites --all los lista)",
        pt: "({used} códigos usados e {expired} expirados não listados: wachat users invites --all os lista)",
    },
    /// `wachat users revoke`.
    InviteRevoked {
        en: "{code} revoked: it lets nobody in any more",
        es: "{code} revocado: ya no deja entrar a nadie",
        pt: "{code} revogado: não deixa mais ninguém entrar",
    },
    InvitesRevoked {
        en: "{n} unused codes revoked",
        es: "{n} códigos sin usar revocados",
        pt: "{n} códigos não usados revogados",
    },
    InviteAlreadyUsed {
        en: "{code} was used already: its account stays (wachat users disable NAME shuts it out)",
        es: "{code} ya se usó: su cuenta sigue (wachat users disable NOMBRE la deja fuera)",
        pt: "{code} já foi usado: a conta continua (wachat users disable NOME a deixa de fora)",
    },
    NoSuchInvite { en: "no invite code {code}", es: "no hay código de invitación {code}", pt: "não há código de convite {code}" },
    /// `wachat users list`, on stderr: the deleted accounts it left out.
    DeletedHidden {
        en: "({n} accounts deleted by their users not listed: wachat users list --all lists them)",
        es: "({n} cuentas borradas por sus usuarios no listadas: wachat users list --all las lista)",
        pt: "({n} contas apagadas pelos usuários não listadas: wachat users list --all as lista)",
    },
    DeletedMark {
        en: "(deleted by its user)",
        es: "(borrada por su usuario)",
        pt: "(apagada pelo usuário)",
    },
    /// `wachat users list`: what an account's messages take (`--user-quota`).
    StoredMark {
        en: "{size} stored",
        es: "{size} guardados",
        pt: "{size} armazenados",
    },
    Removed {
        en: "removed {name}: it can no longer log in; its messages stay",
        es: "cuenta {name} eliminada: ya no puede iniciar sesión; sus mensajes se conservan",
        pt: "conta {name} removida: não pode mais entrar; suas mensagens ficam",
    },
    /// `wachat users admin NAME` (1.2).
    AdminGranted {
        en: "{name} is a server admin: it moderates every room",
        es: "{name} es administrador del servidor: modera todas las salas",
        pt: "{name} é administrador do servidor: modera todas as salas",
    },
    AdminRemoved {
        en: "{name} is no longer a server admin",
        es: "{name} ya no es administrador del servidor",
        pt: "{name} não é mais administrador do servidor",
    },
    PasswordSet {
        en: "new password set for {name}, every device of it logged out and its tokens revoked{shown}",
        es: "nueva contraseña para {name}, todos sus dispositivos desconectados y sus tokens revocados{shown}",
        pt: "nova senha definida para {name}, todos os seus dispositivos desconectados e seus tokens revogados{shown}",
    },
    NoSuchAccount {
        en: "no account named {name} (or it was removed)",
        es: "no hay ninguna cuenta llamada {name} (o fue eliminada)",
        pt: "não há conta chamada {name} (ou ela foi removida)",
    },
    NoDataDir {
        en: "no data directory {dir} (see --data-dir)",
        es: "no existe el directorio de datos {dir} (ver --data-dir)",
        pt: "o diretório de dados {dir} não existe (veja --data-dir)",
    },
    NewPasswordPrompt {
        en: "new password for {name}: ",
        es: "nueva contraseña de {name}: ",
        pt: "nova senha de {name}: ",
    },
    AgainPrompt {
        en: "again: ",
        es: "otra vez: ",
        pt: "de novo: ",
    },
    PasswordsDiffer {
        en: "the two passwords differ; nothing changed",
        es: "las dos contraseñas no coinciden; no se cambió nada",
        pt: "as duas senhas não conferem; nada mudou",
    },
    /// The label of `users add`'s problem: `cannot add: ana already has…`.
    CannotAdd {
        en: "cannot add",
        es: "no se puede crear",
        pt: "não foi possível criar",
    },
    /// The label of an import problem: `line 3: bob already has…`.
    RosterLine {
        en: "line {line}",
        es: "línea {line}",
        pt: "linha {line}",
    },
    PasswordsFileExists {
        en: "{path} exists (passwords of an earlier import?): move it, or give --out",
        es: "{path} ya existe (¿contraseñas de una importación anterior?): muévelo o indica --out",
        pt: "{path} já existe (senhas de uma importação anterior?): mova-o ou informe --out",
    },
    NothingImported {
        en: "{roster}: nothing imported; fix these and run it again:\n  {problems}",
        es: "{roster}: no se importó nada; corrige esto y vuelve a ejecutarlo:\n  {problems}",
        pt: "{roster}: nada foi importado; corrija isto e rode de novo:\n  {problems}",
    },
    Imported {
        en: "imported {n} accounts into {dir}; their passwords are in {out} (only you can read it): \
             hand them out, then delete it",
        es: "{n} cuentas importadas en {dir}; sus contraseñas están en {out} (solo tú puedes leerlo): \
             entrégalas y luego bórralo",
        pt: "{n} contas importadas em {dir}; as senhas estão em {out} (só você pode lê-lo): \
             entregue-as e depois apague-o",
    },
    ReadingRoster {
        en: "reading the roster {path}",
        es: "leyendo la lista {path}",
        pt: "lendo a lista {path}",
    },
    RosterHeader {
        en: "{path}: the first row must be the header name,email",
        es: "{path}: la primera fila debe ser la cabecera name,email",
        pt: "{path}: a primeira linha deve ser o cabeçalho name,email",
    },
    RosterEmpty {
        en: "{path}: no students in it (only a header?)",
        es: "{path}: no hay estudiantes (¿solo la cabecera?)",
        pt: "{path}: não há alunos (só o cabeçalho?)",
    },
    BadEmail {
        en: "bad email address {email} (it may also be empty)",
        es: "dirección de correo no válida {email} (también puede quedar vacía)",
        pt: "endereço de e-mail inválido {email} (também pode ficar vazio)",
    },
    WasRemovedTaken {
        en: "{name} was removed, and a removed name stays taken",
        es: "la cuenta {name} fue eliminada, y un nombre eliminado sigue ocupado",
        pt: "a conta {name} foi removida, e um nome removido continua ocupado",
    },
    WasDeleted {
        en: "{name} deleted its account: the name can be registered again (REGISTER, by the student) once the server's --name-quarantine-days are over",
        es: "{name} borró su cuenta: el nombre puede registrarse de nuevo (REGISTER, el estudiante) cuando termine la cuarentena del servidor (--name-quarantine-days)",
        pt: "{name} apagou sua conta: o nome pode ser registrado de novo (REGISTER, pelo estudante) quando terminar a quarentena do servidor (--name-quarantine-days)",
    },
    AlreadyHasAccount {
        en: "{name} already has an account",
        es: "{name} ya tiene una cuenta",
        pt: "{name} já tem uma conta",
    },
    Twice {
        en: "{name} is there twice (also {other})",
        es: "{name} aparece dos veces (también {other})",
        pt: "{name} aparece duas vezes (também {other})",
    },
    NothingAdded {
        en: "nothing added: {problems}",
        es: "no se creó nada: {problems}",
        pt: "nada foi criado: {problems}",
    },
    NoAccountIn {
        en: "no account named {name} in {dir}",
        es: "no hay ninguna cuenta llamada {name} en {dir}",
        pt: "não há conta chamada {name} em {dir}",
    },
    WasRemoved {
        en: "{name} was removed",
        es: "la cuenta {name} fue eliminada",
        pt: "a conta {name} foi removida",
    },

    // ── The data directory's lock ────────────────────────────────────────
    InUse {
        en: "{dir} is in use by a running wachat server{who}; stop it first",
        es: "{dir} está en uso por un servidor wachat en marcha{who}; detenlo primero",
        pt: "{dir} está em uso por um servidor wachat em execução{who}; pare-o primeiro",
    },
    HolderPid {
        en: " (pid {pid})",
        es: " (pid {pid})",
        pt: " (pid {pid})",
    },
}
