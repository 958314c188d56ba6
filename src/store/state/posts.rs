//! 1.3 (§27, "Rooms"): a user's posts to rooms of other servers that
//! wait for their home's copy.
//!
//! ana's `MSG:#lab@lab2:a1:…` is a `POST` record: it waits in lab2's
//! queue, and enters this server's copy of `#lab@lab2` when lab2's
//! ordered copy of it comes back. That copy names ana, a user of this
//! server, as its author, and is taken only if she made that post: the
//! home speaks for its room, not for this server's users. So each user
//! remembers the posts still waiting for their copy, by room and id, until
//! the copy comes (it is then in the room, and a duplicate of it is
//! dropped as any message the copy has) or the post bounces (`FAILED`:
//! the home never gets it, and a copy of it is refused).
//!
//! How long a post waits does not depend on what its author does
//! meanwhile: the home may be away for days while she writes thousands of
//! other messages, which push it out of her resend window
//! ([`super::DEDUP_WINDOW`]) but not out of here.
//!
//! The copy must also read as she wrote it: each post keeps the tag of
//! its text (`recent::tag` of its escaped form), and a copy with the same
//! id and another text is refused (the home may order her words, not
//! change them).
//!
//! Entries are found by the tag of the id (`recent::tag`) and compared
//! exactly, oldest first: copies come back in the order of the posts, so
//! the one a copy names is nearly always the first. They are kept in
//! checkpoints (`POSTED` rows, `record::across`) and rebuilt by the same
//! records at a start, so a restart knows them too.

use std::collections::VecDeque;
use std::sync::Arc;

use super::recent::tag;
use super::remote::{LINK_QUEUE_MAX, ROOM_QUEUE_MAX};

/// Most posts one user may have waiting for their copies. A post waits
/// first in the queue for its home (at most `--link-queue-max` frames,
/// 100,000 by default, all users together), then, once the home has it,
/// as its copy in the home's queue for this server (fewer than
/// [`ROOM_QUEUE_MAX`] frames, or the home is behind and does not queue
/// it). Past this many the oldest is forgotten, and its copy, if it ever
/// comes, is refused: that takes a user who writes more than this many
/// posts while the home holds the copies of older ones and never sends
/// them. A constant, not the flag, so that every start of the same log
/// remembers the same posts. Each costs ~100 bytes of memory, less than
/// its `POST` record takes on disk against its author's quota.
pub const POSTS_WAITING_MAX: usize = LINK_QUEUE_MAX as usize + ROOM_QUEUE_MAX as usize;

/// One post waiting for its copy.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Post {
    tag: u64,
    /// The copy's name, `#lab@lab2`.
    room: Arc<str>,
    id: Arc<str>,
    /// The tag of its text; `None` for a post remembered by a checkpoint
    /// written before texts were (its copy is taken on its id alone).
    text: Option<u64>,
}

/// A user's posts waiting for their copies, oldest first.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct Posts {
    waiting: VecDeque<Post>,
}

impl Posts {
    /// Remembers the post `id` to `room`, whose text has the tag `text`,
    /// forgetting the oldest one past [`POSTS_WAITING_MAX`].
    pub fn add(&mut self, room: &Arc<str>, id: &Arc<str>, text: Option<u64>) {
        if self.waiting.len() >= POSTS_WAITING_MAX {
            self.waiting.pop_front();
        }
        // Posts to one room follow each other: they share its name.
        let room = match self.waiting.back() {
            Some(last) if last.room == *room => last.room.clone(),
            _ => room.clone(),
        };
        self.waiting.push_back(Post { tag: tag(id), room, id: id.clone(), text });
    }

    /// Where the oldest post `id` to `room` waits, if it does.
    fn find(&self, room: &str, id: &str) -> Option<usize> {
        let tag = tag(id);
        self.waiting.iter().position(|p| p.tag == tag && *p.id == *id && p.room.eq_ignore_ascii_case(room))
    }

    /// Whether a post `id` to `room` waits for its copy.
    pub fn waits(&self, room: &str, id: &str) -> bool {
        self.find(room, id).is_some()
    }

    /// Whether a post `id` to `room` waits for its copy and reads `text`
    /// (escaped, as on the wire): `None` if none waits, `Some(false)` if
    /// one waits with another text.
    pub fn waits_with(&self, room: &str, id: &str, text: &str) -> Option<bool> {
        let post = &self.waiting[self.find(room, id)?];
        Some(post.text.is_none_or(|t| t == tag(text)))
    }

    /// The copy of the post `id` to `room` came, or the post bounced: it
    /// waits no more. False if it was not waiting.
    pub fn done(&mut self, room: &str, id: &str) -> bool {
        self.find(room, id).and_then(|at| self.waiting.remove(at)).is_some()
    }

    /// The posts waiting, oldest first: (room, id, text's tag), for
    /// checkpoints.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<str>, Option<u64>)> + '_ {
        self.waiting.iter().map(|p| (&p.room, &p.id, p.text))
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arc(s: &str) -> Arc<str> {
        s.into()
    }

    #[test]
    fn a_post_waits_until_its_copy_comes_once() {
        let mut posts = Posts::default();
        posts.add(&arc("#lab@lab2"), &arc("p0"), Some(tag("hi")));
        posts.add(&arc("#lab@lab2"), &arc("p1"), None);
        posts.add(&arc("#club@lab9"), &arc("p0"), Some(tag("hi")));
        assert!(posts.waits("#LAB@Lab2", "p0"), "room names ignore case");
        assert!(!posts.waits("#lab@lab2", "P0"), "ids do not");
        assert!(!posts.waits("#other@lab2", "p1"));
        assert_eq!(posts.waits_with("#lab@lab2", "p0", "hi"), Some(true));
        assert_eq!(posts.waits_with("#lab@lab2", "p0", "I cheated"), Some(false), "another text");
        assert_eq!(posts.waits_with("#lab@lab2", "p1", "anything"), Some(true), "a text not known");
        assert_eq!(posts.waits_with("#lab@lab2", "p9", "hi"), None);
        assert!(posts.done("#lab@lab2", "p0"));
        assert!(!posts.done("#lab@lab2", "p0"), "a second copy finds none");
        assert!(posts.waits("#club@lab9", "p0"), "the same id to another room still waits");
        let left: Vec<(&str, &str)> = posts.iter().map(|(r, i, _)| (&**r, &**i)).collect();
        assert_eq!(left, [("#lab@lab2", "p1"), ("#club@lab9", "p0")]);
    }

    #[test]
    fn the_oldest_post_is_forgotten_past_the_bound() {
        let (mut posts, room) = (Posts::default(), arc("#lab@lab2"));
        for i in 0..=POSTS_WAITING_MAX {
            posts.add(&room, &arc(&format!("p{i}")), None);
        }
        assert_eq!(posts.len(), POSTS_WAITING_MAX);
        assert!(!posts.waits("#lab@lab2", "p0"));
        assert!(posts.waits("#lab@lab2", "p1"));
        assert!(posts.waits("#lab@lab2", &format!("p{POSTS_WAITING_MAX}")));
        // One room's name is held once, not once per post.
        let names: std::collections::HashSet<*const u8> = posts.iter().map(|(r, _, _)| r.as_ptr()).collect();
        assert_eq!(names.len(), 1);
    }
}
