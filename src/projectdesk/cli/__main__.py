"""`python -m projectdesk.cli`."""

import sys

from projectdesk.cli import main

sys.exit(main())
