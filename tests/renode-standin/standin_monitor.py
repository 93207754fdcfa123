"""standin_monitor.py - the monitor of the Renode stand-in. NOT RENODE.

Part of a test stand-in for Renode (see ./renode): the subset of Renode's
monitor (renode-infrastructure, src/Emulator/Extensions/UserInterface)
that emufs uses, printing what Renode prints:

- the tokenizer's token kinds (strings in '' or "", @paths with "\\ " for
  a space, 0x hex, decimal, true/false, literals, ';' between commands);
- commands: mach (create/add/set/clear), peripherals, start, pause, quit,
  version, include (i), help, Save @FILE, Load @FILE, logFile @FILE
  [flush] (standin_log.py);
- objects: machine (LoadPlatformDescription, Reset, StartGdbServer),
  emulation (CreateServerSocketTerminal), connector (Connect), sysbus and
  every peripheral by path: a bare path prints the help text
  (Monitor.PrintMonitorInfo), `path Property` reads, `path Property value`
  writes (or reads, as Renode does, when the property cannot be set),
  `path Method args` calls;
- values as Monitor.PrintActionResult prints them: integers as 0x hex
  padded to their width, booleans True/False, enums followed by their
  possible values, lists in [ ... ] ten items a line, "\\r\\n" after each;
- errors as the monitor writes them (WriteError, no separator).
"""

import json
import os
import re

from standin_log import LOGGER
from standin_machine import (Enum, INT_TYPES, Machine, MonitorError,
                             Peripheral)
import standin_sockets


class Token:
    def __init__(self, kind, value, original):
        self.kind = kind
        self.value = value
        self.original = original


def _string_value(s):
    return re.sub(r"\\(.)", r"\1", s[1:-1])


# In Renode's order (Tokenizer.CreateTokenizer); None: no token.
TOKENS = [
    (re.compile(r"#.*"), "comment", None),
    (re.compile(r":.*"), "comment", None),
    (re.compile(r"`.*?`"), "exec", lambda s: s[1:-1]),
    (re.compile(r"\$([0-9]|[a-zA-Z]|_|\.)+"), "var", lambda s: s[1:]),
    (re.compile(r"\["), "lbrace", None),
    (re.compile(r"\]"), "rbrace", None),
    (re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'"), "string", _string_value),
    (re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"'), "string", _string_value),
    (re.compile(r"<\s*(0x[0-9a-fA-F]+|[+-]?\d+)\s*,\s*"
                r"(0x[0-9a-fA-F]+|[+-]?\d+)\s*>"), "range", None),
    (re.compile(r"@(?:(?!;)((\\ )|\S))+"), "path",
     lambda s: s[1:].replace("\\ ", " ")),
    (re.compile(r"0x[0-9a-fA-F]+"), "hex", lambda s: int(s, 16)),
    (re.compile(r"[+-]?\d+\.\d*"), "float", float),
    (re.compile(r"[+-]?\d+"), "int", int),
    (re.compile(r"(?i)(true|false)"), "bool", lambda s: s.lower() == "true"),
    (re.compile(r"="), "eq", None),
    (re.compile(r"\?="), "eq", None),
    (re.compile(r";"), "split", None),
    (re.compile(r"[\w\.\-\?]+"), "literal", lambda s: s),
    (re.compile(r"\s+"), None, None),
]


def tokenize(line):
    """Tokens, or (None, offset) where tokenizing stopped."""
    out, pos = [], 0
    while pos < len(line):
        for rx, kind, conv in TOKENS:
            m = rx.match(line, pos)
            if not m or not m.group(0):
                continue
            text = m.group(0)
            pos = m.end()
            if kind is not None and kind != "comment":
                out.append(Token(kind, conv(text) if conv else text, text))
            break
        else:
            return None, pos
    return out, None


# ---- values ------------------------------------------------------------

def type_name(t):
    return t.name if isinstance(t, Enum) else t


def convert(tok, typ):
    """Monitor.ConvertValue for the types the stand-in has."""
    v = tok.value
    name = type_name(typ)
    if isinstance(typ, Enum):
        if tok.kind in ("literal", "string"):
            if v not in typ.values:
                raise MonitorError("Enum value %s is not defined for %s!"
                                   % (v, typ.name))
            return v
        if tok.kind in ("int", "hex") and 0 <= v < len(typ.values):
            return typ.values[v]
        raise MonitorError("Enum value %s is not defined for %s!"
                           % (tok.original, typ.name))
    if name in INT_TYPES:
        if tok.kind not in ("int", "hex"):
            raise MonitorError("Cannot implicitly convert type '%s' to "
                               "'%s'" % (_cs_type(tok), name))
        bits, signed = INT_TYPES[name]
        lo = -(1 << (bits - 1)) if signed else 0
        hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        if not lo <= v <= hi:
            raise MonitorError("Value was either too large or too small "
                               "for %s." % ("an " + name if name[0] in
                                            "IU" else "a " + name))
        return v
    if name == "Boolean":
        if tok.kind != "bool":
            raise MonitorError("Cannot implicitly convert type '%s' to "
                               "'bool'" % _cs_type(tok))
        return v
    if name == "IBusPeripheral":         # by its path; the bus checks it
        if tok.kind == "literal":
            return v
        raise MonitorError("Cannot convert to IBusPeripheral")
    if name in ("String", "ReadFilePath"):
        if tok.kind in ("string", "literal", "path"):
            return v
        raise MonitorError("Cannot implicitly convert type '%s' to "
                           "'string'" % _cs_type(tok))
    raise MonitorError("Cannot convert to %s" % name)


def _cs_type(tok):
    return {"int": "long", "hex": "ulong", "bool": "bool",
            "float": "decimal"}.get(tok.kind, "string")


def format_result(result, typ=None, endl="\r\n"):
    """Monitor.PrintActionResult."""
    if isinstance(result, bool):
        out = ("True" if result else "False") + endl
    elif isinstance(result, int):
        bits = INT_TYPES.get(type_name(typ) or "Int32", (32, True))[0]
        out = "0x%0*X%s" % (bits // 4, result & ((1 << bits) - 1), endl)
    elif isinstance(result, list):
        out = "[\r\n"
        for i, item in enumerate(result, 1):
            out += format_result(item, None, "") + ", "
            if i % 10 == 0:
                out += "\r\n"
        out += "\r\n]" + endl
    elif isinstance(result, tuple):
        out = "(%s)%s" % (", ".join(str(x) for x in result), endl)
    else:
        out = "%s%s" % (result, endl)
    if isinstance(typ, Enum):
        out += "\nPossible values are:\n"
        out += "".join("\t%s (%s)\n" % (v, v) for v in typ.values)
        out += "\n"
    return out


def help_text(name, methods, props):
    """Monitor.PrintMonitorInfo: methods, then properties."""
    out = ""
    if methods:
        out += "\nThe following methods are available:\n"
        for m in sorted(methods, key=lambda m: m.name):
            ps = []
            for p in m.params:
                s = "%s %s" % (p[0], p[1])
                if len(p) > 2:
                    s += " = " + p[2]
                ps.append(s)
            out += " - %s %s (%s)\n" % (m.ret, m.name, ", ".join(ps))
        out += ("\n\rUsage:\n\r %s MethodName param1 param2 ...\n\r\n"
                % name)
    if props:
        out += "\nThe following properties are available:\n"
        for p in sorted(props, key=lambda p: p.name):
            out += " - %s %s\n" % (p.type_name, p.name)
            out += "     available for "
            if p.get:
                out += "'get'"
            if p.get and p.set:
                out += " and "
            if p.set:
                out += "'set'"
            out += "\n"
        out += ("\n\rUsage:\n\r - get: %s PropertyName\n\r - set: %s "
                "PropertyName Value\n\r\n" % (name, name))
    return out


def print_tree(node, pattern, out):
    """ITreePrintNode.PrintTree: '  ' then a 4-column block per level."""
    def indents(pat):
        blocks = {"full": "├── ", "end": "└── ", "straight": "│   ",
                  "empty": "    "}
        return "  " + "".join(blocks[p] for p in pat)

    def with_block(pat, sign):
        new = list(pat)
        if new:
            new[-1] = {"full": "straight", "end": "empty"}.get(new[-1],
                                                                new[-1])
        return new + [sign]

    out.append(indents(pattern) + "%s (%s)" % (node.name, node.type_name))
    children = sorted(node.children, key=lambda c: c.name)
    new = with_block(pattern, "straight" if children else "empty")
    for note in node.notes:
        out.append(indents(new) + note)
    out.append(indents(new))
    for i, child in enumerate(children):
        new[-1] = "end" if i == len(children) - 1 else "full"
        print_tree(child, new, out)


# ---- objects the monitor binds ------------------------------------------

class Bound(Peripheral):
    """machine, emulation, connector: objects with methods, no tree."""

    def __init__(self, type_name_, name):
        self.type_name = type_name_
        self.name = name
        self.notes = []
        self.children = []
        self.props = {}
        self.methods = {}


class Monitor:
    def __init__(self, recorder=None):
        self.machines = {}            # name -> Machine, in creation order
        self.current = None
        self.externals = {}           # name -> ServerSocketTerminal
        self.quit_requested = False
        self.contents = ""
        self.error = ""

    # ---- interaction: what ExecuteCommand returns ------------------------

    def write(self, s):
        self.contents += s

    def write_line(self, s=""):
        self.contents += s + "\n"

    def write_error(self, s):
        self.error += s               # CommandInteractionWrapper: Append

    def clear(self):
        self.contents = ""
        self.error = ""

    # ---- parsing -----------------------------------------------------------

    def parse(self, line):
        """Monitor.Parse: False when a command failed."""
        if not line.strip():
            return True
        tokens, stop = tokenize(line)
        if tokens is None:
            self.write_error("Could not tokenize here:")
            self.write_error(line)
            self.write_error("^".rjust(stop + 1))
            return False
        groups, cur = [], []
        for t in tokens:
            if t.kind == "split":
                groups.append(cur)
                cur = []
            else:
                cur.append(t)
        groups.append(cur)
        for g in groups:
            if g and not self.parse_tokens(g):
                return False
        return True

    def parse_tokens(self, toks):
        cmd = " ".join(t.original for t in toks)
        try:
            return self.execute(toks)
        except MonitorError as e:
            self.write_error("There was an error executing command '%s'"
                             % cmd)
            self.write_error(str(e))
            return False

    def execute(self, toks):
        head = toks[0]
        if head.kind != "literal":
            self.write_error("No such command or device: %s"
                             % head.original)
            return False
        name, args = head.value, toks[1:]
        commands = {
            "mach": self.cmd_mach, "peripherals": self.cmd_peripherals,
            "peri": self.cmd_peripherals, "start": self.cmd_start,
            "s": self.cmd_start, "pause": self.cmd_pause,
            "p": self.cmd_pause, "quit": self.cmd_quit, "q": self.cmd_quit,
            "version": self.cmd_version, "include": self.cmd_include,
            "i": self.cmd_include, "help": self.cmd_help,
            "Save": self.cmd_save, "Load": self.cmd_load,
            "logFile": self.cmd_logfile, "logF": self.cmd_logfile,
        }
        if name in commands:
            return commands[name](args)
        obj = self.lookup(name)
        if obj is None:
            self.write_error("No such command or device: %s" % name)
            return False
        self.device_action(obj, name, args)
        return True

    def lookup(self, name):
        m = self.current
        if name == "machine":
            return self.machine_object() if m else None
        if name == "emulation":
            return self.emulation_object()
        if name == "connector":
            return self.connector_object()
        return m.peripheral(name) if m else None

    # ---- commands ------------------------------------------------------------

    def cmd_mach(self, args):
        if len(args) == 1 and args[0].value in ("create", "clear"):
            if args[0].value == "clear":
                self.current = None
            else:
                self.add_machine("machine-%d" % len(self.machines), True)
            return True
        if (len(args) == 2 and args[0].value in ("set", "add", "create")
                and args[1].kind == "string"):
            act, nm = args[0].value, args[1].value
            if act == "set":
                if nm not in self.machines:
                    self.write_error("Machine %s not found." % nm)
                else:
                    self.current = self.machines[nm]
                return True
            if nm in self.machines:
                raise MonitorError("Machine with name %s already exists."
                                   % nm)
            self.add_machine(nm, act == "create" or self.current is None)
            return True
        self.write_error("Bad parameters for command mach %s"
                         % " ".join(a.original for a in args))
        return False

    def add_machine(self, name, select):
        m = Machine(name)
        self.machines[name] = m
        if select:
            self.current = m

    def cmd_peripherals(self, args):
        m = self.current
        if m is None:
            self.write_error("Select active machine first.")
            return True
        self.write_line("Available peripherals:")
        self.write_line()
        if m.sysbus is not None:
            lines = []
            print_tree(m.sysbus, [], lines)
            for ln in lines:
                self.write_line(ln)
        return True

    def cmd_start(self, args):
        for m in self.machines.values():
            m.start()
        return True

    def cmd_pause(self, args):
        for m in self.machines.values():
            m.pause()
        return True

    # Save @FILE / Load @FILE: the whole emulation. Renode pauses it for
    # the save and goes on as it was; Load replaces the emulation with the
    # saved one, paused, with no machine selected in the monitor. The
    # file is the stand-in's own (JSON), not Renode's format.
    def cmd_save(self, args):
        if len(args) != 1 or args[0].kind != "path":
            self.write_error("Bad parameters for command Save")
            return False
        state = {nm: m.saved_state() for nm, m in self.machines.items()}
        try:
            with open(args[0].value, "w") as f:
                json.dump(state, f)
        except OSError as e:
            self.write_error("There was an error executing command 'Save'")
            self.write_error(str(e))
            return False
        return True

    def cmd_load(self, args):
        if len(args) != 1 or args[0].kind != "path":
            self.write_error("Bad parameters for command Load")
            return False
        try:
            with open(args[0].value) as f:
                state = json.load(f)
            if set(state) != set(self.machines):
                raise ValueError("the saved emulation has other machines")
            for nm, st in state.items():
                self.machines[nm].restore_state(st)
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.write_error("There was an error executing command 'Load'")
            self.write_error(str(e))
            return False
        self.current = None
        return True

    def cmd_logfile(self, args):
        if (not 1 <= len(args) <= 2 or args[0].kind not in ("path", "string")
                or len(args) == 2 and args[1].kind != "bool"):
            self.write_error("Bad parameters for command logFile")
            return False
        try:
            LOGGER.set_file(args[0].value, len(args) == 2 and args[1].value)
        except OSError as e:
            raise MonitorError(e.strerror or str(e))
        return True

    def cmd_quit(self, args):
        self.quit_requested = True
        return True

    def cmd_version(self, args):
        self.write_line("Renode stand-in for the emufs tests "
                        "(tests/renode-standin, not Renode)")
        return True

    def cmd_help(self, args):
        self.write_line("Available commands (stand-in subset): help, "
                        "include, logFile, mach, pause, peripherals, quit, "
                        "start, version")
        return True

    def cmd_include(self, args):
        if len(args) != 1 or args[0].kind != "path":
            self.write_error("Bad parameters for command include")
            return False
        return self.run_script(args[0].value)

    def run_script(self, path):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            self.write_error("Could not read %s: %s" % (path, e.strerror))
            return False
        for ln in lines:
            if not self.parse(ln):
                return False
        return True

    # ---- machine, emulation, connector ------------------------------------

    def machine_object(self):
        m = self.current
        o = Bound("Machine", "machine")
        o.add_method("Void", "LoadPlatformDescription",
                     [("ReadFilePath", "platformFile")],
                     lambda p: self.load_platform(m, p))
        o.add_method("Void", "Reset", [], m.reset)
        o.add_method("Void", "Pause", [], m.pause)
        o.add_method("Void", "Start", [], m.start)
        o.add_method("Void", "StartGdbServer",
                     [("Int32", "port"),
                      ("Boolean", "autostartEmulation", "True"),
                      ("String", "cpuCluster", '""')],
                     lambda port, auto=True, cl="":
                     self.start_gdb(m, port))
        o.add_prop("IsPaused", "Boolean", lambda: not m.running)
        return o

    def load_platform(self, m, path):
        if not os.path.exists(path):
            raise MonitorError("Could not find file '%s'" % path)
        m.load_platform(path)

    def start_gdb(self, m, port):
        if m.gdb is not None:
            raise MonitorError("GDB server already started for this "
                               "machine on port :%d" % port)
        try:
            m.gdb = standin_sockets.GdbStub(port)
        except OSError as e:
            raise MonitorError("Could not start GDB server: %s"
                               % e.strerror)

    def emulation_object(self):
        o = Bound("Emulation", "emulation")
        o.add_method("Void", "CreateServerSocketTerminal",
                     [("Int32", "port"), ("String", "name"),
                      ("Boolean", "telnetMode", "True"),
                      ("Boolean", "flushOnConnect", "False")],
                     self.create_terminal)
        o.add_prop("MachinesCount", "Int32", lambda: len(self.machines))
        return o

    def create_terminal(self, port, name, telnet=True, flush=False):
        if not 0 <= port <= 65535:
            raise MonitorError("Port must be between 0 and 65535")
        if name in self.externals:
            raise MonitorError("External named '%s' already exists" % name)
        try:
            self.externals[name] = standin_sockets.ServerSocketTerminal(
                port, telnet)
        except OSError as e:
            raise MonitorError(e.strerror or str(e))

    def connector_object(self):
        o = Bound("EmulationManager.Connector", "connector")
        o.add_method("Void", "Connect",
                     [("IEmulationElement", "emulationElement"),
                      ("IExternal", "connectable")], None)
        return o

    def connect(self, args):
        m = self.current
        if len(args) != 2:
            raise MonitorError("Parameters did not match the signature")
        periph = m.peripheral(args[0].value) if m else None
        term = self.externals.get(args[1].value)
        if periph is None or term is None or not hasattr(periph, "send"):
            raise MonitorError("Could not connect %s to %s"
                               % (args[0].original, args[1].original))
        periph.terminal = term
        term.on_receive = periph.receive

    # ---- device actions (Monitor.ExecuteDeviceAction) ------------------

    def device_action(self, obj, name, args):
        if not args:
            self.write(help_text(name, [x for ms in obj.methods.values()
                                        for x in ms],
                                 list(obj.props.values())))
            return
        member = args[0]
        if member.kind != "literal":
            raise MonitorError("Bad syntax")
        rest = args[1:]
        if obj.name == "connector" and member.value == "Connect":
            self.connect(rest)
            return
        with self.lock_of(obj):
            if member.value in obj.methods:
                result, typ = self.call(obj, name, member.value, rest)
            elif member.value in obj.props:
                p = obj.props[member.value]
                if rest and p.set is not None:
                    p.set(convert(rest[0], p.typ))
                    result, typ = None, None
                elif p.get is not None:
                    result, typ = p.get(), p.typ
                else:
                    raise MonitorError("Could not execute this action on "
                                       "property %s" % p.name)
            else:
                raise MonitorError("%s does not provide a field, method or "
                                   "property %s." % (name, member.value))
        if result is not None:
            self.write(format_result(result, typ))

    def lock_of(self, obj):
        m = self.current
        return m.lock if m is not None else _NoLock()

    def call(self, obj, name, member, args):
        for meth in sorted(obj.methods[member], key=lambda m: len(m.params)):
            required = [p for p in meth.params if len(p) == 2]
            if not len(required) <= len(args) <= len(meth.params):
                continue
            try:
                vals = [convert(a, p[0])
                        for a, p in zip(args, meth.params)]
            except MonitorError:
                continue
            result = meth.fn(*vals)
            if isinstance(result, list):       # GetGPIOs: tuples
                result = ["(%s, %s)" % t for t in result]
            return result, None
        self.write(help_text(name, obj.methods[member], []))
        raise MonitorError("Parameters did not match the signature")


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
