//! `wachat demo`'s words: the header, the one line above each step saying
//! what its frames show, and why the demo stopped if a frame was not the
//! one expected. The frames themselves are the protocol's and stay as
//! they are on the wire.

use super::catalogue;

catalogue! {
    Header {
        en: "wachat demo: a server in this process, its data in {dir}",
        es: "demo de wachat: un servidor en este proceso, sus datos en {dir}",
        pt: "demo do wachat: um servidor neste processo, seus dados em {dir}",
    },
    Ports {
        en: "  send port {send}, receive port {recv}",
        es: "  puerto de envío {send}, puerto de recepción {recv}",
        pt: "  porta de envio {send}, porta de recepção {recv}",
    },
    Arrows {
        en: "  `>` is a frame a client writes, `<` one the server writes.",
        es: "  `>` es una trama que escribe un cliente, `<` una que escribe el servidor.",
        pt: "  `>` é um quadro que um cliente escreve, `<` um que o servidor escreve.",
    },
    NewServer {
        en: "  new server: send port {send}, receive port {recv}",
        es: "  servidor nuevo: puerto de envío {send}, puerto de recepción {recv}",
        pt: "  servidor novo: porta de envio {send}, porta de recepção {recv}",
    },
    Done {
        en: "\ndone: nothing was lost; the demo's data directory is deleted.",
        es: "\nlisto: no se perdió nada; el directorio de datos de la demo se borró.",
        pt: "\npronto: nada se perdeu; o diretório de dados da demo foi apagado.",
    },
    Step1 {
        en: "ana and bob create their accounts on the send port (each joins #general)",
        es: "ana y bob crean sus cuentas en el puerto de envío (cada uno entra en #general)",
        pt: "ana e bob criam suas contas na porta de envio (cada um entra em #general)",
    },
    Step2 {
        en: "ana logs in on the receive port, where the server pushes her events",
        es: "ana inicia sesión en el puerto de recepción, donde el servidor le envía sus eventos",
        pt: "ana entra na porta de recepção, onde o servidor envia os eventos dela",
    },
    Step3 {
        en: "bob is offline (not on the receive port): ana's message is stored, OK = ✓",
        es: "bob no está conectado (no está en el puerto de recepción): el mensaje de ana se guarda, OK = ✓",
        pt: "bob está offline (fora da porta de recepção): a mensagem de ana é guardada, OK = ✓",
    },
    Step4 {
        en: "bob logs in on the receive port: what waited in his inbox comes first",
        es: "bob inicia sesión en el puerto de recepción: primero llega lo que esperaba en su bandeja",
        pt: "bob entra na porta de recepção: primeiro chega o que esperava na caixa de entrada dele",
    },
    Step5 {
        en: "bob's client has stored it and says ACK: ana's message becomes ✓✓ (DELIVERED)",
        es: "el cliente de bob lo guardó y responde ACK: el mensaje de ana pasa a ✓✓ (DELIVERED)",
        pt: "o cliente de bob guardou e responde ACK: a mensagem de ana vira ✓✓ (DELIVERED)",
    },
    Step6 {
        en: "bob reads it (READ on the send port): ana's message becomes ✓✓ read",
        es: "bob lo lee (READ en el puerto de envío): el mensaje de ana pasa a ✓✓ leído",
        pt: "bob lê (READ na porta de envio): a mensagem de ana vira ✓✓ lido",
    },
    Step7 {
        en: "a room message reaches every other member of #general (rooms have no ✓✓)",
        es: "un mensaje a una sala llega a todos los demás miembros de #general (las salas no tienen ✓✓)",
        pt: "uma mensagem de sala chega a todos os outros membros de #general (salas não têm ✓✓)",
    },
    Step8 {
        en: "ana goes offline; bob answers her: the answer waits in her inbox, on disk",
        es: "ana se desconecta; bob le responde: la respuesta espera en su bandeja, en disco",
        pt: "ana fica offline; bob responde: a resposta espera na caixa de entrada dela, em disco",
    },
    Step9 {
        en: "the server restarts: BYE to every receiver, then a new server loads the same files",
        es: "el servidor se reinicia: BYE a cada receptor, luego un servidor nuevo carga los mismos archivos",
        pt: "o servidor reinicia: BYE para cada receptor, depois um servidor novo carrega os mesmos arquivos",
    },
    Step10 {
        en: "ana logs in again: bob's answer from before the restart is there",
        es: "ana vuelve a iniciar sesión: la respuesta de bob de antes del reinicio está ahí",
        pt: "ana entra de novo: a resposta de bob de antes do reinício está lá",
    },
    Step11 {
        en: "bob logs in again: his answer is ✓✓ now (states survive restarts too)",
        es: "bob vuelve a iniciar sesión: su respuesta ya es ✓✓ (los estados también sobreviven al reinicio)",
        pt: "bob entra de novo: a resposta dele agora é ✓✓ (os estados também sobrevivem ao reinício)",
    },
    Step12 {
        en: "ana asks for her HISTORY with bob: both messages, each with its state",
        es: "ana pide su HISTORY con bob: los dos mensajes, cada uno con su estado",
        pt: "ana pede o HISTORY dela com bob: as duas mensagens, cada uma com seu estado",
    },
    Writing {
        en: "demo: writing the transcript",
        es: "demo: escribiendo la transcripción",
        pt: "demo: escrevendo a transcrição",
    },
    Connecting {
        en: "demo: {label}: connecting to {addr}",
        es: "demo: {label}: conectando a {addr}",
        pt: "demo: {label}: conectando a {addr}",
    },
    WritingFrame {
        en: "demo: {label}: writing",
        es: "demo: {label}: escribiendo",
        pt: "demo: {label}: escrevendo",
    },
    WaitingFrame {
        en: "demo: {label}: waiting for a frame",
        es: "demo: {label}: esperando una trama",
        pt: "demo: {label}: esperando um quadro",
    },
    ServerClosed {
        en: "demo: {label}: the server closed the connection",
        es: "demo: {label}: el servidor cerró la conexión",
        pt: "demo: {label}: o servidor fechou a conexão",
    },
    Expected {
        en: "demo: {label}: expected {expected}…, got {got}",
        es: "demo: {label}: se esperaba {expected}…, llegó {got}",
        pt: "demo: {label}: esperava {expected}…, chegou {got}",
    },
}
