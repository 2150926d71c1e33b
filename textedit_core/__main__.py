import sys

from textedit_core.cli import main

sys.exit(main())
