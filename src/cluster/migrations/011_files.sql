-- Schema version 11: photos and files in chats (protocol 1.2, §21), so
-- that any node serves any file. A single server keeps them in
-- <data>/files/ (src/store/files/disk.rs); a cluster keeps the same
-- things here (src/cluster/files.rs), and src/store/files/mod.rs holds
-- the rules both follow. Names are kept as written and, in *_key
-- columns, folded (lowercased) for lookups.
CREATE TABLE IF NOT EXISTS files (
    id        text    PRIMARY KEY,          -- 128 random bits in hex
    owner     text    NOT NULL,             -- the uploader, as registered
    owner_key text    NOT NULL,
    name      text    NOT NULL,             -- shown only, never a path
    size      bigint  NOT NULL,
    sha256    text    NOT NULL,
    type      text    NOT NULL,             -- an image type or application/octet-stream
    complete  boolean NOT NULL DEFAULT false,
    created   bigint  NOT NULL,             -- Unix ms of the UPLOAD
    received  bigint  NOT NULL DEFAULT 0    -- bytes in file_chunks so far
);
CREATE INDEX IF NOT EXISTS files_owner ON files (owner_key);
CREATE INDEX IF NOT EXISTS files_uploads ON files (created) WHERE NOT complete;
-- The bytes, a row per PART (at most 12,000 bytes each), and the
-- thumbnail's (thumb = true) cut the same way: a FETCH reads one or two
-- rows, never the whole file.
CREATE TABLE IF NOT EXISTS file_chunks (
    file  text    NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    thumb boolean NOT NULL,
    off   bigint  NOT NULL,
    data  bytea   NOT NULL,
    PRIMARY KEY (file, thumb, off)
);
-- Photos and archives do not compress: stored as they are, out of line.
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
-- The messages that carry a file: a DELETE of the last one removes it.
CREATE TABLE IF NOT EXISTS file_carriers (
    file       text NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    sender     text NOT NULL,
    chat       text NOT NULL,               -- a user or #room, as events show it
    msg        text NOT NULL,               -- the message's id
    sender_key text NOT NULL,
    chat_key   text NOT NULL,
    PRIMARY KEY (sender_key, chat_key, msg)
);
CREATE INDEX IF NOT EXISTS file_carriers_file ON file_carriers (file);
