# Pin interrupts, hard where the port has them. ESP32's Pin.irq() takes no hard= argument
# (MicroPython issue #4214): there every pin handler runs from the scheduler, so an air or
# e-stop stop waits for whatever Python code is running (docs/hazards.md, reaction times).


def irq(pin, handler, trigger):
    # returns True if the handler runs as a hard IRQ
    try:
        pin.irq(handler=handler, trigger=trigger, hard=True)
        return True
    except TypeError:
        pin.irq(handler=handler, trigger=trigger)
        return False
