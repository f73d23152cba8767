import sys

from iga_core.cli import main

sys.exit(main())
