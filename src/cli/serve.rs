//! `wachat serve` and `wachat migrate`: the server's configuration from
//! its flags, what the system's limits allow (said once, plainly), the
//! listeners, a cluster node when `--store` asks for one, and the wait
//! for a signal to stop.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use super::{Fsync, MigrateArgs, ServeArgs};
use crate::error::{Error, Result};
use crate::server::{self, Config, Server, listener};

#[cfg(feature = "cluster")]
pub(super) fn migrate(args: &MigrateArgs) -> Result<()> {
    match &args.from {
        Some(from) => crate::migrate::run(from, &args.to),
        None => crate::migrate::convert(&args.to),
    }
}

#[cfg(not(feature = "cluster"))]
pub(super) fn migrate(_args: &MigrateArgs) -> Result<()> {
    Err(Error::Usage(format!("migrate: {}", crate::error::NO_CLUSTER)))
}

/// A cluster node's port for the other nodes' links (`--node-port`, or
/// any free port on the send port's host, loopback if that is every
/// address): bound once, as the client ports are, so that a node that
/// starts again (a deposed leader) is on the same port.
fn bind_node_port(args: &ServeArgs, send: &TcpListener) -> Result<TcpListener> {
    let host = send.local_addr()?.ip();
    let host = if host.is_unspecified() { std::net::Ipv4Addr::LOCALHOST.into() } else { host };
    listener::bind(args.node_port.unwrap_or(SocketAddr::new(host, 0)))
}

/// Starts a server that is a node of a cluster (`--store`), on the node
/// port `bind_node_port` bound.
#[cfg(feature = "cluster")]
fn start_node(
    (send, recv, node_port): (TcpListener, TcpListener, &TcpListener),
    config: Config,
    args: &ServeArgs,
) -> Result<Server> {
    let node_port = node_port.try_clone()?;
    let options = crate::cluster::ClusterOptions {
        store: args.store.clone().unwrap_or_default(),
        node_advertise: args.node_advertise,
        tls: match &args.tls_cert {
            Some(cert) => Some(crate::federation::key::fingerprint(&crate::transport::tls::first_cert(
                cert,
                "--tls-cert",
            )?)),
            None => None,
        },
        node: args.node.clone(),
        data_dir: args.dir.data_dir.clone(),
        options: store_options(args),
        timeout: config.timeout,
    };
    let port = send.local_addr()?.port();
    // `wachat users --data-dir` on this directory is refused from now on:
    // the accounts are the database's.
    let node = args.node.clone().unwrap_or_else(|| crate::cluster::default_node_name(port));
    crate::store::door::mark_node(&args.dir.data_dir, &node)
        .map_err(|e| Error::io(format!("{}", args.dir.data_dir.display()), e))?;
    Server::start_with(send, recv, config, |router| crate::cluster::open(router, &options, port, node_port))
}

#[cfg(not(feature = "cluster"))]
fn start_node(
    _ports: (TcpListener, TcpListener, &TcpListener),
    _config: Config,
    _args: &ServeArgs,
) -> Result<Server> {
    Err(Error::Usage(format!("--store: {}", crate::error::NO_CLUSTER)))
}

/// `--store`: a connection string the cluster can use (both forms of a
/// multi-host string, `cluster::db::parse_store`), checked before anything starts.
#[cfg(feature = "cluster")]
fn check_store(store: &str) -> Result<()> {
    crate::cluster::db::parse_store(store)?;
    Ok(())
}

#[cfg(not(feature = "cluster"))]
fn check_store(store: &str) -> Result<()> {
    Err(Error::Usage(format!("--store {store}: {}", crate::error::NO_CLUSTER)))
}

/// `wachat serve`, in the order a reader can follow: check the flags, set
/// up the process, build the configuration, fit it to what the system
/// allows, start the server and its optional listeners (web, metrics),
/// then wait for a signal and shut down.
pub(super) fn serve(args: ServeArgs) -> Result<()> {
    if args.print_config {
        // A reader that stops early (`| grep -q`, `| head`) ends it quietly.
        return crate::display::print_lines(&args.settings);
    }
    if let Some(store) = &args.store {
        check_store(store)?;
    }
    if let Some(owner) = crate::sys::owner::foreign(&args.dir.data_dir) {
        return Err(Error::Usage(format!(
            "{} belongs to the user {name}, and this server runs as root: what it wrote there would be \
             root's, which {name} cannot read. Run the server as {name}: the Debian package's service \
             with `sudo systemctl start wachat`, or `sudo -u {name} wachat serve …`",
            args.dir.data_dir.display(),
            name = owner.name
        )));
    }
    prepare_process(&args)?;
    let config = fit_to_system(config(&args)?, args.max_connections.is_some());
    let tls = config.tls.is_some();
    let send = listener::bind(SocketAddr::new(args.host, args.send_port))?;
    let recv = listener::bind(SocketAddr::new(args.host, args.recv_port))?;
    let web = crate::web::bind(args.host, args.web_port)?;
    let node_port = match &args.store {
        Some(_) => Some(bind_node_port(&args, &send)?),
        None => None,
    };
    let mut stop =
        crate::sys::signals::Stop::listen().map_err(|e| Error::io("installing signal handlers", e))?;
    // A cluster's node that was deposed starts again on the same ports,
    // its node port included, as a follower (`cluster::node`); a single
    // server runs once.
    loop {
        let ports = (send.try_clone()?, recv.try_clone()?, node_port.as_ref());
        let mut server = start(ports, config.clone(), &args)?;
        let web_port = web.as_ref().and_then(|w| w.local_addr().ok()).map(|a| a.port());
        if let Some(web) = &web {
            serve_web(&mut server, web.try_clone()?, tls, &args)?;
        }
        if args.store.is_none() {
            let served = web_port.map(|port| crate::admin::web_port::Served { tls, port });
            crate::admin::web_port::record(&args.dir.data_dir, served);
        }
        if let Some(addr) = args.metrics {
            serve_metrics(&mut server, addr, &args)?;
        }
        if let (Some(peers), Some(name)) = (&args.peers, &args.name) {
            serve_links(&mut server, peers, name, &args)?;
        }
        server.open();
        let restart = wait_for(&mut stop, server.restart());
        server.shutdown();
        match restart {
            None => return Ok(()),
            Some(why) => log::warn!("starting again ({why})"),
        }
    }
}

/// What the process needs before any thread starts, and the flags that
/// contradict each other.
fn prepare_process(args: &ServeArgs) -> Result<()> {
    crate::sys::signals::survive_file_size_limit();
    crate::sys::limits::return_big_allocations();
    if args.fsync == Fsync::Never {
        log::warn!("--fsync never: an OK may be lost in a crash of the machine; only for measuring");
    }
    if args.auto_register && args.registration != server::registration::Registration::Open {
        return Err(Error::Usage("--auto-register creates accounts: it needs --registration open".into()));
    }
    Ok(())
}

/// The server's configuration, flag by flag.
fn config(args: &ServeArgs) -> Result<Config> {
    Ok(Config {
        registration: args.registration,
        timeout: Duration::from_secs(args.timeout),
        auto_register: args.auto_register,
        max_frame: args.max_frame,
        kdf_cost: args.kdf_cost,
        fsync: args.fsync == Fsync::Always,
        presence_limit: args.presence_limit,
        minute_ms: args.minute_ms.max(1),
        max_devices: args.max_devices.max(1),
        device_days: args.device_days,
        name_quarantine: crate::cli::days(args.name_quarantine_days, "--name-quarantine-days")?,
        max_connections: args.max_connections.unwrap_or(server::DEFAULT_MAX_CONNECTIONS),
        max_per_address: args.max_per_address,
        exempt: args.exempt.clone(),
        max_pending: args.max_pending,
        rate: args.rate,
        address_rate: args.address_rate,
        store: store_options(args),
        actions: server::ActionLimits {
            edit: Duration::from_secs(args.edit_minutes.saturating_mul(60)),
            delete: Duration::from_secs(args.delete_hours.saturating_mul(3600)),
        },
        rate_burst: args.rate_burst.unwrap_or_else(|| server::default_burst(args.rate)),
        files: server::FileLimits {
            max_size: args.max_file_mb * 1024 * 1024,
            upload_ttl: Duration::from_secs(args.upload_minutes.saturating_mul(60)),
        },
        ring_seconds: args.ring_seconds,
        turn: match (&args.turn, &args.turn_secret) {
            (Some(url), Some(secret)) => Some(server::turn::Turn::new(url, secret).map_err(Error::Usage)?),
            _ => None,
        },
        push_test_ca: args.push_test_ca.clone(),
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::transport::tls::server_config(cert, key)?),
            _ => None,
        },
        name: match (&args.name, &args.peers) {
            (Some(name), _) => {
                crate::protocol::names::check_name(name).map_err(|e| Error::Usage(format!("--name: {e}")))?;
                Some(name.clone())
            }
            (None, Some(_)) => {
                return Err(Error::Usage("--peers needs --name (this server's line of the roster)".into()));
            }
            (None, None) => None,
        },
        ..Config::new(&args.dir.data_dir)
    })
}

/// The store's part of the configuration, a single server's and a cluster
/// node's alike (a node writes no fsync of its own: `cluster::open`).
fn store_options(args: &ServeArgs) -> crate::store::StoreOptions {
    crate::store::StoreOptions {
        segment_size: args.segment_size,
        checkpoint_records: args.checkpoint_records,
        retain: args.retain_days.map(|days| Duration::from_secs(u64::from(days) * 86_400)),
        budget: crate::store::budget::Budget {
            user_quota: args.user_quota,
            inbox_max: args.inbox_max,
            min_free: args.min_free,
            link_queue_max: args.link_queue_max,
            peer_quota: args.peer_quota,
        },
        erase_interval: Duration::from_secs(args.erase_minutes.saturating_mul(60)),
        ..crate::store::StoreOptions::default()
    }
}

/// `config` with `max_connections` lowered to what the system's limits
/// (open files, memory) allow, said once. `asked`: the operator gave
/// `--max-connections`.
fn fit_to_system(config: Config, asked: bool) -> Config {
    let lingering = server::closer::max_lingering(config.max_connections);
    let (capacity, advice) = crate::sys::limits::connection_capacity(config.max_connections, lingering);
    // A newcomer on a laptop meets the system's limits before the default
    // --max-connections (20,000), and reads warnings as failures. So: one
    // plain line when the default does not fit but plenty does; the advice
    // as warnings when the operator asked for more than fits, or when what
    // fits is little.
    if capacity < config.max_connections && !asked && capacity >= FEW_CONNECTIONS {
        log::info!(
            "serving up to {capacity} connections (~{} users), what this system's limits allow \
             (see \"Limits\" in the README to raise them)",
            capacity / 2
        );
    } else {
        for line in &advice {
            log::warn!("limit: {line}");
        }
        if capacity < config.max_connections {
            log::warn!(
                "serving at most {capacity} connections instead of --max-connections {} \
                 (more would exceed the limits above); the rest get KO:BUSY",
                config.max_connections
            );
        }
    }
    Config { max_connections: capacity.min(config.max_connections), ..config }
}

/// Starts the server on its two bound ports, on a data directory or as a
/// cluster node; says where it listens and whether in clear.
fn start(
    (send, recv, node_port): (TcpListener, TcpListener, Option<&TcpListener>),
    config: Config,
    args: &ServeArgs,
) -> Result<Server> {
    let tls = config.tls.is_some();
    let server = match node_port {
        None => {
            crate::store::door::unmark_node(&args.dir.data_dir); // a node's directory no more
            Server::start(send, recv, config)?
        }
        Some(node_port) => start_node((send, recv, node_port), config, args)?,
    };
    match &args.store {
        None => log::info!("data directory: {}", args.dir.data_dir.display()),
        Some(store) => log::info!("cluster node on {store}"),
    }
    if tls {
        log::info!(
            "TLS on both ports ({})",
            args.tls_cert.as_ref().map_or(String::new(), |c| c.display().to_string())
        );
    } else if !args.host.is_loopback() {
        log::warn!(
            "listening on {} without TLS: passwords and messages travel in clear; \
             use --tls-cert and --tls-key (wachat cert makes them)",
            args.host
        );
    }
    log::info!("listening: send {}", server.send_addr());
    log::info!("listening: receive {}", server.recv_addr());
    // A teacher who forgot `--registration invite` (or set it)
    // sees it at once, not when the first student is refused.
    match args.registration {
        server::registration::Registration::Open => log::info!("registration: open (anyone may REGISTER)"),
        server::registration::Registration::Invite => log::info!(
            "registration: invite-only: a new account needs a code \
             (wachat users invite --count N --data-dir {})",
            args.dir.data_dir.display()
        ),
        server::registration::Registration::Closed => {
            log::info!("registration: closed: accounts are made by the teacher (wachat users add|import)")
        }
    }
    // A TURN server relays for every student who holds a credential:
    // whether it refuses the private networks is checked, and said.
    if let Some(turn) = &server.ctx().config.turn {
        server::turn::check::check_in_background(turn.clone());
    }
    Ok(server)
}

/// `--web-port`: the browser app on `web` (over TLS if `tls`), a thread
/// the server joins on shutdown.
fn serve_web(server: &mut Server, web: TcpListener, tls: bool, args: &ServeArgs) -> Result<()> {
    let addr = web.local_addr()?;
    let options = crate::web::WebOptions {
        origins: args.web_origin.clone(),
        trusted_proxies: args.trusted_proxy.clone(),
        hosts: args.web_host.clone(),
    };
    let thread = crate::web::spawn(web, server.ctx().clone(), options)?;
    server.adopt_listener(addr, thread);
    let scheme = if tls { "https" } else { "http" };
    log::info!("listening: web {scheme}://{addr} (the browser app)");
    Ok(())
}

/// 1.3 `--peers`: the class network's link port and dialers (§27).
fn serve_links(server: &mut Server, peers: &std::path::Path, name: &str, args: &ServeArgs) -> Result<()> {
    let options = crate::federation::Options {
        name: name.to_string(),
        peers: peers.to_path_buf(),
        link_port: SocketAddr::new(args.host, args.link_port),
        give_up: args.give_up,
        list_people: args.people_across,
    };
    let (federation, addr, thread) = crate::federation::start(server.ctx(), options)?;
    server.adopt_listener(addr, thread);
    let peers = federation.roster().peers.len();
    log::info!("listening: link {addr} ({} in a network of {} servers)", federation.me, peers + 1);
    Ok(())
}

/// `--metrics`: the Prometheus endpoint on its own port.
fn serve_metrics(server: &mut Server, addr: SocketAddr, args: &ServeArgs) -> Result<()> {
    let listener =
        TcpListener::bind(addr).map_err(|e| Error::io(format!("cannot listen on {addr} (--metrics)"), e))?;
    let addr = listener.local_addr()?;
    let access =
        crate::web::metrics::Access { allow: args.metrics_allow.clone(), hosts: args.web_host.clone() };
    let thread = crate::web::metrics::spawn(listener, server.ctx().clone(), access)?;
    server.adopt_listener(addr, thread);
    log::info!("listening: metrics http://{addr}/metrics");
    Ok(())
}

/// Below this many connections (half as many users, on two ports each),
/// the system's limits are worth a warning even if nobody asked for more.
const FEW_CONNECTIONS: usize = 1000;

/// Blocks until Ctrl+C (SIGINT) or SIGTERM (`None`), or until `restart`
/// says why the server must start again (a cluster's deposed leader).
fn wait_for(
    stop: &mut crate::sys::signals::Stop,
    restart: Option<crossbeam_channel::Receiver<String>>,
) -> Option<String> {
    // The wait is a statement of its own, never inside a `log::` argument:
    // those are not evaluated when the level is below `info`.
    let Some(restart) = restart else {
        let signal = stop.wait();
        log::info!("got signal {signal}");
        return None;
    };
    loop {
        if let Some(signal) = stop.asked() {
            log::info!("got signal {signal}");
            return None;
        }
        // A request to stop is looked for ten times a second meanwhile.
        match restart.recv_timeout(Duration::from_millis(100)) {
            Ok(why) => return Some(why),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                let signal = stop.wait();
                log::info!("got signal {signal}");
                return None;
            }
        }
    }
}
