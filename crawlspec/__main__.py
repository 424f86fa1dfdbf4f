from crawlspec.cli.entry import main

raise SystemExit(main())
