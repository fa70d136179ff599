"""python -m umasim.cli: the umasim command."""

import sys

from umasim.cli.main import main

sys.exit(main())
