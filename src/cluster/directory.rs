//! The directory: a node's picture of where the other nodes' users are,
//! device by device, which decides where an event committed here is sent
//! (`Node::deliver`), whether a user counts as online elsewhere, and
//! where a call is asked about. The rows it pictures are `sessions`'.
//!
//! Three things change it between scans: an `ON` notice (a device logged
//! in on another node), an `OFF` notice (it left), and a login here (that
//! device is no longer elsewhere). Once a second the heartbeat's scan
//! reads every live row and replaces the picture with what it read: that
//! catches a notice NATS lost, and a node that died without saying so.
//!
//! A scan reads, then replaces, and a notice heard in between was undone
//! by the replacement until the next scan, a second later (issue 54): a
//! phone that had just logged in on another node vanished from this
//! node's picture, its roommates here were told `LEFT` and then `JOINED`
//! again, and its new messages waited for the poll. So the changes made
//! while a scan is under way are kept, and made again on the scan's
//! picture before it replaces this one ([`Directory::scanned`]). They are
//! few: the notices of one scan's read (its deadline is 5 s).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use crate::store::UserId;

/// A user online on other nodes: its name, and each of its devices there.
#[derive(Clone)]
pub struct Remote {
    pub name: Arc<str>,
    /// By folded device name: the node holding it, and its epoch.
    pub devices: HashMap<Arc<str>, (Arc<str>, u64)>,
}

impl Remote {
    /// The nodes holding the user's devices, each once.
    pub fn nodes(&self) -> Vec<Arc<str>> {
        let mut nodes: Vec<Arc<str>> = self.devices.values().map(|(n, _)| n.clone()).collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }
}

/// The users online on other nodes, by id: a picture, or a scan's.
pub type Users = HashMap<UserId, Remote>;

/// The picture, read as [`Users`], and the changes made to it since the
/// scan under way began.
#[derive(Default)]
pub struct Directory {
    users: Users,
    /// `None` while no scan is under way.
    since_scan: Option<Vec<Change>>,
}

/// A change to the picture, kept to be made again on a scan's.
enum Change {
    On { user: UserId, name: Arc<str>, device: Arc<str>, at: (Arc<str>, u64) },
    Off { user: UserId, device: Arc<str>, node: Arc<str>, epoch: u64 },
    Here { user: UserId, device: Arc<str> },
}

impl Change {
    /// Makes the change on `users`: an `On` says whether the user is new
    /// there, an `Off` returns the user's entry if it was its last device.
    fn make(&self, users: &mut Users) -> (bool, Option<Remote>) {
        match self {
            Change::On { user, name, device, at } => {
                (insert(users, *user, name, device.clone(), at.clone()), None)
            }
            Change::Off { user, device, node, epoch } => (false, remove(users, *user, device, node, *epoch)),
            Change::Here { user, device } => {
                if let Some(remote) = users.get_mut(user) {
                    remote.devices.remove(device);
                    if remote.devices.is_empty() {
                        users.remove(user);
                    }
                }
                (false, None)
            }
        }
    }
}

impl Deref for Directory {
    type Target = Users;

    fn deref(&self) -> &Users {
        &self.users
    }
}

impl Directory {
    /// An `ON` notice: `user`'s `device` is online on another node
    /// (`at`: the node and the session's epoch), unless a newer session
    /// of it is known; true if the user was not online elsewhere before.
    pub fn on(&mut self, user: UserId, name: &Arc<str>, device: Arc<str>, at: (Arc<str>, u64)) -> bool {
        self.change(Change::On { user, name: name.clone(), device, at }).0
    }

    /// An `OFF` notice: `user`'s `device` left `node`, if its session
    /// there is `epoch`; the user's entry if that was its last device
    /// elsewhere.
    pub fn off(&mut self, user: UserId, device: &str, node: &str, epoch: u64) -> Option<Remote> {
        self.change(Change::Off { user, device: device.into(), node: node.into(), epoch }).1
    }

    /// `user`'s `device` logged in here: it is no longer elsewhere.
    pub fn here(&mut self, user: UserId, device: &Arc<str>) {
        self.change(Change::Here { user, device: device.clone() });
    }

    fn change(&mut self, change: Change) -> (bool, Option<Remote>) {
        let made = change.make(&mut self.users);
        if let Some(since_scan) = &mut self.since_scan {
            since_scan.push(change);
        }
        made
    }

    /// A scan is about to read the rows: the changes from now on are kept.
    pub fn scan_begins(&mut self) {
        self.since_scan = Some(Vec::new());
    }

    /// The scan read nothing: nothing to keep.
    pub fn scan_failed(&mut self) {
        self.since_scan = None;
    }

    /// The picture becomes `scanned`, the scan's, once the changes made
    /// since it began are made on it; returns the picture it replaces.
    pub fn scanned(&mut self, mut scanned: Users) -> Users {
        for change in self.since_scan.take().unwrap_or_default() {
            change.make(&mut scanned);
        }
        std::mem::replace(&mut self.users, scanned)
    }
}

/// Notes in `users` that `user`'s `device` is online on `at`'s node,
/// unless a newer session of it is known; true if the user was not in
/// `users` before.
pub fn insert(
    users: &mut Users,
    user: UserId,
    name: &Arc<str>,
    device: Arc<str>,
    at: (Arc<str>, u64),
) -> bool {
    let new = !users.contains_key(&user);
    let remote = users.entry(user).or_insert_with(|| Remote { name: name.clone(), devices: HashMap::new() });
    if remote.devices.get(&device).is_none_or(|(_, e)| *e < at.1) {
        remote.devices.insert(device, at);
    }
    new
}

/// Forgets `user`'s `device` on `node` if its session is `epoch`; the
/// user's entry if that was its last device elsewhere (returned).
fn remove(users: &mut Users, user: UserId, device: &str, node: &str, epoch: u64) -> Option<Remote> {
    let remote = users.get_mut(&user)?;
    if remote.devices.get(device).is_some_and(|(n, e)| **n == *node && *e == epoch) {
        remote.devices.remove(device);
    }
    if remote.devices.is_empty() { users.remove(&user) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &str, epoch: u64) -> (Arc<str>, u64) {
        (node.into(), epoch)
    }

    #[test]
    fn a_user_leaves_the_directory_with_its_last_device_elsewhere() {
        let mut d = Directory::default();
        let ana: Arc<str> = "ana".into();
        assert!(d.on(1, &ana, "laptop".into(), at("b", 3)));
        assert!(!d.on(1, &ana, "phone".into(), at("c", 4)));
        assert_eq!(d[&1].nodes().len(), 2);
        // An older session of the laptop changes nothing.
        d.on(1, &ana, "laptop".into(), at("c", 2));
        assert_eq!(&*d[&1].devices["laptop"].0, "b");
        assert!(d.off(1, "laptop", "c", 2).is_none(), "not that session");
        assert!(d.off(1, "laptop", "b", 3).is_none(), "the phone stays");
        assert_eq!(d[&1].nodes(), vec![Arc::<str>::from("c")]);
        assert!(d.off(1, "phone", "c", 4).is_some(), "the last device");
        assert!(d.is_empty());
    }

    /// The race of the module's docs: a scan read the rows before a
    /// phone's login on node b committed, and the phone's `ON` was heard
    /// before the scan replaced the picture.
    #[test]
    fn a_change_made_while_a_scan_reads_outlives_the_scan() {
        let (ana, bob): (Arc<str>, Arc<str>) = ("ana".into(), "bob".into());
        let mut d = Directory::default();
        d.on(1, &ana, "laptop".into(), at("b", 3));
        d.on(2, &bob, "laptop".into(), at("b", 5));
        d.scan_begins();
        // What the scan read: ana's laptop, not yet her phone; bob's laptop, still.
        let mut read = Users::new();
        insert(&mut read, 1, &ana, "laptop".into(), at("b", 3));
        insert(&mut read, 2, &bob, "laptop".into(), at("b", 5));
        // Meanwhile: ana's phone logged in on b, bob's laptop left, and
        // ana's laptop logged in here.
        d.on(1, &ana, "phone".into(), at("b", 4));
        assert!(d.off(2, "laptop", "b", 5).is_some());
        d.here(1, &"laptop".into());
        let old = d.scanned(read);
        assert_eq!(d.len(), 1, "bob stays gone");
        assert_eq!(d[&1].devices.keys().map(|k| &**k).collect::<Vec<_>>(), ["phone"], "the phone stays");
        assert_eq!(old.len(), 1, "the picture replaced had the same");
        // The next scan keeps nothing of this one's changes.
        d.scan_begins();
        d.scanned(Users::new());
        assert!(d.is_empty());
    }
}
