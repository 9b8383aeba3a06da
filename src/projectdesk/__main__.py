"""`python -m projectdesk` opens the window."""

import sys

from projectdesk.app import main

sys.exit(main())
