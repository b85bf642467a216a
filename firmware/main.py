# Boot: board file, saved settings, the rig; start the tick on its timer and leave the REPL free.
import micropython
micropython.alloc_emergency_exception_buf(100)   # so an error inside an IRQ can still be reported

import board
from ecmo.rig import Rig

rig = Rig(board)
rig.start()
print("ecmo-rig on %s: rig.help() lists the commands" % board.NAME)
