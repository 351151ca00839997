import sys

from workbench.migrations import main

sys.exit(main(sys.argv[1:]))
