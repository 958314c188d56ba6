"""A push service on loopback for the kill -9 series (examples/federation_kill.py,
examples/cluster_failover.py ... push): HTTPS with a certificate `wachat cert`
made (which the servers trust with `--push-test-ca`), every push answered
`201 Created` and counted by its path, the time of each kept. It decrypts
nothing: what the series asks is whether pushes keep going while servers
are killed, not what they say (tests/chat/push.rs reads them).

    service = PushService(wachat, directory)
    service.endpoint("r0-lab2")      # https://127.0.0.1:PORT/push/r0-lab2
    service.ca                       # for --push-test-ca
    service.count(since=t)           # pushes received since t

Standard library only."""
import os, socket, ssl, subprocess, threading, time

# A browser's subscription keys (a point of P-256, 16 bytes of auth): the
# server only checks their form, and what it encrypts with them is not read.
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"


class PushService:
    def __init__(self, wachat, directory):
        out = os.path.join(directory, "push-ca")
        subprocess.run([wachat, "cert", "--host", "127.0.0.1", "--out", out], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ca = os.path.join(out, "cert.pem")
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.ca, os.path.join(out, "key.pem"))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.received = []  # (time, path)
        threading.Thread(target=self.serve, daemon=True).start()

    def endpoint(self, name):
        return f"https://127.0.0.1:{self.port}/push/{name}"

    def push_line(self, name):
        return f"PUSH:{P256DH}:{AUTH}:{self.endpoint(name)}"

    def count(self, since=0.0):
        with self.lock:
            return sum(1 for at, _ in self.received if at >= since)

    def paths(self):
        with self.lock:
            return {path for _, path in self.received}

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(conn,), daemon=True).start()

    def one(self, conn):
        conn.settimeout(10)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                head, body = data.split(b"\r\n\r\n", 1)
                lines = head.decode(errors="replace").split("\r\n")
                length = next((int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:")), 0)
                while len(body) < length:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    body += chunk
                with self.lock:
                    self.received.append((time.time(), lines[0].split(" ")[1]))
                tls.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (OSError, ssl.SSLError, ValueError, IndexError):
            pass
