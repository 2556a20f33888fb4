"""``python -m desktopchat`` runs the same command line as the ``desktopchat`` script."""

from desktopchat.app import main

raise SystemExit(main())
