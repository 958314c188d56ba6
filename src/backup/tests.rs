use std::fs;
use std::path::Path;

use super::*;
use crate::store::record::LOG_HEADER;

const SEGMENT: &str = "log/00000000000000000000.csv";

/// A data directory as a server leaves it: a log whose newest segment
/// ends in a torn line, a checkpoint, accounts, a file, and what a
/// backup leaves out.
fn data_dir(root: &Path) -> std::path::PathBuf {
    let data = root.join("data");
    fs::create_dir_all(data.join("log")).unwrap();
    fs::create_dir_all(data.join("files")).unwrap();
    fs::write(data.join(SEGMENT), format!("{LOG_HEADER}\nMSG,1,ana,bob,1\nMSG,2,ana,bob,2\nMSG,3,an"))
        .unwrap();
    fs::write(data.join("checkpoint-16.csv"), "kind,a\nEND,1,x\n").unwrap();
    fs::write(data.join("users.csv"), "name,email,hash,created\nana,,h,1\n").unwrap();
    fs::write(data.join("files/abc"), vec![7u8; 300_000]).unwrap();
    fs::write(data.join("link.key"), "a key some other part of the server keeps\n").unwrap();
    for left_out in ["wachat.lock", "ballast", "checkpoint-99.csv.tmp", "web.csv.new", "status.request"] {
        fs::write(data.join(left_out), "x").unwrap();
    }
    data
}

#[test]
fn a_backup_holds_every_file_but_the_left_out_and_the_log_up_to_its_last_whole_line() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let out = root.path().join("backup");
    let manifest = backup(&data, &out).unwrap();
    let mut paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["checkpoint-16.csv", "files/abc", "link.key", SEGMENT, "users.csv"]);
    let segment = fs::read_to_string(out.join(DATA).join(SEGMENT)).unwrap();
    assert_eq!(segment, format!("{LOG_HEADER}\nMSG,1,ana,bob,1\nMSG,2,ana,bob,2\n"));
    assert_eq!(manifest.log_end, "MSG,1,ana,bob,1\nMSG,2,ana,bob,2\n".len() as u64);
    assert_eq!(fs::read(out.join(DATA).join("files/abc")).unwrap(), vec![7u8; 300_000]);
    assert!(restore::verify(&out).is_ok());
}

#[test]
fn a_restore_puts_the_files_back_and_refuses_a_held_or_full_directory_without_force() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let out = root.path().join("backup");
    backup(&data, &out).unwrap();
    let target = root.path().join("restored");
    restore::restore(&target, &out, false).unwrap();
    assert_eq!(fs::read(target.join("users.csv")).unwrap(), fs::read(data.join("users.csv")).unwrap());
    assert_eq!(fs::read(target.join("link.key")).unwrap(), fs::read(data.join("link.key")).unwrap());
    assert!(!target.join("ballast").exists() && !target.join("status.request").exists());

    let err = restore::restore(&target, &out, false).unwrap_err().to_string();
    assert!(err.contains("is not empty") && err.contains("--force"), "{err}");
    fs::write(target.join("stray.csv"), "left by hand").unwrap();
    restore::restore(&target, &out, true).unwrap();
    assert!(!target.join("stray.csv").exists(), "--force empties the directory first");

    let held = crate::store::lock::DataLock::acquire(&target).unwrap();
    let err = restore::restore(&target, &out, true).unwrap_err().to_string();
    assert!(err.contains("in use by a running wachat server"), "{err}");
    drop(held);
}

#[test]
fn a_backup_changed_after_it_was_made_is_refused_and_nothing_is_restored() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let out = root.path().join("backup");
    backup(&data, &out).unwrap();
    let users = out.join(DATA).join("users.csv");
    let good = fs::read(&users).unwrap();
    fs::write(&users, String::from_utf8(good.clone()).unwrap().replace("ana", "eve")).unwrap();
    let target = root.path().join("restored");
    let err = restore::restore(&target, &out, false).unwrap_err().to_string();
    assert!(err.contains("does not verify") && err.contains("users.csv"), "{err}");
    assert!(!target.exists(), "nothing is touched before the backup verifies");

    fs::write(&users, &good).unwrap();
    fs::write(out.join(DATA).join("planted.csv"), "x").unwrap();
    let err = restore::restore(&target, &out, false).unwrap_err().to_string();
    assert!(err.contains("does not verify") && err.contains("planted.csv"), "{err}");
    fs::remove_file(out.join(DATA).join("planted.csv")).unwrap();
    fs::remove_file(out.join(DATA).join("files/abc")).unwrap();
    assert!(restore::restore(&target, &out, false).is_err(), "a file missing from the backup");
}

#[test]
fn a_backup_goes_into_a_new_or_empty_directory_outside_the_data() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let err = backup(&data, &data.join("inside")).unwrap_err().to_string();
    assert!(err.contains("inside the data directory"), "{err}");
    let err = backup(&data, &data.join("log")).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");
    let err = backup(&root.path().join("nothing"), &root.path().join("b")).unwrap_err().to_string();
    assert!(err.contains("not a wachat data directory"), "{err}");
    crate::store::door::mark_node(&data, "n1").unwrap();
    let err = backup(&data, &root.path().join("b")).unwrap_err().to_string();
    assert!(err.contains("pg_dump"), "{err}");
}

#[test]
fn the_erasures_read_before_and_after_the_log_are_kept_both() {
    let before = b"author,chat,id\nana,bob,1\nana,bob,2\n".to_vec();
    let after = b"author,chat,id\nana,bob,2\nana,bob,3\n".to_vec();
    let both = erasures(Some(before.clone()), Some(after)).unwrap();
    assert_eq!(String::from_utf8(both).unwrap(), "author,chat,id\nana,bob,1\nana,bob,2\nana,bob,3\n");
    assert_eq!(erasures(Some(before.clone()), None), Some(before.clone()));
    // A line caught half-appended is left out: "ana,bob,1" is not "ana,bob,12".
    let torn = b"author,chat,id\nana,bob,1".to_vec();
    let after = b"author,chat,id\nana,bob,12\n".to_vec();
    assert_eq!(
        String::from_utf8(erasures(Some(torn), Some(after)).unwrap()).unwrap(),
        "author,chat,id\nana,bob,12\n"
    );
    assert_eq!(erasures(None, None), None);
}
