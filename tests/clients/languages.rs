//! wachat speaks English, Spanish and Portuguese: the console,
//! the one-shot and account commands, the demo, and the errors users read,
//! chosen with `--lang` or by `LANG`. The frames on the wire stay the
//! same, and a `KO`'s reason stays the server's (English), after the
//! code's meaning in the user's language.
//!
//! That every message *has* all three translations is checked by the unit
//! test `i18n::tests::every_message_has_all_three_languages_with_the_same_placeholders`;
//! these tests check that the program really uses them.

use super::support;

use std::path::Path;

use support::TestServer;
use support::console::{Console, Outcome, connection_args, run_wachat_in_locale};

/// `wachat <args>` in `locale`, as `user` (password `pw-<user>`) when given.
fn wachat(args: &[&str], user: &str, locale: &str) -> Outcome {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let password = if user.is_empty() { String::new() } else { format!("pw-{user}") };
    run_wachat_in_locale(&args, &password, "", locale)
}

/// A one-shot subcommand as `user` against `server`, in `locale`.
fn one_shot(server: &TestServer, data: &Path, user: &str, args: &[&str], locale: &str) -> Outcome {
    let mut all: Vec<String> = vec![args[0].into(), "--user".into(), user.into()];
    all.extend(connection_args(server.send, server.recv, data));
    all.extend(args[1..].iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    wachat(&all, user, locale)
}

#[test]
fn the_console_speaks_spanish_with_lang_es_and_portuguese_from_lang_pt_br() {
    let server = TestServer::start();
    server.register(&["ana", "bob"]);
    let dir = tempfile::tempdir().unwrap();
    // ana chooses with the flag (over an English locale), bob by his locale.
    let mut ana = Console::start(&server, "ana", dir.path(), &["--lang", "es", "--device", "lab"]);
    ana.expect("conectado a 127.0.0.1 como ana (este dispositivo: lab); escribe /help para ver los comandos");
    let mut bob = Console::start_in_locale(&server, "bob", dir.path(), &["--device", "casa"], "pt_BR.UTF-8");
    bob.expect("conectado a 127.0.0.1 como bob (este dispositivo: casa); digite /help para ver os comandos");
    ana.expect("bob está en línea");

    ana.type_line("/chat bob");
    ana.expect("── bob (en línea): todavía no hay mensajes ──");
    ana.type_line("hola bob");
    ana.expect("tú → bob: hola bob …");
    bob.expect("ana: hola bob");
    // bob opens the chat: he has read it, and ana's ticks say so in Spanish.
    bob.type_line("/chat ana");
    bob.expect("── ana (online): últimas 1 mensagem(ns) ──");
    ana.expect("✓✓ leído  (a bob: hola bob)");
    bob.type_line("oi ana");
    bob.expect("você → ana: oi ana …");
    bob.expect("(para ana: oi ana)");

    // Mistakes and refusals: the code's meaning translated, the server's
    // reason as it came on the wire.
    ana.type_line("/frobnicate");
    ana.expect("error: comando desconocido /frobnicate (prueba /help)");
    ana.type_line("/chat zed");
    ana.expect(
        "error: buscar a zed: el servidor lo rechazó (ese usuario no existe): no user named zed (UNKNOWN_USER)",
    );
    ana.type_line("@zed: ¿hay alguien?");
    ana.expect("  ✗ no entregado a zed (ese usuario no existe): no user named zed");
    bob.type_line("/chats");
    bob.expect("você: oi ana");
    bob.type_line("/join geral");
    bob.expect("erro: o nome de uma sala começa com '#': \"geral\"");
    bob.type_line("/help");
    bob.expect("comandos:");
    bob.expect("/chat <usuário|#sala>");

    let (status, _) = bob.quit("/sair");
    assert!(status.success());
    ana.expect("bob se desconectó");
    let (status, lines) = ana.quit("/salir");
    assert!(status.success(), "{lines:?}");
}

#[test]
fn one_shot_and_account_commands_speak_the_chosen_language() {
    let server = TestServer::start();
    server.register(&["bob"]);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();

    let sent = one_shot(&server, data, "bob", &["send", "--to", "bob", "oi", "--lang", "pt"], "C");
    assert!(sent.status.success(), "{}", sent.stderr);
    assert_eq!(sent.stdout, "enviado para bob ✓\n");
    let refused = one_shot(&server, data, "bob", &["send", "--to", "zed", "hola"], "es_AR.UTF-8");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        refused.stderr.contains(
            "wachat: envío a zed: el servidor lo rechazó (ese usuario no existe): no user named zed (UNKNOWN_USER)"
        ),
        "{}",
        refused.stderr
    );
    let history = one_shot(&server, data, "bob", &["history", "--with", "bob"], "pt_BR.UTF-8");
    assert!(history.stdout.contains(" você → bob: oi"), "{}", history.stdout);
    // A bad name on the command line is explained in the user's words too.
    let bad = wachat(&["send", "--user", "b@d", "--to", "bob", "x", "--lang", "es"], "bob", "C");
    assert!(bad.stderr.contains("'@' no se permite en un nombre"), "{}", bad.stderr);
    let no_password = wachat(&["users", "--user", "bob"], "", "pt_BR.UTF-8");
    assert!(no_password.stderr.contains("falta a senha: defina WACHAT_PASSWORD"), "{}", no_password.stderr);

    // The teacher's commands, and the lock of a running server.
    let class = tmp.path().join("class");
    let class_dir = class.display().to_string();
    let added = wachat(
        &["users", "add", "eva", "--random", "--kdf-cost", "8", "--data-dir", &class_dir],
        "",
        "es_ES.UTF-8",
    );
    assert!(
        added.stdout.starts_with("cuenta eva creada (miembro de #general); contraseña: "),
        "{}",
        added.stderr
    );
    let listed = wachat(&["users", "list", "--data-dir", &class_dir, "--lang", "pt"], "", "C");
    assert_eq!(listed.stdout, "eva\n");
    let missing = wachat(&["users", "list", "--data-dir", "/nonexistent/wachat"], "", "pt_BR.UTF-8");
    assert!(
        missing.stderr.contains("o diretório de dados /nonexistent/wachat não existe"),
        "{}",
        missing.stderr
    );
    let busy_dir = server.data_dir.display().to_string();
    let locked = wachat(&["users", "remove", "bob", "--data-dir", &busy_dir], "", "es_MX.UTF-8");
    assert!(locked.stderr.contains("está en uso por un servidor wachat en marcha"), "{}", locked.stderr);
}

#[test]
fn the_demo_speaks_portuguese_and_its_frames_stay_the_same() {
    let demo = wachat(&["demo"], "", "pt_BR.UTF-8");
    assert!(demo.status.success(), "exit {}\n{}\n{}", demo.status, demo.stdout, demo.stderr);
    let out = &demo.stdout;
    assert!(out.starts_with("demo do wachat: um servidor neste processo"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("── ")).count(), 12, "{out}");
    assert!(out.contains("── 6. bob lê (READ na porta de envio): a mensagem de ana vira ✓✓ lido"), "{out}");
    assert!(out.contains("ana send > MSG:bob:m1:hola bob, ¿estás?\nana send < OK:m1:"), "{out}");
    assert!(out.contains("pronto: nada se perdeu"), "{out}");
}
