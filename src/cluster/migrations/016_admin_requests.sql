-- Schema version 16 (issue 54): the requests of a teacher's commands
-- (`wachat users add|import|passwd|admin|room|export --store`), left at
-- the cluster's door for a running node, as a single server's are left
-- in its data directory (`accounts.request`, src/store/door.rs).
--
-- The command inserts a row and waits for its `answer`; every node's
-- operator thread looks twice a second, and one takes the oldest row no
-- one took (`FOR UPDATE SKIP LOCKED`), makes the changes through its
-- backend (so they are the whole cluster's, told to members online on
-- any node), and writes the answer. The command deletes its row once
-- read, or when no node took it in time; rows a killed command left are
-- deleted by the next command an hour on.
-- (IF NOT EXISTS: a test replays migrations on a newer database.)
CREATE TABLE IF NOT EXISTS admin_requests (
    id       bigserial PRIMARY KEY,
    kind     text NOT NULL,
    body     bytea NOT NULL,
    asked_ms bigint NOT NULL,
    taken_by text,
    answer   bytea
);
