import sys

from pulse_core.cli import main

sys.exit(main())
