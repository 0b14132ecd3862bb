"""``python -m localdev [template.yaml]``: start the embedded local stack in the foreground."""

from localdev.stack import main

raise SystemExit(main())
