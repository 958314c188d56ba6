-- Schema version 10: blocks and chat preferences (protocol 1.2, §22), as
-- a single server's BLOCK and PREF records (src/store/prefs.rs holds the
-- rules both apply). A row per block, and a row per chat whose
-- preference is not the default (every message notifies, not pinned).
-- `folded` is the chat as the user named it, lowercased: `bob`, `#lab3`.
-- (IF NOT EXISTS: a test replays migrations on a newer database.)
CREATE TABLE IF NOT EXISTS blocks (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, blocked)
);
CREATE TABLE IF NOT EXISTS prefs (
    user_id bigint  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folded  text    NOT NULL,
    chat    text    NOT NULL,
    level   text    NOT NULL,
    pinned  boolean NOT NULL,
    PRIMARY KEY (user_id, folded)
);
-- Who blocked a user (MEMBERS shows them as UNKNOWN to it).
CREATE INDEX IF NOT EXISTS blocks_blocked ON blocks (blocked);
