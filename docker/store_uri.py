"""Container entrypoint: build BEACON_STORE_URI with the user and password percent-encoded, then run the command.

Docker Compose pastes variables into strings as they are, so a password holding `@`, `:`, `/`, `?`, `#`
or `%` would break a `mongodb://user:password@host` URI (or, worse, name another host). This script
takes BEACON_MONGO_USER, BEACON_MONGO_PASSWORD and BEACON_MONGO_LOCATION (`host:port/database?options`),
quotes the user and the password, exports BEACON_STORE_URI and replaces itself with the command.
"""

import os
import sys
from urllib.parse import quote


def main() -> None:
    """Export the encoded URI and exec the command given as arguments."""
    missing = [name for name in ("BEACON_MONGO_USER", "BEACON_MONGO_PASSWORD", "BEACON_MONGO_LOCATION")
               if not os.environ.get(name)]  # fmt: skip
    if missing or len(sys.argv) < 2:
        sys.exit(f"store_uri.py: set {', '.join(missing) or 'a command'}")
    user = quote(os.environ["BEACON_MONGO_USER"], safe="")
    password = quote(os.environ.pop("BEACON_MONGO_PASSWORD"), safe="")
    os.environ["BEACON_STORE_URI"] = f"mongodb://{user}:{password}@{os.environ['BEACON_MONGO_LOCATION']}"
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
