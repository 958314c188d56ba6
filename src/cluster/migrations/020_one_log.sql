-- Schema version 20: the tables of the cluster's first design go. Until
-- version 18 a cluster kept what a single server keeps as rows of its
-- own (accounts, inboxes and their events, rooms and members, the two
-- directions of each direct chat, messages, rules, settings, sessions);
-- since version 19 it keeps the single server's log (`log`). Just before
-- this file runs, `cluster::upgrade` wrote what those rows held into the
-- log, as the records a single server would have written (in the same
-- transaction: an upgrade that fails leaves the database as it was).
-- The files, their chunks and carriers, invite codes, disabled accounts,
-- the teacher's requests, the devices and the server's identity stay.
DROP TABLE IF EXISTS events, inboxes, members, room_rules, rooms, directions, messages,
    settings, device_sessions, sessions, nodes, users CASCADE;
