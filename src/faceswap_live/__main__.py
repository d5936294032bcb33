from faceswap_live.cli import main

raise SystemExit(main())
