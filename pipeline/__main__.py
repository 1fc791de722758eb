import sys

from pipeline.faces.cli import main

sys.exit(main())
