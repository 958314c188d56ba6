#!/usr/bin/env python3
"""A minimal wachat client in Python, standard library only (docs/PROTOCOL.md).

    WACHAT_PASSWORD=… python3 wachat_client.py USER [HOST] [SEND_PORT] [RECV_PORT] [--tls] [--ca FILE]

The password comes from WACHAT_PASSWORD, else a hidden prompt: never an
argument, which every user of the machine could read in the process list.
Type `bob hola` to write to bob, `#general hola` to a room; Ctrl+D quits.
Incoming messages and the ticks of yours are printed as they come, and
what is printed is read: the client says READ for it, once per chat
(cumulative), before your next message or within two seconds.
With a TLS server (`wachat serve --tls-cert`): `--tls` trusts the system's
certificates, `--ca cert.pem` the one `wachat cert` made."""
import getpass, os, re, socket, ssl, sys, threading, time

argv, ca = sys.argv[1:], None
if "--ca" in argv:
    at = argv.index("--ca")
    ca = argv[at + 1]
    del argv[at : at + 2]
tls = ca is not None or "--tls" in argv
args = [a for a in argv if a != "--tls"] + [None] * 4
user, host = args[0], args[1] or "127.0.0.1"
send_port, recv_port = int(args[2] or 6666), int(args[3] or 9999)
if user is None:
    sys.exit(__doc__.split("\n\n")[1].strip())  # the usage line of the docstring
try:
    password = os.environ.get("WACHAT_PASSWORD") or getpass.getpass(f"password for {user}: ")
except (EOFError, KeyboardInterrupt):
    sys.exit("no password: set WACHAT_PASSWORD or type it")
TICKS = {"DELIVERED": "✓✓", "READ": "✓✓ read"}
# READ is cumulative: a chat gets one for its newest message shown, at most
# every READ_EVERY seconds, never one per message (a busy room would cost a
# request per message to every reader). `unread` holds them meanwhile,
# under `marks`; `wire` lets one short send connection run at a time, so
# that a READ goes before the message typed after it.
READ_EVERY = 2
unread, marks, wire = {}, threading.Lock(), threading.Lock()
MAX_FRAME = 16384  # bytes in one frame, its newline included (docs/PROTOCOL.md)
# TLS checks the server's certificate and name; a failure is an error,
# never a quiet fall back to plaintext.
context = ssl.create_default_context(cafile=ca) if tls else None

def visible(text):
    """Control characters from the network shown, not obeyed: ESC is ^[.
    Invisible ones that reverse or hide text (U+202E, U+200B, …) are shown
    by their code, <U+202E>, as wachat's own clients do (src/display.rs)."""
    def show(m):
        n = ord(m[0])
        if n > 0x9F:
            return f"<U+{n:04X}>"
        return "^?" if n == 0x7F else ("^" if n < 0x80 else "M-^") + chr(n % 0x80 + 0x40)
    hidden = "\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    return re.sub(f"[{hidden}]", show, text)

def read_frame(lines):
    """The next frame, without its newline; None once the server closed.
    The network is hostile: at most MAX_FRAME bytes are read for a frame,
    and a longer one (or one cut short) is an error, not a memory hog."""
    raw = lines.readline(MAX_FRAME)
    if not raw:
        return None
    if not raw.endswith(b"\n"):
        raise ConnectionError(f"a frame longer than {MAX_FRAME} bytes, or cut short")
    return raw[:-1].decode("utf-8", "replace").removesuffix("\r")

def connect(port):
    """Connects to a port and logs in: LOGIN is the first frame on both.
    An OSError says why not (refused, unreachable, TLS, the login refused)."""
    sock = socket.create_connection((host, port), timeout=30)  # the server PINGs every 5 s
    if context:
        sock = context.wrap_socket(sock, server_hostname=host)
    lines = sock.makefile("rb")
    sock.sendall(f"LOGIN:{user}:{password}\n".encode())
    if not (reply := read_frame(lines) or "").startswith("OK"):
        raise PermissionError(reply)
    return sock, lines

def login(port):
    """connect(), or one line and a non-zero exit: no server there (or a
    wrong certificate) is an answer for the user, not a traceback."""
    try:
        return connect(port)
    except PermissionError as e:
        sys.exit(visible(f"login refused: {e}"))
    except OSError as e:  # refused, unreachable, timed out, TLS refused
        sys.exit(f"cannot connect to {host}:{port}: {e.strerror or e}")

def reads():
    """The READ frames owed, one per chat, and forgets them."""
    with marks:
        frames = "".join(f"READ:{chat}:{msg_id}\n" for chat, msg_id in unread.items())
        unread.clear()
    return frames

def say_reads():
    """Every READ_EVERY seconds, the READs owed, on a short connection of
    their own (the server away: they are dropped; the next message shown
    owes its chat's READ again)."""
    while True:
        time.sleep(READ_EVERY)
        with wire:
            if frames := reads():
                try:
                    sock, replies = connect(send_port)
                    sock.sendall(frames.encode())
                    for _ in range(frames.count("\n")):
                        read_frame(replies)  # OK, or a KO nobody needs to see
                    sock.close()
                except OSError:
                    pass

def receive(sock, lines):
    """The receive port: print each event, then ACK it; PING gets PONG."""
    try:
        events(sock, lines)
    except OSError as e:  # a frame too long, a timeout, a reset
        print(visible(f"(receive port closed: {e})"), flush=True)
        sock.close()

def events(sock, lines):
    while (line := read_frame(lines)) is not None:
        try:
            event(sock, line)
        except ValueError:  # too few fields: shown, and the next one read
            print(visible(f"(malformed: {line})"), flush=True)

def event(sock, line):
    kind, _, rest = line.partition(":")
    if kind == "MSG":  # MSG:<seq>:<from>:<to>:<id>:<ts>:<text>
        seq, sender, to, msg_id, _, text = rest.split(":", 5)
        text = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)
        # Its chat's READ is owed before it is shown: a message typed
        # once this one is seen goes after that READ.
        with marks:
            unread[to if to.startswith("#") else sender] = msg_id
        print(visible(f"{sender} → {to}: {text}"), flush=True)
        sock.sendall(f"ACK:{seq}\n".encode())  # ACK once it is shown (kept)
    elif kind == "STATUS":  # STATUS:<seq>:<peer>:<id>:<state>:<ts>
        seq, peer, msg_id, state, _ = rest.split(":", 4)
        # A state this client does not know (a newer server) is shown as it came.
        print(visible(f"  {TICKS.get(state, state)} {msg_id} (to {peer})"), flush=True)
        sock.sendall(f"ACK:{seq}\n".encode())
    elif kind == "PING":
        sock.sendall(b"PONG\n")
    else:  # JOINED, LEFT, BYE, P2P
        print(visible(f"({line})"), flush=True)

threading.Thread(target=receive, args=login(recv_port), daemon=True).start()
threading.Thread(target=say_reads, daemon=True).start()
for n, line in enumerate(sys.stdin, 1):
    to, _, text = line.rstrip("\n").partition(" ")
    msg_id = f"py{time.time_ns()}-{n}"  # unique per sender, across runs too
    escaped = text.replace("\\", "\\\\")  # a line has no newline to escape
    with wire:
        frames = reads()  # what was read goes first: the answer comes after it
        sock, replies = login(send_port)  # one short send connection per message
        sock.sendall(f"{frames}MSG:{to}:{msg_id}:{escaped}\n".encode())
        for _ in range(frames.count("\n")):
            read_frame(replies)
        reply = read_frame(replies) or ""  # OK:<id>:<ts> means stored: ✓
        sock.close()
    print(visible(f"  ✓ {msg_id}" if reply.startswith("OK") else f"  not sent: {reply}"), flush=True)
