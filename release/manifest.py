"""What a release would upload: each file of dist/ with its size and sha256. Nothing is sent.

python -m release.manifest dist
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def manifest(dist: Path) -> list[str]:
    """One line per file to upload: name, size in bytes, sha256; the sdist and the wheel."""
    files = sorted(p for p in dist.iterdir() if p.suffix == ".whl" or p.name.endswith(".tar.gz"))
    width = max((len(path.name) for path in files), default=0)
    return [
        f"{path.name:<{width}}  {path.stat().st_size:>10,} bytes  sha256:"
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}"
        for path in files
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m release.manifest DIST_FOLDER", file=sys.stderr)
        return 2
    lines = manifest(Path(argv[0]))
    if not lines:
        print(f"error: {argv[0]} holds no sdist or wheel: run make dist", file=sys.stderr)
        return 1
    print("Would upload (not uploaded: make release-check is a dry run):")
    for line in lines:
        print(f"  {line}")
    print(f"Upload by hand after tagging: twine upload {argv[0]}/*")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
