//! `wachat migrate` (`--features cluster`): data moved into a cluster's
//! database, every node stopped, never by a node itself.
//!
//! - `wachat migrate --from DATA_DIR --to postgres://…`: a single server's
//!   data directory into an empty cluster ([`run`]);
//! - `wachat migrate --to postgres://…` alone: a cluster of an older
//!   schema converted in place ([`convert`]): the first design's rows
//!   (schema 18), or the files' descriptions of schema 22, into the log
//!   ([`first_design`]).
//!
//! A node knows only the current schema (`cluster::schema`): on an older
//! one it refuses to start and names this command. So what a database of
//! an older design held, and how it becomes records, is written here
//! alone, beside the cluster it fills rather than inside it.
//!
//! A cluster keeps what a single server keeps, the same way: so moving
//! one is copying its log. Its accounts (`users.csv`) and its records go
//! into the shared log as batches, at the positions they have in the
//! data directory; every node that starts applies them with the same code
//! as the single server did at each of its starts, and has what it had:
//! accounts with their password hashes, messages, rooms, marks, inboxes
//! with their sequence numbers, the devices of protocol 1.2 (each one's
//! position, and a linked one's token: `store::devices`) and the
//! disabled accounts, which are records too. The server's identity
//! and the time since which action ids are its own move with
//! them, so that clients keep their local folders.
//!
//! The data directory is first opened as its server opens it, and
//! stopped: what a directory of an older build keeps in files of its own
//! (its devices, disabled accounts, invite codes, the descriptions of
//! its files) becomes records of its log then, once (`LocalStore::open`,
//! `store::files::disk::open`), and is copied with the rest. The bytes of
//! its files go into `file_blobs` and `file_chunks` ([`copy_files`]).
//!
//! The cluster's log must be empty, and the data directory's whole: a
//! log whose beginning retention removed (`--retain-days`) cannot be
//! replayed. The single server must be stopped (its directory's lock).

pub mod first_design;

use std::path::Path;

use crate::cluster::db::Db;
use crate::cluster::db::postgres;
use crate::cluster::schema::{self, CURRENT, FILES_IN_TABLES, FIRST_DESIGN, SCHEMA};
use crate::error::{Error, Result};
use crate::store::disk::{Disk, RealDisk};
use crate::store::users::USERS_HEADER;

fn db_error(url: &str, doing: &str) -> impl Fn(postgres::Error) -> Error {
    let context = format!("migrate: {url}: {doing}");
    move |e| crate::cluster::db::error(context.clone(), &e)
}

/// `wachat migrate --from DATA_DIR --to URL`: the copy described above.
pub fn run(from: &Path, to: &str) -> Result<()> {
    let options = crate::store::StoreOptions { report: false, ..crate::store::StoreOptions::default() };
    let store = crate::store::LocalStore::open(from, options, Box::new(|_| {}))?;
    // An older build's descriptions of files become records too.
    crate::store::files::disk::open(from, &store)
        .map_err(|e| Error::io(format!("migrate: {}", from.join("files").display()), e))?;
    drop(store);
    let _lock = crate::store::lock::DataLock::acquire(from)?;
    let disk = RealDisk;
    let db = Db::new(to)?;
    let mut client = db.connect_at_start()?;
    schema::upgrade(&mut client, &db.url)?;
    // A running leader would go on from the state it holds, which has
    // none of what is copied here.
    let lease = crate::cluster::lease::read(&mut client).map_err(db_error(&db.url, "reading the lease"))?;
    if let Some(lease) = lease.filter(|lease| !lease.expired) {
        return Err(Error::Usage(format!(
            "migrate: {}: node {} leads this cluster (epoch {}); stop every node, migrate, then start them",
            db.url, lease.holder, lease.epoch
        )));
    }
    if crate::cluster::log::end(&mut client).map_err(db_error(&db.url, "reading the log"))? > 0 {
        return Err(Error::Usage(format!(
            "migrate: {}: the cluster's log holds records already; migrate into an empty database",
            db.url
        )));
    }
    let users = disk
        .read_all(&from.join("users.csv"))
        .map_err(|e| Error::io(format!("migrate: {}", from.display()), e))?;
    let users = users.strip_prefix(format!("{USERS_HEADER}\n").as_bytes()).unwrap_or(&users).to_vec();
    let segments = segments(&disk, &from.join("log"))?;
    if segments.first().is_some_and(|(base, _)| *base > 0) {
        return Err(Error::Usage(format!(
            "migrate: {}: the log's beginning was removed (--retain-days); a cluster needs it whole",
            from.display()
        )));
    }
    let mut tx = client.transaction().map_err(db_error(&db.url, "starting"))?;
    let (mut pos, mut batches, mut records) = (0u64, 0u64, 0u64);
    // The accounts go with the first row.
    let mut users = Some(users);
    for (base, path) in &segments {
        if *base != pos {
            return Err(Error::Usage(format!(
                "migrate: {}: a segment is missing before {base}",
                path.display()
            )));
        }
        let bytes = disk.read_all(path).map_err(|e| Error::io(format!("migrate: {}", path.display()), e))?;
        let body = bytes.splitn(2, |&b| b == b'\n').nth(1).unwrap_or(&[]);
        let accounts = users.take().map(|u| vec![(0, u)]).unwrap_or_default();
        batches += crate::cluster::log::write_unled(&mut tx, pos, accounts, body)
            .map_err(db_error(&db.url, "copying the log"))?;
        pos += body.len() as u64;
        records += body.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    // With the accounts if the log had no record.
    if let Some(users) = users {
        batches += crate::cluster::log::write_unled(&mut tx, pos, vec![(0, users)], &[])
            .map_err(db_error(&db.url, "copying the accounts"))?;
    }
    if let Some(id) = crate::store::server_id::read(&disk, from)? {
        tx.execute("UPDATE server SET id = $1", &[&id])
            .map_err(db_error(&db.url, "copying the server id"))?;
    }
    if let Some(since) = crate::store::actions_since::read_in(&disk, from)? {
        tx.execute("UPDATE server SET actions_since = $1", &[&(since as i64)])
            .map_err(db_error(&db.url, "copying since when action ids are the server's"))?;
    }
    let files = copy_files(&mut tx, &from.join("files"), &db.url)?;
    tx.commit().map_err(db_error(&db.url, "committing"))?;
    println!("log: {records} records in {batches} batches, up to position {pos}");
    println!("files: the bytes of {files} files");
    println!("migrated {} into {}", from.display(), db.url);
    Ok(())
}

/// `wachat migrate --to` alone: a database of the first design (schema
/// 18), or of schema 22, converted into the log, in one transaction, all
/// of it or nothing ([`first_design`]); what it did, said on stdout. Its
/// nodes must be stopped: a node of that build would go on writing rows
/// the conversion turns into records.
pub fn convert(to: &str) -> Result<()> {
    let db = Db::new(to)?;
    let (mut client, url) = (db.connect_at_start()?, &db.url);
    let mut tx = client.transaction().map_err(db_error(url, "starting"))?;
    let first = match schema::locked_version(&mut tx, url)? {
        FIRST_DESIGN => true,
        FILES_IN_TABLES => false,
        CURRENT => {
            return Err(Error::Usage(format!(
                "migrate: {url}: the database is at schema version {CURRENT} already: nothing to convert"
            )));
        }
        0 => {
            return Err(Error::Usage(format!(
                "migrate: {url}: no cluster there to convert (give --from DATA_DIR to move a single \
                 server's data directory in)"
            )));
        }
        other => return Err(schema::refused(url, other)),
    };
    let started = std::time::Instant::now();
    // The first design's `devices` is a table of the same name with other
    // columns: set aside, for `first_design` to re-key its rows by user name.
    let set_aside = if first { "ALTER TABLE devices RENAME TO devices_v18;" } else { "" };
    tx.batch_execute(&format!("{set_aside} {SCHEMA}")).map_err(db_error(url, "making the tables"))?;
    let mut moved = String::new();
    if first {
        match first_design::run(&mut tx, url)? {
            Some(done) => {
                println!(
                    "the first design's tables are now the log: {} messages, {} records in {} batches, in {} ms",
                    done.messages,
                    done.records,
                    done.batches,
                    started.elapsed().as_millis()
                );
                for difference in &done.differences {
                    println!("warning: an upgraded inbox differs: {difference}");
                }
            }
            None => println!("the first design's tables held no account"),
        }
        let disabled = first_design::disabled(&mut tx, url)?;
        let invites = first_design::invites(&mut tx, url)?;
        moved = format!("{disabled} disabled accounts, {invites} invite codes and ");
    }
    let files = first_design::files(&mut tx, url)?;
    println!("{moved}{files} descriptions of files moved into the log");
    schema::record(&mut tx, url)?;
    tx.commit().map_err(db_error(url, "committing the conversion"))?;
    println!("converted {url} to schema version {CURRENT}");
    Ok(())
}

/// The bytes of a data directory's files (`dir`: `store::files::disk`)
/// into `file_blobs` and `file_chunks`, cut as a cluster's parts are: a
/// complete file's, an upload's received so far, a thumbnail's. Their
/// descriptions are the log's, copied with it. How many files.
fn copy_files(tx: &mut postgres::Transaction, dir: &Path, url: &str) -> Result<usize> {
    use crate::protocol::files::PART_BYTES;
    if !dir.is_dir() {
        return Ok(0);
    }
    let read = |e| Error::io(format!("migrate: {}", dir.display()), e);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    // A file's bytes before its thumbnail, whose rows refer to them.
    names.sort_by_key(|name| (name.ends_with(".thumb"), name.clone()));
    let mut files = 0;
    for name in names {
        let (id, thumb) = match name.split_once('.') {
            None => (name.as_str(), false),
            Some((id, "part")) => (id, false),
            Some((id, "thumb")) => (id, true),
            Some(_) => continue,
        };
        let bytes = std::fs::read(dir.join(&name)).map_err(read)?;
        if !thumb {
            tx.execute(
                "INSERT INTO file_blobs (file, received) VALUES ($1, $2)",
                &[&id, &(bytes.len() as i64)],
            )
            .map_err(db_error(url, "copying a file"))?;
            files += 1;
        }
        for (i, chunk) in bytes.chunks(PART_BYTES).enumerate() {
            tx.execute(
                "INSERT INTO file_chunks (file, thumb, off, data) VALUES ($1, $2, $3, $4)",
                &[&id, &thumb, &((i * PART_BYTES) as i64), &chunk],
            )
            .map_err(db_error(url, "copying a file"))?;
        }
    }
    Ok(files)
}

/// The log's segment files, oldest first: (position of the first record, path).
fn segments(disk: &dyn Disk, dir: &Path) -> Result<Vec<(u64, std::path::PathBuf)>> {
    let names = disk.list(dir).map_err(|e| Error::io(format!("migrate: {}", dir.display()), e))?;
    let mut found: Vec<(u64, std::path::PathBuf)> = names
        .iter()
        .filter_map(|name| Some((name.strip_suffix(".csv")?.parse().ok()?, dir.join(name))))
        .collect();
    found.sort();
    Ok(found)
}
