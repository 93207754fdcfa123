"""standin_machine.py - the board of the Renode stand-in. NOT RENODE.

Part of a test stand-in for Renode (see ./renode): a fixed board modelled
on Renode's stm32f4_discovery-kit.repl, as far as emufs's tests look at
it, with the type names, members and value types Renode's monitor shows
for it. No CPU is emulated: a built-in "firmware" stands for the test
firmware (tests/renode-standin/firmware/): while the machine runs it
prints a banner on usart2 when it starts, echoes every byte usart2
receives, and copies the level of gpioPortA pin 0 (the user button) to
gpioPortD pin 12 (the user LED).

Its register accesses are those of tests/renode-standin/firmware/
stm32f4-echo.c (set-up writes, a status read before each byte sent, a
BitSet write when the button changes; its polling loop is not modelled),
and `sysbus LogPeripheralAccess` logs them as Renode's Read/
WriteLoggingWrapper (renode-infrastructure src/Emulator/Main/Peripherals/
Bus/Wrappers/) does: "ReadUInt32 from 0x0 (Status), returned 0xC0", the
register named from the peripheral's Register(s) enum (RegisterMapper.cs).
No CPU runs, so the lines lack Renode's "[cpu: 0xPC] " prefix
(SystemBus.DecorateWithCPUNameAndPC adds it only on a CPU's thread).

    sysbus (SystemBus)
      cpu (CortexM)                 PerformanceInMips get/set, Model get
      nvic (NVIC)
      usart2 (STM32_UART)           BaudRate get-only, the UART
      gpioPortA (STM32_GPIOPort)    OnGPIO, GetGPIOs
        UserButton (Button)         Press, Release, Pressed
      gpioPortD (STM32_GPIOPort)
        UserLED (LED)               State
      flash, sram (MappedMemory)
"""

import threading

from standin_log import LOGGER

BANNER = b"emufs-renode-fw ready\r\n"

# .NET integer types: (bits, signed)
INT_TYPES = {
    "Byte": (8, False), "SByte": (8, True),
    "UInt16": (16, False), "Int16": (16, True),
    "UInt32": (32, False), "Int32": (32, True),
    "UInt64": (64, False), "Int64": (64, True),
}


class MonitorError(Exception):
    """A RecoverableException: the monitor prints its message."""


class Enum:
    """A .NET enum type: a name and its values, in declaration order."""

    def __init__(self, name, values):
        self.name = name
        self.values = list(values)


ENDIANESS = Enum("Endianess", ["LittleEndian", "BigEndian"])
PARITY = Enum("Parity", ["None", "Odd", "Even", "Forced1", "Forced0",
                         "Multidrop"])


class Prop:
    """A property: its .NET type (a name, or an Enum) and accessors."""

    def __init__(self, name, typ, get, set_=None):
        self.name = name
        self.typ = typ
        self.get = get
        self.set = set_

    @property
    def type_name(self):
        return self.typ.name if isinstance(self.typ, Enum) else self.typ


class Method:
    """A method: return type, name, [(type, name, default?)], function."""

    def __init__(self, ret, name, params, fn):
        self.ret = ret
        self.name = name
        self.params = params
        self.fn = fn


class Peripheral:
    type_name = "Peripheral"

    def __init__(self, machine, name, notes=()):
        self.machine = machine
        self.name = name
        self.notes = list(notes)
        self.children = []
        self.parent = None
        self.props = {}
        self.methods = {}
        self.registers = {}          # offset -> name, as the Register enum
        self.access_logging = False  # LogPeripheralAccess
        self.add_method("Void", "Reset", [], lambda: self.reset())
        self.add_method("Void", "DebugLog", [("String", "message")],
                        lambda m: None)

    def add(self, child):
        self.children.append(child)
        child.parent = self
        return child

    @property
    def path(self):
        return (self.parent.path + "." if self.parent else "") + self.name

    @property
    def log_name(self):
        """LogEntry.ObjectName: the path less "sysbus."."""
        p = self.path
        return p[len("sysbus."):] if p.startswith("sysbus.") else p

    @property
    def on_bus(self):
        """Registered on sysbus at an address range: an IBusPeripheral
        whose accesses LogPeripheralAccess can wrap."""
        return self.parent is not None and any(
            n.startswith("<0x") for n in self.notes)

    def log(self, message, level="INFO"):
        LOGGER.log(self.log_name, level, message)

    def _register(self, offset):
        """RegisterMapper.ToString."""
        if offset in self.registers:
            return self.registers[offset]
        below = [o for o in self.registers if o < offset]
        if not below:
            return "unknown"
        o = max(below)
        return "%s+0x%x" % (self.registers[o], offset - o)

    def read32(self, offset, value):
        """The firmware read value from the register at offset."""
        if self.access_logging:
            self.log("ReadUInt32 from 0x%X (%s), returned 0x%X"
                     % (offset, self._register(offset), value))
        return value

    def write32(self, offset, value):
        if self.access_logging:
            self.log("WriteUInt32 to 0x%X (%s), value 0x%X"
                     % (offset, self._register(offset), value))

    def add_prop(self, name, typ, get, set_=None):
        self.props[name] = Prop(name, typ, get, set_)

    def add_method(self, ret, name, params, fn):
        self.methods.setdefault(name, []).append(
            Method(ret, name, params, fn))

    def reset(self):
        pass


class SystemBus(Peripheral):
    type_name = "SystemBus"

    def __init__(self, machine):
        super().__init__(machine, "sysbus")
        self.endianess = "LittleEndian"
        self.add_prop("Endianess", ENDIANESS, lambda: self.endianess,
                      self._set_endianess)
        self.add_prop("IsMultiCore", "Boolean", lambda: False)
        self.add_prop("UnexpectedReads", "Int32", lambda: 0)
        self.add_method("Void", "LoadELF",
                        [("ReadFilePath", "fileName"),
                         ("Boolean", "useVirtualAddress", "False"),
                         ("Boolean", "allowLoadsOnlyToMemory", "True"),
                         ("IInitableCPU", "cpu", "null")],
                        self._load_elf)
        self.add_method("Void", "LogPeripheralAccess",
                        [("IBusPeripheral", "busPeripheral"),
                         ("Boolean", "enable", "True"),
                         ("Boolean", "silent", "False")],
                        self._log_access)
        self.add_method("Void", "LogAllPeripheralsAccess",
                        [("Boolean", "enable", "True"),
                         ("Boolean", "silent", "False")],
                        self._log_all)
        self.add_method("Boolean", "IsLoggingPeripheralAccessEnabled",
                        [("IBusPeripheral", "busPeripheral")],
                        lambda path: self.bus_peripheral(path)
                        .access_logging)

    def bus_peripheral(self, path):
        p = self.machine.peripheral(path)
        if p is None or not p.on_bus:
            raise MonitorError("Could not find a bus peripheral %s" % path)
        return p

    def _log_access(self, path, enable=True, silent=False):
        """SystemBus.EnablePeripheralAccessWrappers: says so when there
        is nothing to change."""
        p = self.bus_peripheral(path)
        if p.access_logging == enable:
            if not silent:
                p.log("Logging is already %s"
                      % ("enabled" if enable else "disabled"))
            return
        p.access_logging = enable

    def _log_all(self, enable=True, silent=False):
        stack = list(self.children)
        while stack:
            p = stack.pop()
            stack.extend(p.children)
            if p.on_bus:
                self._log_access(p.path, enable, silent)

    def _set_endianess(self, v):
        self.endianess = v

    def _load_elf(self, path, *rest):
        try:
            with open(path, "rb") as f:
                magic = f.read(4)
        except OSError as e:
            raise MonitorError("Could not load ELF from path: %s: %s"
                               % (path, e.strerror))
        if magic != b"\x7fELF":
            raise MonitorError("Given file is not a valid ELF: %s" % path)
        self.machine.elf = path


class CortexM(Peripheral):
    type_name = "CortexM"

    def __init__(self, machine):
        super().__init__(machine, "cpu", ["Slot: 0"])
        self.mips = 100
        self.add_prop("PerformanceInMips", "UInt32", lambda: self.mips,
                      self._set_mips)
        self.add_prop("Model", "String", lambda: "cortex-m4f")
        self.add_prop("IsHalted", "Boolean",
                      lambda: not self.machine.running)

    def _set_mips(self, v):
        self.mips = v


class NVIC(Peripheral):
    type_name = "NVIC"

    def __init__(self, machine):
        super().__init__(machine, "nvic", ["<0xE000E000, 0xE000EFFF>"])
        self.add_prop("Frequency", "UInt64", lambda: 168000000)


class MappedMemory(Peripheral):
    type_name = "MappedMemory"

    def __init__(self, machine, name, start, size):
        super().__init__(machine, name,
                         ["<0x%08X, 0x%08X>" % (start, start + size - 1)])
        self.add_prop("Size", "Int64", lambda: size)


class UART(Peripheral):
    """STM32_UART: bytes the firmware sends go to the connected terminal;
    bytes from the terminal are the firmware's input."""
    type_name = "STM32_UART"

    def __init__(self, machine, name, start):
        super().__init__(machine, name,
                         ["<0x%08X, 0x%08X>" % (start, start + 0x3FF)])
        self.terminal = None
        # STM32_UART.cs: enum Register
        self.registers = {0x0: "Status", 0x4: "Data", 0x8: "BaudRate",
                          0xC: "Control1", 0x10: "Control2",
                          0x14: "Control3", 0x18: "GuardTimeAndPrescaler"}
        self.add_prop("BaudRate", "UInt32", lambda: 115200)
        self.add_prop("ParityBit", PARITY, lambda: "None")
        self.add_method("Void", "WriteChar", [("Byte", "value")],
                        lambda v: self.receive(bytes([v & 0xFF])))

    def send(self, data):
        """The firmware transmits: for each byte it waits for TXE in the
        status register, then writes the data register."""
        for b in data:
            self.read32(0x0, 0xC0)
            self.write32(0x4, b)
        t = self.terminal
        if t is not None:
            t.send(data)

    def receive(self, data):
        """Bytes arrive at the UART's receiver."""
        self.machine.firmware_input(self, data)


class GPIOPort(Peripheral):
    """STM32_GPIOPort: 16 pins; OnGPIO drives an input, the outputs are
    its connections (what GetGPIOs lists)."""
    type_name = "STM32_GPIOPort"

    def __init__(self, machine, name, start):
        super().__init__(machine, name,
                         ["<0x%08X, 0x%08X>" % (start, start + 0x3FF)])
        self.inputs = [False] * 16
        self.outputs = [False] * 16
        # STM32_GPIOPort.cs: enum Registers
        self.registers = {0x0: "Mode", 0x4: "OutputType", 0x8: "OutputSpeed",
                          0xC: "PullUpPullDown", 0x10: "InputData",
                          0x14: "OutputData", 0x18: "BitSet",
                          0x1C: "ConfigurationLock",
                          0x20: "AlternateFunctionLow",
                          0x24: "AlternateFunctionHigh", 0x28: "BitReset"}
        self.add_method("Void", "OnGPIO",
                        [("Int32", "number"), ("Boolean", "value")],
                        self.on_gpio)
        self.add_method("IEnumerable<Tuple<String,IGPIO>>", "GetGPIOs", [],
                        self.get_gpios)
        self.add_prop("Size", "Int64", lambda: 0x400)

    def on_gpio(self, number, value):
        if not 0 <= number < 16:
            raise MonitorError("GPIO number %d is out of range [0; 16)"
                               % number)
        self.inputs[number] = bool(value)
        self.machine.firmware_gpio(self, number)

    def set_output(self, number, value):
        self.outputs[number] = bool(value)
        for c in self.children:
            if isinstance(c, LED) and c.pin == number:
                c.state = bool(value)

    def get_gpios(self):
        return [("%d" % i, "GPIO: %s" % ("set" if v else "unset"))
                for i, v in enumerate(self.outputs)]

    def reset(self):
        self.inputs = [False] * 16
        for i in range(16):
            self.set_output(i, False)


class LED(Peripheral):
    type_name = "LED"

    def __init__(self, machine, name, port, pin):
        super().__init__(machine, name)
        self.port = port
        self.pin = pin
        self.state = False
        self.add_prop("State", "Boolean", lambda: self.state)


class Button(Peripheral):
    type_name = "Button"

    def __init__(self, machine, name, port, pin):
        super().__init__(machine, name)
        self.port = port
        self.pin = pin
        self.pressed = False
        self.add_prop("Pressed", "Boolean", lambda: self.pressed)
        self.add_method("Void", "Press", [], lambda: self.set(True))
        self.add_method("Void", "Release", [], lambda: self.set(False))
        self.add_method("Void", "Toggle", [],
                        lambda: self.set(not self.pressed))
        self.add_method("Void", "PressAndRelease", [], self._tap)

    def set(self, pressed):
        self.pressed = pressed
        self.port.on_gpio(self.pin, pressed)

    def _tap(self):
        self.set(True)
        self.set(False)


class Machine:
    """One machine: the board, its run state and the firmware."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.RLock()   # the monitor and the terminals
        self.platform = None
        self.elf = None
        self.running = False
        self.booted = False          # the firmware printed its banner
        self.led_level = None        # what the firmware last set PD12 to
        self.pending = []            # UART input while paused
        self.resets = 0
        self.gdb = None
        self.sysbus = None

    def load_platform(self, path):
        if self.sysbus is not None:
            raise MonitorError("Platform already loaded")
        bus = SystemBus(self)
        bus.add(CortexM(self))
        bus.add(NVIC(self))
        bus.add(MappedMemory(self, "flash", 0x08000000, 0x100000))
        bus.add(MappedMemory(self, "sram", 0x20000000, 0x40000))
        self.usart2 = bus.add(UART(self, "usart2", 0x40004400))
        self.porta = bus.add(GPIOPort(self, "gpioPortA", 0x40020000))
        self.portd = bus.add(GPIOPort(self, "gpioPortD", 0x40020C00))
        self.porta.add(Button(self, "UserButton", self.porta, 0))
        self.portd.add(LED(self, "UserLED", self.portd, 12))
        self.sysbus = bus
        self.platform = path

    def peripheral(self, path):
        """sysbus.gpioPortD.UserLED -> the peripheral, or None."""
        if self.sysbus is None:
            return None
        parts = path.split(".")
        if parts[0] != "sysbus":
            return None
        p = self.sysbus
        for name in parts[1:]:
            p = next((c for c in p.children if c.name == name), None)
            if p is None:
                return None
        return p

    # ---- run state ------------------------------------------------------

    def start(self):
        with self.lock:
            if self.running or self.sysbus is None:
                return
            self.running = True
            if not self.booted:
                self.firmware_boot()
            queued, self.pending = self.pending, []
            for uart, data in queued:
                self.firmware_input(uart, data)
            self.firmware_gpio(self.porta, 0)

    def pause(self):
        with self.lock:
            self.running = False

    def reset(self):
        """machine Reset: every peripheral resets, the firmware starts
        over (its banner again); a running machine keeps running.
        LogPeripheralAccess stays on: the wrappers are the bus's access
        methods, which SystemBus.Reset leaves alone."""
        with self.lock:
            if self.sysbus is None:
                return
            self.resets += 1
            stack = [self.sysbus]
            while stack:
                p = stack.pop()
                p.reset()
                stack.extend(p.children)
            self.booted = False
            self.pending = []
            if self.running:
                self.firmware_boot()
                self.firmware_gpio(self.porta, 0)

    # ---- Save and Load (the emulation's state, not its run state) ----------

    def saved_state(self):
        """What `Save` keeps of this machine: everything the guest and
        the peripherals hold (the run state is the emulation's)."""
        with self.lock:
            return {
                "platform": self.platform, "elf": self.elf,
                "booted": self.booted, "resets": self.resets,
                "pending": [data.decode("latin-1")
                            for _uart, data in self.pending],
                "porta": {"inputs": list(self.porta.inputs),
                          "outputs": list(self.porta.outputs)},
                "portd": {"inputs": list(self.portd.inputs),
                          "outputs": list(self.portd.outputs)},
                "button": self.porta.children[0].pressed,
            }

    def restore_state(self, st):
        """`Load`: the saved state, paused (Renode loads an emulation
        that does not run)."""
        with self.lock:
            self.running = False
            self.platform, self.elf = st["platform"], st["elf"]
            self.booted, self.resets = st["booted"], st["resets"]
            self.pending = [(self.usart2, d.encode("latin-1"))
                            for d in st["pending"]]
            for port, key in ((self.porta, "porta"), (self.portd, "portd")):
                port.inputs = list(st[key]["inputs"])
                for i, v in enumerate(st[key]["outputs"]):
                    port.set_output(i, v)
            self.porta.children[0].pressed = st["button"]
            self.led_level = self.portd.outputs[12]

    # ---- the firmware -----------------------------------------------------

    def firmware_boot(self):
        """main() to its loop: PD12 an output, USART2 set up, the
        banner."""
        self.booted = True
        d, u = self.portd, self.usart2
        d.write32(0x0, d.read32(0x0, 0x0) | 1 << 24)
        u.write32(0x8, 0x8B)
        u.write32(0xC, 1 << 13 | 1 << 3 | 1 << 2)
        u.send(BANNER)
        self.led_level = None        # `int led = -1`: the first pass sets it

    def firmware_input(self, uart, data):
        with self.lock:
            if not self.running:
                self.pending.append((uart, data))
                return
            for b in data:                    # RXNE, the byte, echoed
                uart.read32(0x0, 0xE0)
                uart.send(bytes([uart.read32(0x4, b)]))

    def firmware_gpio(self, port, number):
        """The loop reads the button (PA0) and, when it changed, sets or
        resets PD12 through BitSet."""
        with self.lock:
            if not (self.running and port is self.porta and number == 0):
                return
            idr = sum(1 << i for i, v in enumerate(self.porta.inputs) if v)
            button = bool(self.porta.read32(0x10, idr) & 1)
            if button != self.led_level:
                self.led_level = button
                self.portd.write32(0x18, 1 << 12 if button else 1 << 28)
            self.portd.set_output(12, button)
