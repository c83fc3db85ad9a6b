"""Entry point of the PyInstaller bundle: the `workstation` command line, as the wheel installs it."""
import multiprocessing
import sys

from workstation.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
