from confsvc.cli import main

raise SystemExit(main())
