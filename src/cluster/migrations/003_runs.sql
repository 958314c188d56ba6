-- wachat's cluster schema, version 3: fewer row writes per message.
--
-- Version 1 wrote, for each direct message, its row and three index
-- entries, an inbox event for the recipient (inserted, then deleted on
-- ACK), a STATUS event for the sender (the same), and the counters: about
-- six row writes, PostgreSQL's CPU the limit (docs/CLUSTER.md, "Figures").
-- Version 3:
--
-- * An inbox holds **runs** of events, not one row per event. A run is
--   `count` consecutive sequence numbers of one user that point at
--   consecutive messages of one **stream** — a direction of a direct
--   conversation (`sender` → `recipient`) or a room — from message number
--   `ord` on. A burst of 50 messages from ana to bob is one run in bob's
--   inbox, and its 50 DELIVERED ticks one run in ana's. The messages
--   themselves are read from `messages` when a run is replayed.
-- * `messages` loses its primary key index (nothing looks a message up by
--   `id` any more: runs and READs find messages by stream and number) and
--   its (LEAST, GREATEST, id) index becomes the stream's unique key
--   (sender, recipient, ord); `HISTORY` of a chat reads both directions.
--   Two index entries per message instead of three.
-- * `last_msg` of directions and rooms goes: the newest message of a
--   stream is the one numbered `sent - 1` (or `count - 1`), found by key,
--   so a batch no longer asks for message ids before writing.

-- Runs replace single events. Every version-1 event becomes a run of one.
ALTER TABLE events RENAME TO events_v1;
ALTER TABLE events_v1 RENAME CONSTRAINT events_pkey TO events_v1_pkey;
CREATE TABLE events (
    user_id    bigint   NOT NULL,
    seq        bigint   NOT NULL,  -- the run's first sequence number
    count      integer  NOT NULL CHECK (count > 0),
    kind       smallint NOT NULL,  -- 0 MSG, 1 STATUS DELIVERED, 2 STATUS READ
    sender     bigint,             -- direct stream: sender → recipient
    recipient  bigint,
    room       bigint,             -- room stream
    ord        bigint   NOT NULL,  -- the number of the run's first message in its stream
    ts         bigint   NOT NULL,  -- a STATUS's time (a MSG carries its own)
    PRIMARY KEY (user_id, seq),
    CHECK ((room IS NULL) = (recipient IS NOT NULL AND sender IS NOT NULL))
);
INSERT INTO events (user_id, seq, count, kind, sender, recipient, room, ord, ts)
    SELECT e.user_id, e.seq, 1, e.kind,
           CASE WHEN m.room IS NULL THEN m.sender END, m.recipient, m.room, m.ord, e.ts
    FROM events_v1 e JOIN messages m ON m.id = e.message;
DROP TABLE events_v1;

-- Messages: found by stream and number; `id` only orders a chat's two
-- directions (and CHATS), so it keeps its sequence but no index.
DROP INDEX messages_direct;
DROP INDEX messages_room;
ALTER TABLE messages DROP CONSTRAINT messages_pkey;
CREATE UNIQUE INDEX messages_direct ON messages (sender, recipient, ord) WHERE recipient IS NOT NULL;
CREATE UNIQUE INDEX messages_room ON messages (room, ord) WHERE room IS NOT NULL;

ALTER TABLE directions DROP COLUMN last_msg;
ALTER TABLE rooms DROP COLUMN last_msg;
