# Pin interrupts, hard where the port has them. ESP32's Pin.irq() takes no hard= argument
# (MicroPython issue #4214): there every pin handler runs from the scheduler, so an air or
# e-stop stop waits for whatever Python code is running (docs/hazards.md, reaction times).

# What rearm() checks: [pin, handler, trigger, irq object, hard] per pin. The handler is the
# bound method made once by the driver, so re-arming allocates nothing. The rig's wiring empties
# it before it builds the drivers (forget()): one rig's pins at a time.
_ARMED = []


def forget():
    del _ARMED[:]


def irq(pin, handler, trigger):
    # returns True if the handler runs as a hard IRQ
    try:
        o = pin.irq(handler=handler, trigger=trigger, hard=True)
        hard = True
    except TypeError:
        o = pin.irq(handler=handler, trigger=trigger)
        hard = False
    for a in _ARMED:
        if a[0] is pin:
            _ARMED.remove(a)
            break
    if o is not None and hasattr(o, "trigger"):
        _ARMED.append([pin, handler, trigger, o, hard])
    return hard


def rearm():
    # MicroPython disables a pin's handler for good once it raised (shared/runtime/mpirq.c: its
    # trigger set to 0). Ours raise only when the C stack is spent as the edge comes (REPL code
    # nested ~20 calls deep: the emulated Pico's tach handler, then TACH), and an air or e-stop
    # handler lost that way would leave the stop to the tick's poll of the pin. The loop calls
    # this every 10 ticks; returns how many it re-armed.
    n = 0
    for a in _ARMED:
        if not a[3].trigger():
            if a[4]:
                a[3] = a[0].irq(handler=a[1], trigger=a[2], hard=True)
            else:
                a[3] = a[0].irq(handler=a[1], trigger=a[2])
            n += 1
    return n
