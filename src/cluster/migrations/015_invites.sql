-- Schema version 15 (issue 54): invite codes (`wachat users invite
-- --store`, protocol 1.2 `REDEEM`) kept where every node reads them, so a
-- code printed for a class lets a student in through any node, once.
-- A registration takes a code by locking its row, judging it by the rule
-- both stores follow (src/store/invites.rs, `judge`) and setting
-- `used_ms`, in one transaction; a failed registration sets it back.
-- (IF NOT EXISTS: a test replays migrations on a newer database.)
CREATE TABLE IF NOT EXISTS invites (
    code       text PRIMARY KEY,
    expires_ms bigint NOT NULL,
    used_ms    bigint
);
