//! The client library's words: its errors ([`crate::error::Error`]'s
//! `Display`), why it went offline, why a direct chat ended, what each `KO`
//! code means, and why a name or a text cannot be sent. The console, the
//! one-shot commands and bots all show these.

use std::io;

use super::{Lang, catalogue, tr};
use crate::protocol::names::{MAX_NAME, NameProblem};
use crate::protocol::{Chat, Code, MAX_TEXT};

catalogue! {
    // ── What a KO code means, shown before the server's own reason ───────
    KoBadRequest { en: "malformed request", es: "petición mal formada", pt: "requisição malformada" },
    KoAuthRequired { en: "log in first", es: "primero hay que iniciar sesión", pt: "é preciso entrar primeiro" },
    KoAuthFailed {
        en: "wrong name or password",
        es: "nombre o contraseña incorrectos",
        pt: "nome ou senha incorretos",
    },
    KoUserExists { en: "that name is taken", es: "ese nombre ya está en uso", pt: "esse nome já está em uso" },
    KoUnknownUser { en: "no such user", es: "ese usuario no existe", pt: "esse usuário não existe" },
    KoNotMember { en: "you are not in that room", es: "no estás en esa sala", pt: "você não está nessa sala" },
    KoUnknownMessage { en: "no such message", es: "ese mensaje no existe", pt: "essa mensagem não existe" },
    KoOffline {
        en: "that user is not connected",
        es: "ese usuario no está conectado",
        pt: "esse usuário não está conectado",
    },
    KoTooLong { en: "too long", es: "demasiado largo", pt: "longo demais" },
    KoRateLimited {
        en: "too many requests, slow down",
        es: "demasiadas peticiones, ve más despacio",
        pt: "requisições demais, vá mais devagar",
    },
    KoBusy {
        en: "the server is full, try again later",
        es: "el servidor está lleno, inténtalo más tarde",
        pt: "o servidor está cheio, tente mais tarde",
    },
    KoTimeout {
        en: "too slow, the server stopped waiting",
        es: "demasiado lento, el servidor dejó de esperar",
        pt: "lento demais, o servidor parou de esperar",
    },
    KoInternal { en: "an error on the server", es: "un error en el servidor", pt: "um erro no servidor" },
    KoFull {
        en: "no room left on the server for that",
        es: "no queda espacio en el servidor para eso",
        pt: "não há mais espaço no servidor para isso",
    },
    KoForbidden { en: "not allowed in that room", es: "no permitido en esa sala", pt: "não permitido nessa sala" },
    KoTooManyDevices {
        en: "too many devices online",
        es: "demasiados dispositivos conectados",
        pt: "dispositivos demais conectados",
    },
    KoUnknownDevice { en: "no such device", es: "no existe ese dispositivo", pt: "não existe esse dispositivo" },
    KoUnknownFile { en: "no such file", es: "no existe ese archivo", pt: "não existe esse arquivo" },
    KoUnavailable {
        en: "the server's database is failing over; try again",
        es: "la base de datos del servidor está cambiando de primario; vuelve a intentarlo",
        pt: "o banco de dados do servidor está trocando de primário; tente de novo",
    },
    KoUnknownServer {
        en: "no such server in this server's network",
        es: "no hay tal servidor en la red de este servidor",
        pt: "não há esse servidor na rede deste servidor",
    },

    // ── Error's Display ──────────────────────────────────────────────────
    /// `request` is one of the `Req*` messages below.
    Refused {
        en: "{request}: the server refused ({meaning}): {reason} ({code})",
        es: "{request}: el servidor lo rechazó ({meaning}): {reason} ({code})",
        pt: "{request}: o servidor recusou ({meaning}): {reason} ({code})",
    },
    ReplacedElsewhere {
        en: "another wachat logged in as {user} and now receives the messages; this one stopped",
        es: "otro wachat inició sesión como {user} y ahora recibe los mensajes; este se detuvo",
        pt: "outro wachat entrou como {user} e agora recebe as mensagens; este parou",
    },
    /// [`Msg::Refused`] in English, where the server's reason is already
    /// in the user's language.
    RefusedSaying {
        en: "{request}: {reason} ({code})",
        es: "{request}: {reason} ({code})",
        pt: "{request}: {reason} ({code})",
    },
    NotConnected {
        en: "not connected to the server (retrying in the background)",
        es: "sin conexión con el servidor (reintentando en segundo plano)",
        pt: "sem conexão com o servidor (tentando de novo em segundo plano)",
    },
    Protocol { en: "protocol: {detail}", es: "protocolo: {detail}", pt: "protocolo: {detail}" },
    Corrupt {
        en: "store: {path} line {line}: {reason}",
        es: "datos: {path} línea {line}: {reason}",
        pt: "dados: {path} linha {line}: {reason}",
    },

    // ── The requests an error names ──────────────────────────────────────
    ReqLogin { en: "login as {user}", es: "inicio de sesión como {user}", pt: "entrada como {user}" },
    ReqRegister { en: "register {user}", es: "registro de {user}", pt: "cadastro de {user}" },
    ReqSend { en: "send to {to}", es: "envío a {to}", pt: "envio para {to}" },
    ReqJoin { en: "join {room}", es: "unirse a {room}", pt: "entrar em {room}" },
    ReqLeave { en: "leave {room}", es: "salir de {room}", pt: "sair de {room}" },
    ReqHistory { en: "history {chat}", es: "historial de {chat}", pt: "histórico de {chat}" },
    ReqUsers { en: "users", es: "usuarios", pt: "usuários" },
    ReqChats { en: "chats", es: "chats", pt: "conversas" },
    ReqRooms { en: "rooms", es: "salas", pt: "salas" },
    ReqInfo { en: "server info", es: "información del servidor", pt: "informações do servidor" },
    ReqRead { en: "read", es: "marcar como leído", pt: "marcar como lido" },
    ReqDirectChat { en: "direct chat with {user}", es: "chat directo con {user}", pt: "chat direto com {user}" },
    ReqLookUp { en: "look up {user}", es: "buscar a {user}", pt: "procurar {user}" },
    ReqDevices { en: "devices", es: "dispositivos", pt: "dispositivos" },
    ReqUnlink { en: "unlink {device}", es: "desvincular {device}", pt: "desvincular {device}" },
    ReqLink { en: "link a device", es: "vincular un dispositivo", pt: "vincular um dispositivo" },
    ReqPair {
        en: "link {user}'s device {device}",
        es: "vincular el dispositivo {device} de {user}",
        pt: "vincular o dispositivo {device} de {user}",
    },
    ReqMembers { en: "members of {room}", es: "miembros de {room}", pt: "membros de {room}" },
    ReqPeople { en: "people named {start}…", es: "personas llamadas {start}…", pt: "pessoas chamadas {start}…" },

    // ── Connections to the server ────────────────────────────────────────
    SendPort { en: "send port", es: "puerto de envío", pt: "porta de envio" },
    ReceivePort { en: "receive port", es: "puerto de recepción", pt: "porta de recepção" },
    CannotConnect {
        en: "cannot connect to the {port} {addr}",
        es: "no se puede conectar al {port} {addr}",
        pt: "não foi possível conectar à {port} {addr}",
    },
    NoAddress { en: "{host} has no address", es: "{host} no tiene dirección", pt: "{host} não tem endereço" },

    // ── TLS (--tls, --ca) ────────────────────────────────────────────────
    TlsNoSystemRoots {
        en: "--tls: this system trusts no certificate (install ca-certificates), or give the server's certificate with --ca FILE",
        es: "--tls: este sistema no confía en ningún certificado (instala ca-certificates), o indica el certificado del servidor con --ca FICHERO",
        pt: "--tls: este sistema não confia em nenhum certificado (instale ca-certificates), ou indique o certificado do servidor com --ca ARQUIVO",
    },
    TlsUntrusted {
        en: "TLS: the server's certificate is not signed by anyone trusted; for a class server, give its certificate with --ca FILE (the cert.pem of `wachat cert`)",
        es: "TLS: el certificado del servidor no lo firma nadie de confianza; para un servidor de clase, indica su certificado con --ca FICHERO (el cert.pem de `wachat cert`)",
        pt: "TLS: o certificado do servidor não é assinado por ninguém confiável; para um servidor de turma, indique o certificado com --ca ARQUIVO (o cert.pem de `wachat cert`)",
    },
    TlsWrongName {
        en: "TLS: the server's certificate is for another name than --server (the names given to `wachat cert --host`)",
        es: "TLS: el certificado del servidor es para otro nombre que --server (los nombres dados a `wachat cert --host`)",
        pt: "TLS: o certificado do servidor é para outro nome que --server (os nomes dados a `wachat cert --host`)",
    },
    TlsExpired {
        en: "TLS: the server's certificate has expired",
        es: "TLS: el certificado del servidor ha caducado",
        pt: "TLS: o certificado do servidor expirou",
    },
    TlsBadCertificate {
        en: "TLS: the server's certificate is not valid ({why})",
        es: "TLS: el certificado del servidor no es válido ({why})",
        pt: "TLS: o certificado do servidor não é válido ({why})",
    },
    TlsNotTls {
        en: "TLS: the server does not speak TLS on this port (a plaintext server? then connect without --tls)",
        es: "TLS: el servidor no habla TLS en este puerto (¿un servidor sin cifrar? entonces conéctate sin --tls)",
        pt: "TLS: o servidor não fala TLS nesta porta (um servidor sem criptografia? então conecte sem --tls)",
    },
    TlsFailed {
        en: "TLS: the connection failed: {why}",
        es: "TLS: la conexión falló: {why}",
        pt: "TLS: a conexão falhou: {why}",
    },
    DirectNeedsPlaintext {
        en: "direct chats are not encrypted, so with --tls they are off (messages go through the server, encrypted)",
        es: "los chats directos no van cifrados, así que con --tls están desactivados (los mensajes pasan por el servidor, cifrados)",
        pt: "os chats diretos não são criptografados, então com --tls ficam desativados (as mensagens passam pelo servidor, criptografadas)",
    },
    ReadOn { en: "read on the {port} {addr}", es: "lectura en el {port} {addr}", pt: "leitura na {port} {addr}" },
    WriteOn {
        en: "write on the {port} {addr}",
        es: "escritura en el {port} {addr}",
        pt: "escrita na {port} {addr}",
    },
    NoReplyWithin {
        en: "no reply within {secs} s",
        es: "sin respuesta en {secs} s",
        pt: "sem resposta em {secs} s",
    },
    ServerClosed {
        en: "the server closed the connection",
        es: "el servidor cerró la conexión",
        pt: "o servidor fechou a conexão",
    },
    FrameTooLong {
        en: "a frame from the server is too long",
        es: "una trama del servidor es demasiado larga",
        pt: "um quadro do servidor é longo demais",
    },
    FrameNotUtf8 {
        en: "a frame from the server is not UTF-8",
        es: "una trama del servidor no es UTF-8",
        pt: "um quadro do servidor não é UTF-8",
    },
    TimedOut { en: "timed out", es: "tiempo agotado", pt: "tempo esgotado" },
    UnexpectedReply {
        en: "unexpected reply {reply}",
        es: "respuesta inesperada {reply}",
        pt: "resposta inesperada {reply}",
    },
    // ── Why the client is offline (`(offline: …)`) ───────────────────────
    OfflineNoServer {
        en: "the server cannot be reached",
        es: "no se puede llegar al servidor",
        pt: "não é possível alcançar o servidor",
    },
    OfflineSilent {
        en: "the server stopped answering",
        es: "el servidor dejó de responder",
        pt: "o servidor parou de responder",
    },
    OfflineShutdown {
        en: "the server is shutting down",
        es: "el servidor se está apagando",
        pt: "o servidor está sendo desligado",
    },
    OfflineTimedOut {
        en: "the server heard nothing from this client for too long",
        es: "el servidor no supo nada de este cliente durante demasiado tiempo",
        pt: "o servidor ficou tempo demais sem notícias deste cliente",
    },
    OfflineSlow {
        en: "this client read its messages too slowly for the server",
        es: "este cliente leía sus mensajes demasiado despacio para el servidor",
        pt: "este cliente lia suas mensagens devagar demais para o servidor",
    },
    ListingTooLong {
        en: "the server announced a list of {n} lines; at most {max} are accepted",
        es: "el servidor anunció una lista de {n} líneas; se aceptan como mucho {max}",
        pt: "o servidor anunciou uma lista de {n} linhas; são aceitas no máximo {max}",
    },
    ListingTooBig {
        en: "a list from the server passed {max} MiB",
        es: "una lista del servidor pasó de {max} MiB",
        pt: "uma lista do servidor passou de {max} MiB",
    },
    NothingFromServer {
        en: "nothing from the server for {secs} s",
        es: "nada del servidor en {secs} s",
        pt: "nada do servidor em {secs} s",
    },
    ServerSaidBye { en: "the server said BYE:{reason}", es: "el servidor dijo BYE:{reason}", pt: "o servidor disse BYE:{reason}" },
    CannotStoreEvent {
        en: "cannot store an event: {error}",
        es: "no se puede guardar un evento: {error}",
        pt: "não foi possível guardar um evento: {error}",
    },
    NoDataDir {
        en: "no HOME nor XDG_DATA_HOME (LOCALAPPDATA on Windows): give --data-dir",
        es: "no hay HOME ni XDG_DATA_HOME (LOCALAPPDATA en Windows): indica --data-dir",
        pt: "não há HOME nem XDG_DATA_HOME (LOCALAPPDATA no Windows): informe --data-dir",
    },
    Creating { en: "creating {path}", es: "creando {path}", pt: "criando {path}" },
    Starting { en: "starting {name}", es: "iniciando {name}", pt: "iniciando {name}" },
    /// A file of the server's data directory (`wachat users …` edits them).
    StoreFile { en: "store: {path}", es: "datos: {path}", pt: "dados: {path}" },
    StoreReplace {
        en: "store: {path} (replace)",
        es: "datos: {path} (reemplazo)",
        pt: "dados: {path} (substituição)",
    },
    Opening { en: "opening {path}", es: "abriendo {path}", pt: "abrindo {path}" },
    NoRandom {
        en: "no random numbers: {error}",
        es: "no hay números aleatorios: {error}",
        pt: "sem números aleatórios: {error}",
    },

    // ── Common system errors, in words (others keep the system's text) ───
    IoRefused { en: "connection refused", es: "conexión rechazada", pt: "conexão recusada" },
    IoReset { en: "connection reset", es: "conexión reiniciada", pt: "conexão reiniciada" },
    IoAborted { en: "connection aborted", es: "conexión interrumpida", pt: "conexão interrompida" },
    IoTimedOut { en: "timed out", es: "tiempo agotado", pt: "tempo esgotado" },
    IoNotFound { en: "not found", es: "no existe", pt: "não encontrado" },
    IoPermission { en: "permission denied", es: "permiso denegado", pt: "permissão negada" },
    IoAddrInUse { en: "address in use", es: "dirección en uso", pt: "endereço em uso" },
    IoBrokenPipe { en: "broken pipe", es: "tubería rota", pt: "pipe quebrado" },
    IoUnreachable { en: "unreachable", es: "inalcanzable", pt: "inalcançável" },

    // ── The client's own files ───────────────────────────────────────────
    AdoptedOldFolder {
        en: "moved {old} (local files from before folders per server) to {new}: they belong to {server} from now on",
        es: "{old} (archivos locales de antes de las carpetas por servidor) se movió a {new}: desde ahora son de {server}",
        pt: "{old} (arquivos locais de antes das pastas por servidor) foi movido para {new}: de agora em diante são de {server}",
    },
    /// `who` is empty or ` (pid 4242)`.
    FolderInUse {
        en: "another wachat{who} is already running as {user} on {server} (its files: {dir}); close it first",
        es: "ya hay otro wachat{who} en marcha como {user} en {server} (sus archivos: {dir}); ciérralo primero",
        pt: "já há outro wachat{who} rodando como {user} em {server} (seus arquivos: {dir}); feche-o primeiro",
    },

    /// A login with this device's token refused: it was unlinked.
    TokenRefused {
        en: "the device {device} is no longer linked to {user} (unlinked from another device?); its token is forgotten: log in with the password, or link it again with --pair CODE (/link on a device that is logged in)",
        es: "el dispositivo {device} ya no está vinculado a {user} (¿desvinculado desde otro dispositivo?); se olvidó su token: inicia sesión con la contraseña, o vincúlalo de nuevo con --pair CÓDIGO (/link en un dispositivo con la sesión iniciada)",
        pt: "o dispositivo {device} não está mais vinculado a {user} (desvinculado de outro dispositivo?); seu token foi esquecido: entre com a senha, ou vincule-o de novo com --pair CÓDIGO (/link em um dispositivo conectado)",
    },
    /// `BYE:UNLINKED` reached this device.
    DisabledHere {
        en: "the server's administrator disabled the account {user}: this console stopped trying to connect (start it again once the account is enabled)",
        es: "el administrador del servidor desactivó la cuenta {user}: esta consola dejó de intentar conectarse (iníciala de nuevo cuando la cuenta esté activada)",
        pt: "o administrador do servidor desativou a conta {user}: este console parou de tentar se conectar (inicie-o de novo quando a conta for reativada)",
    },
    LoginRefusedNow {
        en: "the server no longer lets {user} in ({reason}): this console stopped trying to connect (start it again once that is fixed)",
        es: "el servidor ya no deja entrar a {user} ({reason}): esta consola dejó de intentar conectarse (iníciala de nuevo cuando eso se arregle)",
        pt: "o servidor não deixa mais {user} entrar ({reason}): este console parou de tentar se conectar (inicie-o de novo quando isso for resolvido)",
    },
    UnlinkedHere {
        en: "this device ({device}) was unlinked from {user}'s other devices: it is logged out; log in with the password, or link it again with --pair CODE",
        es: "este dispositivo ({device}) se desvinculó desde otro dispositivo de {user}: se cerró su sesión; inicia sesión con la contraseña, o vincúlalo de nuevo con --pair CÓDIGO",
        pt: "este dispositivo ({device}) foi desvinculado de outro dispositivo de {user}: a sessão foi encerrada; entre com a senha, ou vincule-o de novo com --pair CÓDIGO",
    },
    Paired {
        en: "the device {device} is linked: it logs in with its own token from now on, never with the password",
        es: "el dispositivo {device} está vinculado: desde ahora inicia sesión con su propio token, nunca con la contraseña",
        pt: "o dispositivo {device} está vinculado: de agora em diante entra com seu próprio token, nunca com a senha",
    },
    /// The folder of a user from before devices became this device's.
    ConvertedFolder {
        en: "moved the local files of {dir} (from before folders per device) to {new}: they are the device {device}'s from now on",
        es: "los archivos locales de {dir} (de antes de las carpetas por dispositivo) se movieron a {new}: desde ahora son del dispositivo {device}",
        pt: "os arquivos locais de {dir} (de antes das pastas por dispositivo) foram movidos para {new}: de agora em diante são do dispositivo {device}",
    },
    /// `who` is empty or ` (pid 4242)`.
    DeviceInUse {
        en: "another wachat{who} is already running as {user} on {server} with the device {device} (its files: {dir}); close it first, or start this one with another --device",
        es: "ya hay otro wachat{who} en marcha como {user} en {server} con el dispositivo {device} (sus archivos: {dir}); ciérralo primero, o inicia este con otro --device",
        pt: "já há outro wachat{who} rodando como {user} em {server} com o dispositivo {device} (seus arquivos: {dir}); feche-o primeiro, ou inicie este com outro --device",
    },
    /// A folder that recorded no server yet is this one's from now on.
    FolderOfServer {
        en: "{dir}: the local files of the server {id} from now on",
        es: "{dir}: desde ahora, los archivos locales del servidor {id}",
        pt: "{dir}: de agora em diante, os arquivos locais do servidor {id}",
    },
    /// The server at an address is not the one the folder was kept for.
    ServerChangedFresh {
        en: "{server} is another server now (a new data directory?): your earlier conversations there were moved to {aside}, and you start afresh",
        es: "{server} es ahora otro servidor (¿un directorio de datos nuevo?): tus conversaciones anteriores allí se movieron a {aside} y empiezas de cero",
        pt: "{server} agora é outro servidor (um diretório de dados novo?): suas conversas anteriores lá foram movidas para {aside} e você começa do zero",
    },
    ServerChangedRestored {
        en: "{server} is another server now: your conversations with the last one were moved to {aside}, and those from your earlier visit to this one are back",
        es: "{server} es ahora otro servidor: tus conversaciones con el anterior se movieron a {aside}, y vuelven las de tu visita anterior a este",
        pt: "{server} agora é outro servidor: suas conversas com o anterior foram movidas para {aside}, e voltam as da sua visita anterior a este",
    },
    /// Follows [`Msg::ServerChangedFresh`] or [`Msg::ServerChangedRestored`].
    UnsentStayAside {
        en: "{n} unsent message(s) written for the other server stay in that folder and are not sent to this one",
        es: "{n} mensaje(s) sin enviar, escritos para el otro servidor, se quedan en esa carpeta y no se envían a este",
        pt: "{n} mensagem(ns) não enviada(s), escrita(s) para o outro servidor, fica(m) nessa pasta e não vai(vão) para este",
    },
    Writing { en: "writing {path}", es: "escribiendo {path}", pt: "gravando {path}" },
    /// A `MSG` whose `(from, id)` is logged with another time.
    SameIdOtherTime {
        en: "{from}'s message {id} (time {ts}) has the id of an earlier one with another time: another message (another server at this address?), kept and shown",
        es: "el mensaje {id} de {from} (hora {ts}) tiene el id de uno anterior con otra hora: es otro mensaje (¿otro servidor en esta dirección?), se guarda y se muestra",
        pt: "a mensagem {id} de {from} (hora {ts}) tem o id de uma anterior com outra hora: é outra mensagem (outro servidor neste endereço?), guardada e mostrada",
    },

    ForeignOutboxRows {
        en: "{path}: {n} message(s) written there by another program; they are sent too",
        es: "{path}: otro programa escribió {n} mensaje(s) ahí; también se envían",
        pt: "{path}: outro programa escreveu {n} mensagem(ns) ali; também são enviadas",
    },

    // ── Direct chats ─────────────────────────────────────────────────────
    NoRouteForPeers {
        en: "no route to {server}: no port is opened for direct chats from peers",
        es: "no hay ruta hacia {server}: no se abre ningún puerto para chats directos de otros",
        pt: "sem rota para {server}: nenhuma porta é aberta para chats diretos de outros",
    },
    P2pPort { en: "the P2P port", es: "el puerto P2P", pt: "a porta P2P" },
    Closing { en: "the client is closing", es: "el cliente se está cerrando", pt: "o cliente está fechando" },
    DirectWithYourself {
        en: "a direct chat is with someone else",
        es: "un chat directo es con otra persona",
        pt: "um chat direto é com outra pessoa",
    },
    CannotListenForPeers {
        en: "cannot listen for peers on {addr}",
        es: "no se puede escuchar a otros usuarios en {addr}",
        pt: "não foi possível escutar outros usuários em {addr}",
    },
    DirectChatAt {
        en: "direct chat with {peer} at {addr}",
        es: "chat directo con {peer} en {addr}",
        pt: "chat direto com {peer} em {addr}",
    },
    NoHello { en: "no answer to HELLO ({detail})", es: "sin respuesta a HELLO ({detail})", pt: "sem resposta ao HELLO ({detail})" },
    PeerAnswered { en: "{peer} answered {ko}", es: "{peer} respondió {ko}", pt: "{peer} respondeu {ko}" },
    YouHungUp { en: "you hung up", es: "colgaste", pt: "você desligou" },
    PeerReopened {
        en: "{peer} opened a new direct chat",
        es: "{peer} abrió un nuevo chat directo",
        pt: "{peer} abriu um novo chat direto",
    },
    PeerClosed {
        en: "{peer} closed the connection",
        es: "{peer} cerró la conexión",
        pt: "{peer} fechou a conexão",
    },
    PeerFrameTooLong {
        en: "{peer} sent a frame too long",
        es: "{peer} envió una trama demasiado larga",
        pt: "{peer} enviou um quadro longo demais",
    },
    PeerSilent {
        en: "nothing from {peer} for {secs} s",
        es: "nada de {peer} en {secs} s",
        pt: "nada de {peer} em {secs} s",
    },
    PeerLost {
        en: "connection to {peer} lost: {error}",
        es: "se perdió la conexión con {peer}: {error}",
        pt: "a conexão com {peer} caiu: {error}",
    },
    PeerFlooding {
        en: "{peer} sent too many frames (flooding)",
        es: "{peer} envió demasiadas tramas (inundación)",
        pt: "{peer} enviou quadros demais (inundação)",
    },
    PeerNotProtocol {
        en: "{peer} sent frames that are not the peer protocol",
        es: "{peer} envió tramas que no son del protocolo entre pares",
        pt: "{peer} enviou quadros que não são do protocolo entre pares",
    },
    PeerCannotStore {
        en: "cannot store a message from {peer}: {error}",
        es: "no se puede guardar un mensaje de {peer}: {error}",
        pt: "não foi possível guardar uma mensagem de {peer}: {error}",
    },
    PeerChatClosed { en: "the chat was closed", es: "el chat se cerró", pt: "o chat foi fechado" },
    PeerCannotWrite {
        en: "cannot write to {peer}: {error}",
        es: "no se puede escribir a {peer}: {error}",
        pt: "não foi possível escrever para {peer}: {error}",
    },

    // ── Names and texts the user typed ───────────────────────────────────
    NameLength {
        en: "a name has 1 to {max} characters: {name}",
        es: "un nombre tiene de 1 a {max} caracteres: {name}",
        pt: "um nome tem de 1 a {max} caracteres: {name}",
    },
    NameBadChar {
        en: "{char} is not allowed in a name (only A-Z a-z 0-9 _ . -)",
        es: "{char} no se permite en un nombre (solo A-Z a-z 0-9 _ . -)",
        pt: "{char} não é permitido em um nome (só A-Z a-z 0-9 _ . -)",
    },
    BadDeviceName {
        en: "bad device name: {why}",
        es: "nombre de dispositivo no válido: {why}",
        pt: "nome de dispositivo inválido: {why}",
    },
    BadUserName { en: "bad user name: {why}", es: "nombre de usuario no válido: {why}", pt: "nome de usuário inválido: {why}" },
    BadRoomName { en: "bad room name: {why}", es: "nombre de sala no válido: {why}", pt: "nome de sala inválido: {why}" },
    BadAddress {
        en: "bad address {name} (user@server): {why}",
        es: "dirección no válida {name} (usuario@servidor): {why}",
        pt: "endereço inválido {name} (usuário@servidor): {why}",
    },
    BadRoomAddress {
        en: "bad room address {name} (#room@server): {why}",
        es: "dirección de sala no válida {name} (#sala@servidor): {why}",
        pt: "endereço de sala inválido {name} (#sala@servidor): {why}",
    },
    RoomNeedsHash {
        en: "a room name starts with '#': {name}",
        es: "el nombre de una sala empieza por '#': {name}",
        pt: "o nome de uma sala começa com '#': {name}",
    },
    TextEmpty { en: "the text is empty", es: "el texto está vacío", pt: "o texto está vazio" },
    TextTooLong {
        en: "the text is {len} bytes, the limit is {max}",
        es: "el texto tiene {len} bytes, el límite es {max}",
        pt: "o texto tem {len} bytes, o limite é {max}",
    },
}

/// What a `KO` code means, in the process's language.
pub fn ko_meaning(code: Code) -> &'static str {
    ko_meaning_in(super::current(), code)
}

/// What a `KO` code means, in `lang`.
pub fn ko_meaning_in(lang: Lang, code: Code) -> &'static str {
    let msg = match code {
        Code::BadRequest => Msg::KoBadRequest,
        Code::AuthRequired => Msg::KoAuthRequired,
        Code::AuthFailed => Msg::KoAuthFailed,
        Code::UserExists => Msg::KoUserExists,
        Code::UnknownUser => Msg::KoUnknownUser,
        Code::NotMember => Msg::KoNotMember,
        Code::UnknownMessage => Msg::KoUnknownMessage,
        Code::Offline => Msg::KoOffline,
        Code::TooLong => Msg::KoTooLong,
        Code::RateLimited => Msg::KoRateLimited,
        Code::Busy => Msg::KoBusy,
        Code::Timeout => Msg::KoTimeout,
        Code::Internal => Msg::KoInternal,
        Code::Full => Msg::KoFull,
        Code::Forbidden => Msg::KoForbidden,
        Code::TooManyDevices => Msg::KoTooManyDevices,
        Code::UnknownDevice => Msg::KoUnknownDevice,
        Code::UnknownFile => Msg::KoUnknownFile,
        Code::Unavailable => Msg::KoUnavailable,
        Code::UnknownServer => Msg::KoUnknownServer,
    };
    msg.text(lang)
}

/// A system error in words: the common ones translated, the rest (and
/// every error wachat made itself, which is already in words) as they are.
pub fn io_error(e: &io::Error) -> String {
    use io::ErrorKind as K;
    // Errors wachat wrote (`io::Error::new(kind, "…")`) carry their own
    // words; only the operating system's (`raw_os_error`) are generic.
    if e.raw_os_error().is_none() || super::current() == Lang::En {
        return e.to_string();
    }
    let msg = match e.kind() {
        K::ConnectionRefused => Msg::IoRefused,
        K::ConnectionReset => Msg::IoReset,
        K::ConnectionAborted => Msg::IoAborted,
        K::TimedOut => Msg::IoTimedOut,
        K::NotFound => Msg::IoNotFound,
        K::PermissionDenied => Msg::IoPermission,
        K::AddrInUse => Msg::IoAddrInUse,
        K::BrokenPipe => Msg::IoBrokenPipe,
        K::HostUnreachable | K::NetworkUnreachable => Msg::IoUnreachable,
        _ => return e.to_string(),
    };
    msg.text(super::current()).to_string()
}

/// Why `name` is not a valid user name, in words (the rules are
/// [`crate::protocol::names`]'s; only the words are the catalogue's).
pub fn name_problem(lang: Lang, problem: NameProblem, name: &str) -> String {
    match problem {
        NameProblem::Length => tr!(in lang; Msg::NameLength, max = MAX_NAME, name = format!("{name:?}")),
        NameProblem::Char(c) => tr!(in lang; Msg::NameBadChar, char = format!("{c:?}")),
    }
}

/// [`Chat::parse`] with its refusal in `lang`. An address (1.3,
/// `bob@lab2`, `#lab@lab2`) is refused as one, naming the part that is
/// not a name: `@` is allowed there, between two names.
pub fn parse_chat(lang: Lang, s: &str) -> Result<Chat, String> {
    Chat::parse(s).map_err(|_| {
        let name = format!("{s:?}");
        match (s.strip_prefix('#'), s.split_once('@')) {
            (Some(_), Some((room, home))) => {
                tr!(in lang; Msg::BadRoomAddress, name = name, why = why_not_either(lang, &room[1..], home))
            }
            (None, Some((user, server))) => {
                tr!(in lang; Msg::BadAddress, name = name, why = why_not_either(lang, user, server))
            }
            (Some(room), None) => tr!(in lang; Msg::BadRoomName, why = why_not(lang, room)),
            (None, None) => tr!(in lang; Msg::BadUserName, why = why_not(lang, s)),
        }
    })
}

/// [`Chat::parse_room`] with its refusal in `lang`.
pub fn parse_room(lang: Lang, s: &str) -> Result<String, String> {
    match parse_chat(lang, s)? {
        Chat::Room(room) => Ok(room),
        Chat::User(_) => Err(tr!(in lang; Msg::RoomNeedsHash, name = format!("{s:?}"))),
    }
}

/// A user name as typed on the command line or the console, checked;
/// the refusal in `lang`.
pub fn check_user(lang: Lang, s: &str) -> Result<(), String> {
    match crate::protocol::names::name_problem(s) {
        Some(problem) => Err(name_problem(lang, problem, s)),
        None => Ok(()),
    }
}

fn why_not(lang: Lang, name: &str) -> String {
    check_user(lang, name).err().unwrap_or_default()
}

/// Why the first of two names is not one, or else the second.
fn why_not_either(lang: Lang, first: &str, second: &str) -> String {
    check_user(lang, first).and_then(|()| check_user(lang, second)).err().unwrap_or_default()
}

/// [`crate::protocol::Text::from_plain`] with its refusal in `lang`.
pub fn text_from_plain(lang: Lang, plain: &str) -> Result<crate::protocol::Text, String> {
    crate::protocol::Text::from_plain(plain).map_err(|_| {
        // `from_plain` refuses only an empty text or one over the limit,
        // measured as typed (unescaped).
        match plain.len() {
            0 => tr!(in lang; Msg::TextEmpty),
            len => tr!(in lang; Msg::TextTooLong, len = len, max = MAX_TEXT),
        }
    })
}
