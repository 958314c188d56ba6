#!/usr/bin/env python3
"""A deliberately small wachat server: protocol version 1, in memory.

    python3 minimal_server.py [--send-port 6666] [--recv-port 9999] [--timeout 10]

A port the command line leaves out comes from WACHAT_SEND_PORT or
WACHAT_RECV_PORT when set, as it does for `wachat serve`.

It exists to keep `wachat conform` honest: a second implementation,
written from docs/PROTOCOL.md alone, that passes the core groups
(`wachat conform server --fast --only …`, everything of 1.0 but the
restart group: nothing survives a restart here). tests/tools/conform.rs runs it,
and copies of it with one planted bug each, to show that the suite finds
real mistakes and does not depend on wachat's own choices.

What it leaves out, on purpose: durability, password hashing (never do
this for real: keep a salted, slow hash), rate limits, BYE:SLOW, the
presence limit, and the 1.1/1.2 additions. One lock guards everything.
Standard library only."""
import os, re, socket, sys, threading, time

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
SEND_PORT = int(args.get("--send-port", os.environ.get("WACHAT_SEND_PORT", 6666)))
RECV_PORT = int(args.get("--recv-port", os.environ.get("WACHAT_RECV_PORT", 9999)))
TIMEOUT = float(args.get("--timeout", 10))
MAX_FRAME, MAX_TEXT = 16384, 4096
NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}\Z")
ROOM = re.compile(r"#[A-Za-z0-9_.-]{1,32}\Z")
MSG_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")

lock = threading.RLock()
users = {}  # folded name -> account
rooms = {"#general": {"name": "#general", "members": set()}}  # folded -> room
messages = []  # every message, oldest first
online = {}  # folded name -> its receive connection
last_ts = 0


def fold(name):
    return name.lower()


def now():
    """Unix milliseconds, never smaller than the previous ones."""
    global last_ts
    last_ts = max(last_ts, int(time.time() * 1000))
    return last_ts


class TooLong(Exception):
    pass


class Conn:
    """A socket that reads frames with a deadline and writes whole lines."""

    def __init__(self, sock):
        self.sock, self.buf, self.wlock = sock, b"", threading.Lock()
        self.last = time.monotonic()  # when the last complete frame came

    def frame(self, wait):
        """The next frame as bytes; None on close; socket.timeout after
        `wait` seconds since the last complete frame (dribbling is no help)."""
        while b"\n" not in self.buf:
            if len(self.buf) >= MAX_FRAME:
                raise TooLong()
            left = self.last + wait - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        if len(line) + 1 > MAX_FRAME:
            raise TooLong()
        self.last = time.monotonic()
        return line[:-1] if line.endswith(b"\r") else line

    def send(self, line):
        try:
            with self.wlock:
                self.sock.sendall(line.encode() + b"\n")
        except OSError:
            pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def text_len(text):
    """Bytes of an escaped text once unescaped; None for a bad escape."""
    if not re.fullmatch(r"(?:[^\\]|\\[\\n])*", text):
        return None
    return len(re.sub(r"\\(.)", "x", text).encode())


def login(conn, line):
    """A first frame: (account, None) once logged in, (None, closes?) else."""
    word = line.split(":", 1)[0]
    if word == "LOGIN":
        f = line.split(":", 2)
        if len(f) < 3 or not NAME.match(f[1]):
            return conn.send("KO:BAD_REQUEST:expected LOGIN:<user>:<password>"), False
        u = users.get(fold(f[1]))
        if not u or u["password"] != f[2]:
            return conn.send("KO:AUTH_FAILED:wrong user or password"), True
    elif word == "REGISTER":
        f = line.split(":", 3)
        if len(f) < 4 or not NAME.match(f[1]):
            return conn.send("KO:BAD_REQUEST:expected REGISTER:<user>:<email>:<password>"), False
        if fold(f[1]) in users:
            return conn.send("KO:USER_EXISTS:the name is taken"), False
        u = users[fold(f[1])] = {"name": f[1], "password": f[3], "seq": 0, "inbox": [],
                                 "sent": {}, "read": {}, "p2p": None}
        rooms.setdefault("#general", {"name": "#general", "members": set()})["members"].add(fold(f[1]))
    else:
        conn.send("KO:AUTH_REQUIRED:log in first")
        return None, True
    conn.send("OK:" + u["name"])
    return u, None


def push(u, line, msg=None):
    """Queues an event with the user's next seq, and sends it if online."""
    u["seq"] += 1
    ev = {"seq": u["seq"], "line": line.replace("{seq}", str(u["seq"]), 1), "msg": msg, "sent": False}
    u["inbox"].append(ev)
    if fold(u["name"]) in online:
        ev["sent"] = True
        online[fold(u["name"])].send(ev["line"])


def set_state(m, state):
    m["state"] = state
    push(users[fold(m["from"])], f"STATUS:{{seq}}:{m['to']}:{m['id']}:{state}:{now()}")


def room_of(name, u):
    """The room called `name` if `u` is in it, else None."""
    r = rooms.get(fold(name))
    return r if r and fold(u["name"]) in r["members"] else None


def conversation(u, chat):
    """The messages of a conversation of `u` with a user or a room."""
    me, other = fold(u["name"]), fold(chat)
    if chat.startswith("#"):
        return [m for m in messages if fold(m["to"]) == other]
    return [m for m in messages if {fold(m["from"]), fold(m["to"])} == {me, other} and not m["to"].startswith("#")]


def msg(u, line):
    f = line.split(":", 3)
    if len(f) < 4 or not (NAME.match(f[1]) or ROOM.match(f[1])) or not MSG_ID.match(f[2]):
        return "KO:BAD_REQUEST:expected MSG:<to>:<id>:<text>"
    _, to, mid, text = f
    n = text_len(text)
    if n is None or not 0 < n <= MAX_TEXT:
        return "KO:BAD_REQUEST:bad escape, or a text of 0 or more than 4096 bytes"
    if mid in u["sent"]:
        return u["sent"][mid]
    if to.startswith("#"):
        r = room_of(to, u)
        if not r:
            return f"KO:NOT_MEMBER:you are not in {to}"
        targets, to = [users[x] for x in r["members"] if x != fold(u["name"])], r["name"]
    else:
        if fold(to) not in users:
            return f"KO:UNKNOWN_USER:no user named {to}"
        targets, to = [users[fold(to)]], users[fold(to)]["name"]
    m = {"from": u["name"], "to": to, "id": mid, "ts": now(), "text": text, "state": "RECEIVED"}
    messages.append(m)
    u["sent"][mid] = f"OK:{mid}:{m['ts']}"
    for r in targets:
        push(r, f"MSG:{{seq}}:{u['name']}:{to}:{mid}:{m['ts']}:{text}", m)  # to the recipient
    return u["sent"][mid]


def read(u, chat, mid):
    conv = conversation(u, chat)
    mine = [m for m in conv if chat.startswith("#") or fold(m["to"]) == fold(u["name"])]
    at = next((i for i, m in enumerate(mine) if m["id"] == mid), None)
    if at is None or (chat.startswith("#") and not room_of(chat, u)):
        return f"KO:UNKNOWN_MESSAGE:no message {mid} from {chat} to you"
    u["read"][fold(chat)] = max(u["read"].get(fold(chat), -1), messages.index(mine[at]))
    if not chat.startswith("#") and mine[at]["state"] != "READ":
        for m in mine[:at]:
            m["state"] = "READ"
        set_state(mine[at], "READ")
    return "OK"


def chats(u):
    """Conversations with a message, most recent first, with unread counts."""
    seen = {}
    for i, m in enumerate(messages):
        if m["to"].startswith("#"):
            key = fold(m["to"]) if room_of(m["to"], u) else None
        elif fold(u["name"]) in (fold(m["from"]), fold(m["to"])):
            key = fold(m["to"]) if fold(m["from"]) == fold(u["name"]) else fold(m["from"])
        else:
            key = None
        if key:
            shown = rooms[key]["name"] if key.startswith("#") else users[key]["name"]
            unread = fold(m["from"]) != fold(u["name"]) and (
                i > u["read"].get(key, -1) if key.startswith("#") else m["state"] != "READ")
            count = seen.pop(key, (shown, 0))[1] + int(unread)
            seen[key] = (shown, count)
    return [f"{name}:{n}" for name, n in reversed(list(seen.values()))]


def request(u, line):
    """One request after login: (reply lines, close after?)."""
    word, _, rest = line.partition(":")
    f = line.split(":")
    if word == "MSG":
        return [msg(u, line)], False
    if word == "READ" and len(line.split(":", 2)) == 3:
        return [read(u, *line.split(":", 2)[1:])], False
    if line in ("USERS", "ROOMS", "CHATS"):
        if line == "USERS":
            rows = sorted((users[x]["name"] for x in online), key=str.lower)
        elif line == "ROOMS":
            mine = [r for r in rooms.values() if fold(u["name"]) in r["members"]]
            rows = [f"{r['name']}:{len(r['members'])}" for r in sorted(mine, key=lambda r: fold(r["name"]))]
        else:
            rows = chats(u)
        return [f"OK:{len(rows)}"] + rows, False
    if word in ("JOIN", "LEAVE") and len(f) == 2:
        if not ROOM.match(rest):
            return ["KO:BAD_REQUEST:a room is # and a name"], False
        r = rooms.setdefault(fold(rest), {"name": rest, "members": set()}) if word == "JOIN" else room_of(rest, u)
        if not r:
            return [f"KO:NOT_MEMBER:you are not in {rest}"], False
        (r["members"].add if word == "JOIN" else r["members"].discard)(fold(u["name"]))
        if not r["members"]:
            del rooms[fold(rest)]
        return ["OK"], False
    if word == "HISTORY" and len(f) == 3:
        if not f[2].isdigit():
            return ["KO:BAD_REQUEST:the limit must be a number"], False
        if f[1].startswith("#") and not room_of(f[1], u):
            return [f"KO:NOT_MEMBER:you are not in {f[1]}"], False
        if not f[1].startswith("#") and fold(f[1]) not in users:
            return [f"KO:UNKNOWN_USER:no user named {f[1]}"], False
        conv = conversation(u, f[1])
        rows = conv[max(0, len(conv) - int(f[2])):] if int(f[2]) else []
        return [f"OK:{len(rows)}"] + [f"{m['from']}:{m['to']}:{m['id']}:{m['ts']}:{m['state']}:{m['text']}"
                                      for m in rows], False
    if word == "P2P" and len(f) == 2 and rest.isdigit():
        u["p2p"] = int(rest)
        return ["OK"], False
    if word == "PEER" and len(f) == 2:
        peer = users.get(fold(rest))
        if not peer or not peer["p2p"] or fold(rest) not in online:
            return [f"KO:OFFLINE:{rest} is not connected"], False
        online[fold(rest)].send(f"P2P:{u['name']}:token{now()}")
        return [f"OK:127.0.0.1:{peer['p2p']}:token{last_ts}"], False
    if line in ("PING", "QUIT"):
        return ["OK"], line == "QUIT"
    return [f"KO:BAD_REQUEST:unknown request or wrong fields: {word}"], False


def serve_send(conn):
    u = None
    while True:
        try:
            raw = conn.frame(TIMEOUT)
        except TooLong:
            return conn.send("KO:TOO_LONG:a frame is at most 16384 bytes")
        except socket.timeout:
            return conn.send("KO:TIMEOUT:no request for too long")
        if raw is None:
            return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            conn.send("KO:BAD_REQUEST:not UTF-8")
            continue
        with lock:
            if u is None:
                u, closes = login(conn, line)
                if closes:
                    return
                continue
            if line.startswith(("LOGIN:", "REGISTER:")):
                replies, closes = ["KO:BAD_REQUEST:already logged in"], False
            else:
                replies, closes = request(u, line)
        for reply in replies:
            conn.send(reply)
        if closes:
            return


def presence(u, word):
    """JOINED/LEFT to the online users who share a room with `u`."""
    me = fold(u["name"])
    for other, c in online.items():
        if other != me and any(me in r["members"] and other in r["members"] for r in rooms.values()):
            c.send(f"{word}:{u['name']}")


def attach(conn, u):
    """Makes `conn` the user's receive connection and replays the inbox."""
    old = online.get(fold(u["name"]))
    online[fold(u["name"])] = conn
    if old:
        old.send("BYE:REPLACED")
        old.close()
    else:
        presence(u, "JOINED")
    for ev in u["inbox"]:  # replay
        ev["sent"] = True
        conn.send(ev["line"])


def serve_recv(conn):
    u = None
    try:
        while u is None:
            raw = conn.frame(TIMEOUT)
            if raw is None:
                return
            with lock:  # logged in and online at once: no event may slip between
                u, closes = login(conn, raw.decode("utf-8"))
                if u:
                    attach(conn, u)
            if closes:
                return
    except (TooLong, socket.timeout, UnicodeDecodeError):
        return
    me = fold(u["name"])
    pinged = False
    try:
        while True:
            try:
                raw = conn.frame(TIMEOUT if pinged else TIMEOUT / 2)
            except socket.timeout:
                if pinged:
                    return conn.send("BYE:TIMEOUT")
                pinged = True
                conn.send("PING")
                continue
            if raw is None:
                return
            pinged = False
            m = re.match(rb"ACK:(\d+)\Z", raw)
            if m:
                with lock:
                    upto = min(int(m[1]), u["seq"])
                    for ev in [e for e in u["inbox"] if e["seq"] <= upto]:
                        u["inbox"].remove(ev)
                        msg = ev["msg"]
                        if msg and not msg["to"].startswith("#") and msg["state"] == "RECEIVED":
                            set_state(msg, "DELIVERED")
    except (TooLong, OSError):
        return
    finally:
        with lock:
            if online.get(me) is conn:
                del online[me]
                presence(u, "LEFT")
        conn.close()


def listen(port, handler):
    sock = socket.create_server(("127.0.0.1", port))
    threading.Thread(target=accept, args=(sock, handler), daemon=True).start()
    return sock.getsockname()[1]


def accept(sock, handler):
    while True:
        s, _ = sock.accept()
        threading.Thread(target=serve, args=(s, handler), daemon=True).start()


def serve(s, handler):
    """Runs a connection, then closes it gently: a close with unread bytes
    would reset the connection and could lose the last reply (a KO)."""
    try:
        handler(Conn(s))
        s.shutdown(socket.SHUT_WR)
        s.settimeout(0.5)
        for _ in range(64):  # at most 4 MiB, then closed anyway
            if not s.recv(65536):
                break
    except OSError:
        pass
    s.close()


if __name__ == "__main__":
    send, recv = listen(SEND_PORT, serve_send), listen(RECV_PORT, serve_recv)
    print(f"listening: send {send} receive {recv}", flush=True)
    threading.Event().wait()
