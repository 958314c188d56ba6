//! The cluster's PostgreSQL client (`src/cluster/db/postgres.rs`, on libpq)
//! against a real PostgreSQL: what the nodes ask of it, each way it can
//! go, and the ways of reaching the server a node's `--store` may name (a
//! password, a Unix socket, TLS).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wachat::cluster::db::postgres::Client;
use wachat::transport::Stream;

use super::{recv_conn, register, send_conn};
use crate::support::TestServer;
use crate::support::cluster::Cluster;

/// A client on a test's database, with a table of its own.
fn client() -> (Cluster, Client) {
    let cluster = Cluster::start_empty();
    let mut db = Client::connect(&cluster.pg.url).expect("connect");
    db.batch_execute("CREATE TABLE t (k int8 PRIMARY KEY, name text, data bytea, ok bool)").unwrap();
    (cluster, db)
}

#[test]
fn values_go_and_come_back_in_every_form_a_query_takes() {
    let (_cluster, mut db) = client();
    // Parameters, their types as the server infers them.
    let bytes: &[u8] = &[0, 1, 255, b'\n'];
    let n = db.execute("INSERT INTO t VALUES ($1, $2, $3, $4)", &[&1i64, &"é 你", &bytes, &true]).unwrap();
    assert_eq!(n, 1);
    let row = db.query_one("SELECT k, name, data, ok FROM t WHERE k = $1", &[&1i64]).unwrap();
    assert_eq!(row.get::<i64>(0), 1);
    assert_eq!(row.get::<&str>(1), "é 你");
    assert_eq!(row.get::<&[u8]>(2), bytes);
    assert!(row.get::<bool>(3));
    // NULL both ways.
    db.execute("INSERT INTO t (k, name) VALUES ($1, $2)", &[&2i64, &None::<String>]).unwrap();
    let name: Option<String> = db.query_one("SELECT name FROM t WHERE k = 2", &[]).unwrap().get(0);
    assert_eq!(name, None);
    // Arrays.
    let keys: Vec<i64> = vec![3, 4, 5];
    let datas: Vec<&[u8]> = vec![b"a", b"", b"ccc"];
    let inserted = db
        .execute("INSERT INTO t (k, data) SELECT * FROM unnest($1::int8[], $2::bytea[])", &[&keys, &datas])
        .unwrap();
    assert_eq!(inserted, 3);
    let got = db.query_opt("SELECT data FROM t WHERE k = $1", &[&5i64]).unwrap();
    assert_eq!(got.unwrap().get::<Vec<u8>>(0), b"ccc");
    assert!(db.query_opt("SELECT data FROM t WHERE k = $1", &[&9i64]).unwrap().is_none());
    // A query text with parameters is prepared once on its connection,
    // and run again by its name with other values.
    let counts: Vec<i64> = [1i64, 3, 6]
        .iter()
        .map(|k| db.query_one("SELECT count(*) FROM t WHERE k >= $1", &[k]).unwrap().get(0))
        .collect();
    assert_eq!(counts, [5, 3, 0]);
    let prepared: Vec<String> = db
        .query("SELECT statement FROM pg_prepared_statements", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(prepared.iter().filter(|s| s.contains("k >= $1")).count(), 1, "{prepared:?}");
    // Rows: none, several; one asked of several is an error.
    assert_eq!(db.query("SELECT k FROM t WHERE k > 100", &[]).unwrap().len(), 0);
    assert_eq!(db.query("SELECT k FROM t ORDER BY k", &[]).unwrap().len(), 5);
    assert!(db.query_opt("SELECT k FROM t", &[]).is_err());
    assert!(db.query_one("SELECT k FROM t WHERE k > 100", &[]).is_err());
    // A value read as a type it is not, or a column that is not there: a
    // bug of the query, which panics (naming the column); a parameter of
    // the wrong type or count: an error, and the connection goes on.
    let row = db.query_one("SELECT k FROM t WHERE k = 1", &[]).unwrap();
    let panics = |read: &dyn Fn()| {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_err();
        panic.downcast::<String>().map(|said| *said).unwrap_or_default()
    };
    let wrong_type = panics(&|| {
        row.get::<String>(0);
    });
    assert_eq!(
        wrong_type,
        format!("column 0: a int8 column is not read as {}", std::any::type_name::<String>())
    );
    let missing = panics(&|| {
        row.get::<i64>(7);
    });
    assert_eq!(missing, "no column 7");
    assert!(db.query("SELECT k FROM t WHERE k = $1", &[&"one"]).is_err());
    assert!(db.query("SELECT k FROM t WHERE k = $1", &[]).is_err());
    assert_eq!(db.query_one("SELECT 41 + 1", &[]).unwrap().get::<i32>(0), 42);
}

#[test]
fn the_servers_errors_carry_their_code_and_the_connection_goes_on() {
    let (_cluster, mut db) = client();
    db.execute("INSERT INTO t (k) VALUES (1)", &[]).unwrap();
    let e = db.execute("INSERT INTO t (k) VALUES ($1)", &[&1i64]).unwrap_err();
    assert_eq!(e.code(), Some("23505"), "{e}");
    assert!(e.to_string().contains("duplicate key"), "{e}");
    let e = db.batch_execute("SELECT 1; SELEKT 2").unwrap_err();
    assert_eq!(e.code(), Some("42601"), "{e}");
    assert!(!db.is_closed());
    assert_eq!(db.query_one("SELECT count(*) FROM t", &[]).unwrap().get::<i64>(0), 1);
}

#[test]
fn a_transaction_takes_effect_at_its_commit_and_none_when_dropped() {
    let (cluster, mut db) = client();
    let mut other = Client::connect(&cluster.pg.url).unwrap();
    let count = |c: &mut Client| -> i64 { c.query_one("SELECT count(*) FROM t", &[]).unwrap().get(0) };
    let mut tx = db.transaction().unwrap();
    tx.execute("INSERT INTO t (k) VALUES (1)", &[]).unwrap();
    assert_eq!(count(&mut other), 0, "not before the commit");
    tx.commit().unwrap();
    assert_eq!(count(&mut other), 1);
    // Dropped (an error on the way): rolled back, and the connection is
    // out of the transaction.
    {
        let mut tx = db.transaction().unwrap();
        tx.execute("INSERT INTO t (k) VALUES (2)", &[]).unwrap();
        assert!(tx.execute("INSERT INTO t (k) VALUES (1)", &[]).is_err());
    }
    assert_eq!(count(&mut db), 1);
    // An isolation level, read only: what the checkpoints' reader asks.
    let mut tx = db.transaction_with("ISOLATION LEVEL REPEATABLE READ, READ ONLY").unwrap();
    let level: String = tx.query_one("SHOW transaction_isolation", &[]).unwrap().get(0);
    assert_eq!(level, "repeatable read");
    assert_eq!(count(&mut tx), 1);
    other.execute("INSERT INTO t (k) VALUES (3)", &[]).unwrap();
    assert_eq!(count(&mut tx), 1, "the snapshot of its first read");
    let e = tx.execute("INSERT INTO t (k) VALUES (4)", &[]).unwrap_err();
    assert_eq!(e.code(), Some("25006"), "{e}");
    drop(tx);
    assert_eq!(count(&mut db), 2);
}

#[test]
fn notifications_come_to_a_listener_whenever_they_are_sent() {
    let (cluster, mut listener) = client();
    let mut sender = Client::connect(&cluster.pg.url).unwrap();
    listener.batch_execute("LISTEN news").unwrap();
    // None: the wait ends after about the time given.
    let started = Instant::now();
    assert!(listener.notification(Duration::from_millis(200)).unwrap().is_none());
    assert!(started.elapsed() >= Duration::from_millis(200));
    // One sent while the listener waits.
    let waiting = std::thread::spawn(move || {
        let got = listener.notification(Duration::from_secs(20)).unwrap();
        (listener, got)
    });
    std::thread::sleep(Duration::from_millis(100));
    sender.batch_execute("NOTIFY news, 'first'").unwrap();
    let (mut listener, got) = waiting.join().unwrap();
    assert_eq!(got.expect("the notification").payload(), "first");
    // Several sent while the listener did something else (a query of its
    // own): kept, then taken without waiting.
    for n in 0..3 {
        sender.execute("SELECT pg_notify('news', $1)", &[&n.to_string()]).unwrap();
    }
    assert_eq!(listener.query_one("SELECT 1", &[]).unwrap().get::<i32>(0), 1);
    let mut payloads = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while payloads.len() < 3 && Instant::now() < deadline {
        if let Some(n) = listener.notification(Duration::from_millis(100)).unwrap() {
            payloads.push(n.payload().to_string());
        }
    }
    assert_eq!(payloads, ["0", "1", "2"]);
    assert!(listener.notification(Duration::ZERO).unwrap().is_none());
    assert!(!listener.is_closed());
}

#[test]
fn a_connection_the_server_ends_is_closed_with_the_servers_code() {
    let (cluster, mut db) = client();
    let pid: i32 = db.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let mut admin = Client::connect(&cluster.pg.url).unwrap();
    admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();
    let e = db.query_one("SELECT 1", &[]).unwrap_err();
    assert!(e.code() == Some("57P01") || e.code().is_none(), "{e}");
    assert!(db.is_closed() || db.query_one("SELECT 1", &[]).is_err());
    assert!(db.is_closed());
}

#[test]
fn the_first_host_that_takes_writes_is_the_one_connected() {
    let (cluster, _db) = client();
    let port = cluster.pg.port;
    let name = cluster.pg.url.rsplit('/').next().unwrap().to_string();
    // A port nobody listens on first: the next host is tried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://wachat@127.0.0.1:{dead},127.0.0.1:{port}/{name}");
    let mut db = Client::connect(&url).expect("the second host");
    assert_eq!(db.query_one("SELECT current_database()", &[]).unwrap().get::<String>(0), name);
    // A server that takes no writes (as a standby) is refused when
    // writes are asked, and taken otherwise.
    let read_only = "options=-c%20default_transaction_read_only%3Don";
    let url =
        format!("postgres://wachat@127.0.0.1:{port}/{name}?{read_only}&target_session_attrs=read-write");
    let e = Client::connect(&url).err().expect("refused");
    assert!(e.to_string().contains("read-only"), "{e}");
    let keywords = format!(
        "host=127.0.0.1 port={port} user=wachat dbname={name} options='-c default_transaction_read_only=on'"
    );
    let mut db = Client::connect(&keywords).expect("any server");
    assert_eq!(db.query_one("SHOW transaction_read_only", &[]).unwrap().get::<String>(0), "on");
}

#[test]
fn rows_copied_in_arrive_and_a_copy_given_up_leaves_none() {
    let (_cluster, mut db) = client();
    let mut copy = db.copy_in("COPY t (k, name) FROM STDIN").unwrap();
    for k in 0..1000 {
        copy.write_all(format!("{k}\tname {k}\n").as_bytes()).unwrap();
    }
    assert_eq!(copy.finish().unwrap(), 1000);
    let mut copy = db.copy_in("COPY t (k, name) FROM STDIN").unwrap();
    copy.write_all(b"5000\tgiven up\n").unwrap();
    drop(copy);
    assert_eq!(db.query_one("SELECT count(*) FROM t", &[]).unwrap().get::<i64>(0), 1000);
    let e = db.copy_in("COPY nowhere FROM STDIN").err().expect("no such table");
    assert_eq!(e.code(), Some("42P01"), "{e}");
    assert_eq!(db.query_one("SELECT 1", &[]).unwrap().get::<i32>(0), 1);
}

/// Sets the test's own PostgreSQL's `pg_hba.conf` to `rules` and waits
/// until the server took it (a reload is asynchronous): until `probe`
/// connects.
fn reload_hba(cluster: &Cluster, rules: &str, probe: &str) {
    cluster.pg.write_data_file("pg_hba.conf", rules.as_bytes());
    cluster.pg.client().query_one("SELECT pg_reload_conf()", &[]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Err(e) = Client::connect(probe) {
        assert!(Instant::now() < deadline, "the new pg_hba.conf not taken: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A node whose `--store` is `store`.
fn node_on(store: &str) -> TestServer {
    TestServer::start_with(&["--store", store, "--node", "a", "--rate", "0"])
}

#[test]
fn a_password_is_given_in_the_url_or_a_password_file_and_a_wrong_one_is_refused() {
    let cluster = Cluster::start_own();
    let port = cluster.pg.port;
    let mut admin = cluster.pg.client();
    admin
        .batch_execute("SET password_encryption = 'scram-sha-256'; CREATE ROLE alice LOGIN SUPERUSER PASSWORD 's@cret pass'")
        .unwrap();
    let stored: String =
        admin.query_one("SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'", &[]).unwrap().get(0);
    assert!(stored.starts_with("SCRAM-SHA-256$"), "{stored}");
    // alice gives her password over TCP; the test's own role is trusted.
    let url = "postgres://alice:s%40cret%20pass@127.0.0.1";
    let rules =
        "host all alice 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n";
    reload_hba(&cluster, rules, &format!("{url}:{port}/wachat"));
    let mut alice = Client::connect(&format!("{url}:{port}/wachat")).expect("the password in the URL");
    assert_eq!(alice.query_one("SELECT current_user::text", &[]).unwrap().get::<String>(0), "alice");
    // None (and no password file), or a wrong one: refused.
    let none = format!("postgres://alice@127.0.0.1:{port}/wachat?passfile=/nonexistent");
    let e = Client::connect(&none).err().expect("no password");
    assert!(e.to_string().contains("password"), "{e}");
    let e = Client::connect(&format!("postgres://alice:wrong@127.0.0.1:{port}/wachat")).err().expect("wrong");
    assert!(e.to_string().contains("password authentication failed"), "{e}");
    // A password file, as ~/.pgpass: HOST:PORT:DB:USER:PASSWORD, readable
    // by its owner alone. A node reads it the same way.
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    std::fs::write(&passfile, format!("127.0.0.1:{port}:wachat:alice:s@cret pass\n")).unwrap();
    std::fs::set_permissions(&passfile, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let store =
        format!("host=127.0.0.1 port={port} user=alice dbname=wachat passfile={}", passfile.display());
    assert!(Client::connect(&store).is_ok());
    let node = node_on(&store);
    register(&node, "ana");
    register(&node, "bob");
    let mut bob = recv_conn(&node, "bob");
    assert!(send_conn(&node, "ana").request("MSG:bob:m1:hola").starts_with("OK:m1:"));
    assert!(bob.next_event().ends_with(":hola"));
    let users: i64 = alice
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'alice' AND application_name = 'wachat'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(users > 0, "the node is connected as alice");
}

#[test]
fn a_unix_socket_is_a_host_given_as_a_directory() {
    let cluster = Cluster::start_own();
    let dir = cluster.pg.own_dir().display().to_string();
    let port = cluster.pg.port;
    let store = format!("host={dir} port={port} user=wachat dbname=wachat");
    let mut db = Client::connect(&store).expect("the socket");
    let row = db.query_one("SELECT inet_server_port(), current_database()::text", &[]).unwrap();
    assert_eq!(row.get::<Option<i32>>(0), None, "not TCP");
    assert_eq!(row.get::<String>(1), "wachat");
    // A node on it, the URL form: the directory percent-encoded as host.
    let url = format!("postgres://wachat@{}:{port}/wachat", dir.replace('/', "%2F"));
    let node = node_on(&url);
    register(&node, "ana");
    register(&node, "bob");
    let mut bob = recv_conn(&node, "bob");
    assert!(send_conn(&node, "ana").request("MSG:bob:m1:hola").starts_with("OK:m1:"));
    assert!(bob.next_event().ends_with(":hola"));
}

/// A self-signed certificate in `dir`, as an operator makes one: its key
/// and its certificate.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, cert) = (dir.join("server.key"), dir.join("server.crt"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (apt-get install -y openssl)");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    (key, cert)
}

#[test]
fn with_sslmode_require_the_connections_are_encrypted_and_a_plain_one_is_refused() {
    let cluster = Cluster::start_own();
    let port = cluster.pg.port;
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = self_signed(dir.path());
    cluster.pg.write_data_file("server.key", &std::fs::read(&key).unwrap());
    cluster.pg.write_data_file("server.crt", &std::fs::read(&cert).unwrap());
    cluster.pg.client().batch_execute("ALTER SYSTEM SET ssl = on").unwrap();
    let tls = format!("postgres://wachat@127.0.0.1:{port}/wachat?sslmode=require");
    let rules =
        "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\nlocal all all trust\n";
    reload_hba(&cluster, rules, &tls);
    let mut db = Client::connect(&tls).unwrap();
    let ssl: bool =
        db.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap().get(0);
    assert!(ssl);
    // Answers larger than a TLS record, each within its deadline: the
    // client waits on the socket, and what TLS holds decrypted already
    // must not be waited for there.
    for round in 0..20 {
        db.set_deadline(Some(Instant::now() + Duration::from_secs(5)));
        let began = Instant::now();
        let rows = db
            .query("SELECT repeat(md5(i::text), 100) FROM generate_series(1, 2000) AS i", &[])
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(rows.len(), 2000);
        let big: String = db.query_one("SELECT repeat('x', 1000000)", &[]).unwrap().get(0);
        assert_eq!(big.len(), 1_000_000);
        assert!(began.elapsed() < Duration::from_secs(4), "round {round}: {:?}", began.elapsed());
    }
    db.set_deadline(None);
    let plain = format!("postgres://wachat@127.0.0.1:{port}/wachat?sslmode=disable");
    let e = Client::connect(&plain).err().expect("refused without TLS");
    assert!(e.to_string().contains("no encryption"), "{e}");
    // A node on it: every connection it makes is encrypted.
    let node = node_on(&tls);
    register(&node, "ana");
    register(&node, "bob");
    let mut bob = recv_conn(&node, "bob");
    assert!(send_conn(&node, "ana").request("MSG:bob:m1:hola").starts_with("OK:m1:"));
    assert!(bob.next_event().ends_with(":hola"));
    let plain: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.application_name = 'wachat' AND NOT s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(plain, 0);
}

/// A pooled connection idle for longer than its last borrower's
/// deadline is checked with a round trip of its own time, and used
/// again: not closed as if its server had not answered.
#[test]
fn a_pooled_connection_idle_past_its_last_borrowers_deadline_is_used_again() {
    let cluster = Cluster::start();
    let db = wachat::cluster::db::Db::new(&cluster.pg.url).unwrap();
    let backend = || -> i32 { db.get().unwrap().query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0) };
    let first = backend();
    // Idle past the deadline the first borrow had.
    std::thread::sleep(wachat::cluster::db::DEADLINE + Duration::from_millis(500));
    assert_eq!(backend(), first, "the idle connection was closed and another made");
}

/// A TLS front for the PostgreSQL at `pg_port` that passes on what the
/// server says gathered, up to 64 KB at a time, so that TLS cuts it into
/// records of 16 KB, its largest: as a server of another make writes,
/// or PostgreSQL 17 a large message (PostgreSQL 15, here, writes 8 KB
/// ones). Its port.
fn big_record_front(pg_port: u16, tls: Arc<rustls::ServerConfig>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let tls = tls.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut ssl_request = [0u8; 8];
                (&client).read_exact(&mut ssl_request)?;
                (&client).write_all(b"S")?;
                let client = Arc::new(Stream::accept(client, Some(&tls))?);
                let server = TcpStream::connect(("127.0.0.1", pg_port))?;
                let (from, mut to) = (client.clone(), server.try_clone()?);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut &*from, &mut to);
                    let _ = to.shutdown(Shutdown::Both);
                });
                // What comes within 5 ms of the last bytes, up to 64 KB,
                // in one write.
                server.set_read_timeout(Some(Duration::from_millis(5)))?;
                let (mut gathered, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
                loop {
                    let read = (&server).read(&mut chunk);
                    let ended = matches!(read, Ok(0));
                    match read {
                        Ok(0) => {}
                        Ok(n) => {
                            gathered.extend_from_slice(&chunk[..n]);
                            if gathered.len() < chunk.len() {
                                continue;
                            }
                        }
                        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(e) => return Err(e),
                    }
                    if !gathered.is_empty() {
                        client.write_all_by(&gathered, Instant::now() + Duration::from_secs(10))?;
                        gathered.clear();
                    }
                    if ended {
                        return client.shutdown(Shutdown::Both);
                    }
                }
            });
        }
    });
    port
}

/// The client waits for the rest of an answer on the socket, which does
/// not show what TLS holds decrypted already (libpq's own blocking wait
/// asks OpenSSL). Answers of every size through records of 16 KB come
/// whole, none left waiting for its deadline.
#[test]
fn answers_in_tls_records_larger_than_8_kb_come_whole_without_waiting_for_the_deadline() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = self_signed(dir.path());
    let tls = wachat::transport::tls::server_config(&cert, &key).unwrap();
    let front = big_record_front(cluster.pg.port, tls);
    let database = cluster.pg.url.rsplit('/').next().unwrap();
    let url = format!("postgres://wachat@127.0.0.1:{front}/{database}?sslmode=require&gssencmode=disable");
    let mut db = Client::connect(&url).unwrap();
    for size in (1_000..200_000).step_by(1_013) {
        db.set_deadline(Some(Instant::now() + Duration::from_secs(5)));
        let row = db.query_one("SELECT repeat('x', $1)", &[&(size as i32)]);
        let text: String = row.unwrap_or_else(|e| panic!("{size} bytes: {e}")).get(0);
        assert_eq!(text.len(), size);
    }
}

/// Resumes a process stopped by the test, whatever happens to the test.
struct Stopped(libc::pid_t);

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the server process this test stopped.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
fn a_call_on_a_server_that_hangs_returns_at_its_deadline_and_the_connection_is_closed() {
    let cluster = Cluster::start();
    let db = wachat::cluster::db::Db::new(&cluster.pg.url).unwrap();
    let mut borrowed = db.get().expect("a connection, armed with the deadline");
    let pid: i32 = borrowed.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    // Its server process paused: its kernel keeps the connection, nobody
    // answers, and libpq's call blocks.
    // SAFETY: kill(2) on the server process of this test's connection.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let _resume = Stopped(pid);
    let began = Instant::now();
    let e = borrowed.query_one("SELECT 1", &[]).expect_err("cut");
    let waited = began.elapsed();
    assert!(waited < wachat::cluster::db::DEADLINE + Duration::from_secs(10), "returned after {waited:?}");
    assert!(e.code().is_none(), "the connection's error, not the server's: {e}");
    assert!(borrowed.is_closed(), "{e}");
    drop(borrowed);
    // The next borrower connects anew.
    let mut next = db.get().expect("a new connection");
    assert_eq!(next.query_one("SELECT 1", &[]).unwrap().get::<i32>(0), 1);
}

/// A node frozen in the middle of a transaction: a checkpoint's, whose
/// fence holds the lease's row `FOR SHARE` until its commit. Its
/// connection goes through a proxy that the test freezes, so that the
/// server hears nothing, neither the commit nor the close at the
/// deadline. PostgreSQL ends the transaction once it has waited past the
/// client's deadline, and another node takes the lease; without that, the
/// row stays locked as long as the freeze lasts, and no node leads.
#[test]
fn a_transaction_its_frozen_client_left_open_holds_the_lease_no_longer_than_its_deadline() {
    use wachat::cluster::lease;
    let cluster = Cluster::start();
    // Host 1 the proxy, which takes the connection, host 2 the server direct.
    let (proxy, through) = crate::support::cluster::store_behind_a_proxy(&cluster);
    let mut other = Client::connect(&cluster.pg.url).unwrap();
    let epoch = lease::take(&mut other, "a", None).unwrap().expect("nobody held it");
    let deadline = Duration::from_secs(2);
    let mut frozen = Client::connect(&through).unwrap();
    frozen.set_deadline(Some(Instant::now() + deadline));
    let mut tx = frozen.transaction().unwrap();
    let fence = tx.query_opt("SELECT 1 FROM lease WHERE epoch = $1 FOR SHARE", &[&epoch]).unwrap();
    assert!(fence.is_some(), "the lease holds epoch {epoch}");
    proxy.freeze();
    let e = tx.commit().expect_err("the commit is held by the proxy");
    assert!(e.to_string().contains("no answer in time"), "{e}");
    // The next leader's take (here: the row's update) waits for the lock.
    let began = Instant::now();
    other.set_deadline(Some(began + Duration::from_secs(30)));
    let taken = other.execute("UPDATE lease SET epoch = epoch + 1, holder = 'b' WHERE epoch = $1", &[&epoch]);
    let waited = began.elapsed();
    assert_eq!(taken.unwrap_or_else(|e| panic!("the lease is still locked after {waited:?}: {e}")), 1);
    println!("the lease was taken {waited:?} after the frozen client gave up");
    assert!(waited < deadline + Duration::from_secs(5), "{waited:?}");
    proxy.thaw();
}
