"""standin_sockets.py - TCP servers of the Renode stand-in. NOT RENODE.

Part of a test stand-in for Renode (see ./renode):

- ServerSocketTerminal: what `emulation CreateServerSocketTerminal PORT
  "NAME" [telnetMode]` creates in Renode (SocketServerProvider): it
  listens on PORT, takes one client at a time, sends the telnet
  negotiation bytes first unless telnetMode is false, and queues what the
  UART sends while no client is connected.
- GdbStub: a placeholder for `machine StartGdbServer PORT`: it listens and
  answers every remote-protocol packet with an empty reply ("not
  supported"); enough to show where the stub is, not a debugger.

Unlike Renode, which binds these ports on all interfaces, the stand-in
binds 127.0.0.1 only: it is a test tool.
"""

import queue
import socket
import threading

TELNET_INIT = bytes([255, 253, 0,    # IAC DO    BINARY
                     255, 251, 1,    # IAC WILL  ECHO
                     255, 251, 3,    # IAC WILL  SUPPRESS_GO_AHEAD
                     255, 252, 34])  # IAC WONT  LINEMODE


def listen(port):
    """A listening socket on 127.0.0.1:port, or OSError (e.g. in use)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
    except OSError:
        s.close()
        raise
    return s


class ServerSocketTerminal:
    def __init__(self, port, telnet=True):
        self.server = listen(port)
        self.telnet = telnet
        self.out = queue.Queue()      # bytes for the client
        self.on_receive = None        # fn(bytes): to the UART
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def send(self, data):
        for b in data:
            self.out.put(b)

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            done = threading.Event()
            w = threading.Thread(target=self._writer, args=(conn, done),
                                 daemon=True)
            w.start()
            self._reader(conn)
            done.set()
            w.join()
            conn.close()

    def _writer(self, conn, done):
        try:
            if self.telnet:
                conn.sendall(TELNET_INIT)
            while not done.is_set():
                try:
                    b = self.out.get(timeout=0.05)
                except queue.Empty:
                    continue
                buf = bytearray([b])
                while True:          # what else is queued, in one go
                    try:
                        buf.append(self.out.get_nowait())
                    except queue.Empty:
                        break
                conn.sendall(bytes(buf))
        except OSError:
            pass

    def _reader(self, conn):
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            fn = self.on_receive
            if fn is not None:
                fn(data)

    def close(self):
        self.stopped = True
        self.server.close()


class GdbStub:
    def __init__(self, port):
        self.port = port
        self.server = listen(port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while b"#" in buf and len(buf) >= buf.index(b"#") + 3:
                    end = buf.index(b"#") + 3
                    buf = buf[end:]
                    conn.sendall(b"+$#00")
                buf = buf.lstrip(b"+-")
