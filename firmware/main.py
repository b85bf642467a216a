# Boot: board file, saved settings, the rig; start the tick on its timer and leave the REPL free.
# First of all the outputs at their safe levels (ecmo/early.py), before the rig's code loads.
import board
from ecmo import early
early.safe_pins(board)
early.clock(board)     # before any PWM or I2C divider is set from it

import micropython
micropython.alloc_emergency_exception_buf(100)   # so an error inside an IRQ can still be reported

from ecmo.rig import Rig
import gc
gc.collect()    # the loader's garbage first: the rig's objects then fill its holes, and the
                # heap's free end stays in one piece (the REPL compiles and interns there)

rig = Rig(board)
rig.start()
print("ecmo-rig on %s: rig.help() lists the commands" % board.NAME)
