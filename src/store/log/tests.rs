//! Tests of the log: positions across segments, a torn last line, retention.

use super::*;
use crate::store::sim_disk::SimDisk;

fn records(n: std::ops::Range<u32>) -> Vec<u8> {
    n.map(|i| format!("ACK,{i},ana,,,,{i}\n")).collect::<String>().into_bytes()
}

fn all(log: &Log, from: Pos) -> Vec<(Pos, String)> {
    let mut out = Vec::new();
    log.scan(from, |pos, line| {
        out.push((pos, line.to_string()));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn positions_run_across_segments_and_read_back() {
    let disk = SimDisk::new();
    let dir = Path::new("/data/log");
    let (log, mut writer) = Log::open(Arc::new(disk.clone()), dir, 100).unwrap();
    for k in 0..10 {
        writer.append(&records(k * 5..k * 5 + 5)).unwrap();
        writer.sync().unwrap();
    }
    assert!(log.segment_count() > 3, "rolled at 100 bytes");
    let lines = all(&log, 0);
    assert_eq!(lines.len(), 50);
    for (pos, line) in &lines {
        assert_eq!(log.read_line(*pos).unwrap().as_deref(), Some(line.as_str()));
    }
    let from = lines[17].0;
    assert_eq!(all(&log, from), lines[17..]);
    // A reopen sees the same records, and appends after them.
    drop(writer);
    let (log, mut writer) = Log::open(Arc::new(disk.clone()), dir, 100).unwrap();
    assert_eq!(all(&log, 0), lines);
    writer.append(&records(50..51)).unwrap();
    assert_eq!(all(&log, 0).len(), 51);
}

#[test]
fn a_torn_last_line_is_cut_and_a_power_cut_keeps_what_was_synced() {
    let disk = SimDisk::new();
    let dir = Path::new("/log");
    let (_, mut writer) = Log::open(Arc::new(disk.clone()), dir, 1 << 20).unwrap();
    writer.append(&records(0..3)).unwrap();
    writer.sync().unwrap();
    writer.append(b"ACK,3,ana,,,,3\nACK,4,an").unwrap();
    drop(writer);
    disk.power_cut();
    let (log, _) = Log::open(Arc::new(disk.clone()), dir, 1 << 20).unwrap();
    assert_eq!(all(&log, 0).len(), 3, "only what was synced");
    let (_, mut writer) = Log::open(Arc::new(disk.clone()), dir, 1 << 20).unwrap();
    writer.append(b"ACK,3,ana,,,,3\nACK,4,an").unwrap();
    drop(writer);
    let (log, _) = Log::open(Arc::new(disk.clone()), dir, 1 << 20).unwrap();
    assert_eq!(all(&log, 0).len(), 4, "the torn line is gone");
}

#[test]
fn old_segments_go_only_when_old_enough_and_covered() {
    let disk = SimDisk::new();
    let (log, mut writer) = Log::open(Arc::new(disk.clone()), Path::new("/l"), 60).unwrap();
    for k in 0..6 {
        writer.append(&records(k * 2..k * 2 + 2)).unwrap();
    }
    let before = log.segment_count();
    let lines = all(&log, 0);
    assert_eq!(log.remove_old(lines[4].0, 3).unwrap(), 0, "nothing older than ts 3 that is covered");
    let start = log.remove_old(lines[4].0, 1000).unwrap();
    assert!(start > 0 && start <= lines[4].0);
    assert!(log.segment_count() < before);
    assert_eq!(log.read_line(0).unwrap(), None, "a removed record reads as gone");
    assert_eq!(all(&log, 0).len(), lines.iter().filter(|(p, _)| *p >= start).count());
}
