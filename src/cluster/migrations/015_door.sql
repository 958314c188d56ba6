-- Schema version 15 (issue 54): the door, what an administrator decides
-- about who may come in, kept where every node reads it
-- (src/store/door.rs; a single server keeps the same in files).
--
-- Invite codes (`wachat users invite --store`, protocol 1.2 `REDEEM`): a
-- code printed for a class lets a student in through any node, once. A
-- registration takes a code by locking its row, judging it by the rule
-- both stores follow (src/store/invites.rs, `judge`) and setting
-- `used_ms`, in one transaction; a failed registration sets it back.
--
-- Disabled accounts (`wachat users disable --store`): a name each,
-- folded, as a single server's `disabled/<name>` files; every node
-- refuses its logins and closes its sessions.
-- (IF NOT EXISTS: a test replays migrations on a newer database.)
CREATE TABLE IF NOT EXISTS invites (
    code       text PRIMARY KEY,
    expires_ms bigint NOT NULL,
    used_ms    bigint
);
CREATE TABLE IF NOT EXISTS disabled (
    folded text PRIMARY KEY
);
