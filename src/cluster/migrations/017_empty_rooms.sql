-- Schema version 17 (issue 54): a room nobody is in is no room, on a
-- cluster as on a single server (src/store/meaning/rooms.rs,
-- `forgotten`). Before this version a `JOIN` refused after the batch had
-- made its room's row (the rooms-per-user limit) left that row live and
-- empty, so `ROOMINFO` answered "you are not in" where a single server
-- says "no room named", and the next `JOIN` found the refused joiner's
-- spelling. A batch now takes back every empty row it locked
-- (`Work::forget_empty`); this takes back those left before.
UPDATE rooms SET live = false
WHERE live AND NOT EXISTS (SELECT 1 FROM members m WHERE m.room = rooms.id);
