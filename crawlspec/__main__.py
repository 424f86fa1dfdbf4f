from crawlspec.cli import main

raise SystemExit(main())
