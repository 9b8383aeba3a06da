"""The bundle's entry point: the window, as the `projectdesk` command starts it (projectdesk.app.main)."""

import sys

from projectdesk.app import main

if __name__ == "__main__":
    sys.exit(main())
