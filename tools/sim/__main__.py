# python -m tools.sim [SCENARIO] [--out DIR] [--runtime micropython|cpython]
import sys
from tools.sim.host import main

sys.exit(main())
