//! 1.3 (§27, "Rooms"): the marker of a relayed author. A member server
//! takes from a room's home the posts of users of a third server, which
//! that third server never vouched for to it: only the home says they
//! wrote them. It stores such a post's text as `[relayed by <home>]
//! <text>`, so that every client, a 1.0 one too, shows whose word it is;
//! a 1.3 client draws the marker by the author ([`relayed_by`]).

use super::action::{Act, ActionId};
use super::escape::Text;

/// The marker's start; the home's name and [`END`] follow.
pub const START: &str = "[relayed by ";
/// The marker's end, before the post's own text.
pub const END: &str = "] ";

/// The text a member server keeps of a post by a third server's user
/// that `home` relayed: marked before its words (an edit's, `✎ <text>`,
/// after its `✎ `, so that the edited words are marked too); a reaction
/// or a deletion is kept as it is (no words of the author's). Too long
/// once marked: an error.
pub fn mark(home: &str, id: &str, text: &Text) -> Result<Text, String> {
    let plain = text.unescaped();
    let marker = format!("{START}{home}{END}");
    let marked = match ActionId::parse(id).map(|a| a.act) {
        None => format!("{marker}{plain}"),
        Some(Act::Edit) => match plain.strip_prefix("✎ ") {
            Some(words) => format!("✎ {marker}{words}"),
            None => return Ok(text.clone()),
        },
        Some(_) => return Ok(text.clone()),
    };
    Text::from_plain(&marked).map_err(|why| format!("the post, marked as relayed by {home}: {why}"))
}

/// For a message of `from` in the room `room` whose text (unescaped) is
/// `text`: the home that relayed it and its words without the marker,
/// if it bears the marker of the room's home and `from` is a user of
/// a third server (neither the home, nor a local name).
pub fn relayed_by<'a>(from: &str, room: &str, text: &'a str) -> Option<(&'a str, &'a str)> {
    let (_, home) = room.split_once('@').filter(|_| room.starts_with('#'))?;
    let (_, origin) = from.split_once('@')?;
    let rest = text.strip_prefix(START)?;
    let (named, words) = rest.split_once(END)?;
    (named.eq_ignore_ascii_case(home) && !origin.eq_ignore_ascii_case(home)).then_some((named, words))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(plain: &str) -> Text {
        Text::from_plain(plain).unwrap()
    }

    #[test]
    fn a_post_and_an_edit_are_marked_a_reaction_is_not() {
        assert_eq!(mark("lab2", "e1", &text("hi all")).unwrap().unescaped(), "[relayed by lab2] hi all");
        let edit = mark("lab2", "_e1795500000_e1", &text("✎ hi everyone")).unwrap();
        assert_eq!(edit.unescaped(), "✎ [relayed by lab2] hi everyone");
        let react = mark("lab2", "_r1795500000_e1", &text("👍 to: hi all")).unwrap();
        assert_eq!(react.unescaped(), "👍 to: hi all");
        assert!(mark("lab2", "e2", &text(&"x".repeat(super::super::MAX_TEXT))).is_err());
    }

    #[test]
    fn the_marker_is_read_only_for_a_third_server_s_user_in_a_room_of_its_home() {
        let marked = "[relayed by lab2] hi all";
        assert_eq!(relayed_by("eve@lab3", "#lab@lab2", marked), Some(("lab2", "hi all")));
        assert_eq!(relayed_by("zoe@lab2", "#lab@lab2", marked), None, "the home's own user");
        assert_eq!(relayed_by("ana", "#lab@lab2", marked), None, "a local user");
        assert_eq!(relayed_by("eve@lab3", "#lab@lab9", marked), None, "another home's name");
        assert_eq!(relayed_by("eve@lab3", "#lab", marked), None, "a room homed here");
        assert_eq!(relayed_by("eve@lab3", "#lab@lab2", "hi all"), None);
    }
}
