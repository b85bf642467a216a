import sys
from tools.console.server import main

sys.exit(main())
