"""`python -m daemon` runs the command line."""

from daemon.cli.main import main

raise SystemExit(main())
