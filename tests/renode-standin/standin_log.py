"""standin_log.py - the logger of the Renode stand-in. NOT RENODE.

Part of a test stand-in for Renode (see ./renode): Renode's one log
(renode-infrastructure src/Emulator/Main/Logging) as far as emufs reads
it, in the formats Renode's sources define:

- `logFile @PATH [flush]` (UserInterface/Commands/LoggerFileCommand.cs)
  replaces the backend named "file" with a FileBackend on PATH; the path
  is a SequencedFilePath (Utilities/FilePath.cs): whatever exists there is
  moved to PATH.N first (N one more than the largest numeric suffix), so
  a FIFO put there is moved away and a regular file created;
- FileBackend.cs writes "<timestamp>[<LEVEL>] <message>" a line, flushed
  after every line when `flush` is true, else every 5 s; the timestamp is
  the host's, "[HH:mm:ss.ffff] " (LogEntry.GetTimestampString, the
  default log-timestamps-type Host);
- TextBackend.FormatLogEntry: "<object>: <message>", the object's name
  without "sysbus." (LogEntry.ObjectName); the default level is Info
  (Logger.DefaultLogLevel).

Not modelled: several machines (Renode then prefixes "<machine>/"),
aggregation of repeated lines (" (N)"), levels other than Info, the
console backend (emufs runs Renode with --hide-log).
"""

import datetime
import os
import re
import threading


class FileBackend:
    def __init__(self, path, flush):
        self.flush = flush
        self.out = open(path, "w")

    def write(self, level, text):
        now = datetime.datetime.now()
        stamp = "[%s.%04d] " % (now.strftime("%H:%M:%S"),
                                now.microsecond // 100)
        self.out.write("%s[%s] %s\n" % (stamp, level, text))
        if self.flush:
            self.out.flush()

    def close(self):
        self.out.close()


def sequenced_path(path):
    """SequencedFilePath.Validate: move what is at path out of the way."""
    if not os.path.lexists(path):
        return
    d, name = os.path.split(path)
    last = 0
    for f in os.listdir(d or "."):
        m = re.fullmatch(re.escape(name) + r"\.(\d+)", f)
        if m:
            last = max(last, int(m.group(1)))
    new = "%s.%d" % (path, last + 1)
    os.rename(path, new)
    LOGGER.log(None, "INFO", "Old file %s moved to %s" % (path, new))


class Logger:
    def __init__(self):
        self.lock = threading.Lock()   # the backends and their files
        self.backends = {}             # name -> backend

    def set_file(self, path, flush):
        """logFile: the "file" backend, replaced (its file closed)."""
        with self.lock:
            old = self.backends.pop("file", None)
        if old is not None:
            old.close()
        sequenced_path(path)
        backend = FileBackend(path, flush)
        with self.lock:
            self.backends["file"] = backend

    def log(self, obj, level, message):
        """One entry; obj: the emitting object's name or None."""
        text = "%s: %s" % (obj, message) if obj else message
        with self.lock:
            for b in self.backends.values():
                b.write(level, text)


LOGGER = Logger()
