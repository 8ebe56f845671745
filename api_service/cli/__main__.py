"""`python -m api_service.cli …`, the same as the `backinstock` script."""
import sys

from api_service.cli import main

sys.exit(main())
